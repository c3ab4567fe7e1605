package server

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
)

func init() { SetStaffKDF(crypto.TestKDFParams) }

// centralCase makes a sealed case centrally, as a laptop would have sent
// it, and returns its id.
func (k *kit) centralCase(tenant, service, clerk string, sealedAt time.Time) string {
	k.t.Helper()
	c := domain.Case{ID: domain.NewID(), ServiceID: service, Status: domain.StatusSealed, CreatedBy: clerk,
		CreatedAt: sealedAt.Add(-time.Minute), SealedAt: sealedAt, SealedBy: clerk, VisitID: "v1",
		Form: domain.Fields{"surname": "Mustermann"}}
	if _, err := k.srv.Central(k.ctx, tenant, CentralChange{RecordID: c.ID, RecordType: domain.TypeCase, Op: "create",
		Set: c.Fields().NonEmpty(), Clerk: clerk}); err != nil {
		k.t.Fatal(err)
	}
	return c.ID
}

func TestOffice_Staff(t *testing.T) {
	k := startKit(t)
	pw := []byte("Rathaus-2026!")
	if err := k.srv.AddStaff(k.ctx, tenantA, "sb.meier", RoleCaseworker, pw); err != nil {
		t.Fatal(err)
	}
	if err := k.srv.AddStaff(k.ctx, tenantB, "sb.meier", RoleAdmin, pw); !errors.Is(err, ErrExists) {
		t.Fatalf("same name in another tenant: %v", err)
	}
	if err := k.srv.AddStaff(k.ctx, tenantA, "x", RoleAdmin, pw); !errors.Is(err, ErrInvalidStaff) {
		t.Fatalf("bad name: %v", err)
	}
	if err := k.srv.AddStaff(k.ctx, "nowhere", "sb.other", RoleAdmin, pw); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown tenant: %v", err)
	}
	st, ok, err := k.srv.CheckStaffPassword(k.ctx, "sb.meier", pw)
	if err != nil || !ok || st.Tenant != tenantA || st.Role != RoleCaseworker {
		t.Fatalf("check: %+v %v %v", st, ok, err)
	}
	for _, c := range []struct{ user, pw string }{{"sb.meier", "wrong-password"}, {"nobody", string(pw)}} {
		if _, ok, err := k.srv.CheckStaffPassword(k.ctx, c.user, []byte(c.pw)); ok || err != nil {
			t.Fatalf("%s: %v %v", c.user, ok, err)
		}
	}
	o := k.srv.Office()
	now := k.clock.Now()
	if err := o.AddSession(k.ctx, OfficeSession{TokenHash: "h1", Username: "sb.meier", Tenant: tenantA, CSRF: "c",
		CreatedAt: now, LastSeenAt: now, Addr: "127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	if s, err := o.SessionByHash(k.ctx, "h1"); err != nil || s.Role != RoleCaseworker {
		t.Fatalf("session: %+v %v", s, err)
	}
	if err := o.SetStaffDisabled(k.ctx, tenantB, "sb.meier", now); !errors.Is(err, ErrNotFound) {
		t.Fatalf("disable in the wrong tenant: %v", err)
	}
	if err := o.SetStaffDisabled(k.ctx, tenantA, "sb.meier", now); err != nil {
		t.Fatal(err)
	}
	if _, err := o.SessionByHash(k.ctx, "h1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("session of a disabled member: %v", err)
	}
	if _, ok, _ := k.srv.CheckStaffPassword(k.ctx, "sb.meier", pw); ok {
		t.Fatal("a disabled member signed in")
	}
	if err := o.DeleteStaff(k.ctx, tenantA, "sb.meier"); err != nil {
		t.Fatal(err)
	}
	if _, err := o.StaffByName(k.ctx, "sb.meier"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}

	// Failed sign-ins and the audit log.
	if err := o.AddLoginFailure(k.ctx, []string{"user:a", "addr:1"}, now); err != nil {
		t.Fatal(err)
	}
	if n, oldest, err := o.LoginFailures(k.ctx, "user:a", now.Add(-time.Minute)); err != nil || n != 1 || !oldest.Equal(now) {
		t.Fatalf("failures: %d %v %v", n, oldest, err)
	}
	if err := o.ClearLoginFailures(k.ctx, "user:a"); err != nil {
		t.Fatal(err)
	}
	if n, _, _ := o.LoginFailures(k.ctx, "user:a", now.Add(-time.Minute)); n != 0 {
		t.Fatalf("after clearing: %d", n)
	}
	for i := range 3 {
		if err := o.AddOfficeAudit(k.ctx, OfficeAuditEntry{Tenant: tenantA, At: now, Username: "u", Action: "case.open",
			Record: fmt.Sprint(i), Addr: "127.0.0.1"}); err != nil {
			t.Fatal(err)
		}
	}
	es, err := o.OfficeAudit(k.ctx, tenantA, 0, 2)
	if err != nil || len(es) != 2 || es[0].Record != "2" {
		t.Fatalf("audit: %+v %v", es, err)
	}
	if es, _ := o.OfficeAudit(k.ctx, tenantA, es[1].ID, 10); len(es) != 1 || es[0].Record != "0" {
		t.Fatalf("audit page 2: %+v", es)
	}
	if es, _ := o.OfficeAudit(k.ctx, tenantB, 0, 10); len(es) != 0 {
		t.Fatalf("another tenant's audit: %+v", es)
	}
}

func TestOffice_Inbox(t *testing.T) {
	k := startKit(t)
	o := k.srv.Office()
	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 5 {
		svc := "anmeldung"
		if i%2 == 1 {
			svc = "hundeanmeldung"
		}
		ids = append(ids, k.centralCase(tenantA, svc, "anna", base.Add(time.Duration(i)*time.Minute)))
	}
	k.centralCase(tenantB, "anmeldung", "anna", base)
	// A draft is not in the inbox.
	if _, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordType: domain.TypeCase, Op: "create",
		Set: domain.Fields{"status": "draft", "service_id": "anmeldung"}, Clerk: "anna"}); err != nil {
		t.Fatal(err)
	}
	rows, err := o.Inbox(k.ctx, InboxQuery{Tenant: tenantA, Limit: 2})
	if err != nil || len(rows) != 2 || rows[0].RecordID != ids[4] || rows[1].RecordID != ids[3] {
		t.Fatalf("page 1: %+v %v", rows, err)
	}
	rows, _ = o.Inbox(k.ctx, InboxQuery{Tenant: tenantA, Limit: 10, AfterArrived: rows[1].ArrivedAt, AfterRecordID: rows[1].RecordID})
	if len(rows) != 3 || rows[0].RecordID != ids[2] {
		t.Fatalf("page 2: %+v", rows)
	}
	rows, _ = o.Inbox(k.ctx, InboxQuery{Tenant: tenantA, ServiceID: "hundeanmeldung", Day: "2025-03-01", Clerk: "anna"})
	if len(rows) != 2 {
		t.Fatalf("filtered: %+v", rows)
	}

	// A decision based on what the staff member saw; the second is stale.
	rec := k.record(tenantA, ids[0])
	d := domain.Decision{Status: domain.StatusAccepted, By: "sb", At: k.clock.Now()}
	if _, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordID: ids[0], RecordType: domain.TypeCase, Op: "update",
		BaseVersion: rec.Version, IfVersion: rec.Version, Set: d.Fields(), Clerk: "sb"}); err != nil {
		t.Fatal(err)
	}
	d.Status, d.Note = domain.StatusRejected, "Unterlagen fehlen"
	if _, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordID: ids[0], RecordType: domain.TypeCase, Op: "update",
		BaseVersion: rec.Version, IfVersion: rec.Version, Set: d.Fields(), Clerk: "sb2"}); !errors.Is(err, ErrStale) {
		t.Fatalf("second decision: %v", err)
	}
	counts, err := o.InboxCounts(k.ctx, tenantA)
	if err != nil || counts["sealed"] != 4 || counts["accepted"] != 1 || counts["draft"] != 0 {
		t.Fatalf("counts: %v %v", counts, err)
	}
	if got := k.record(tenantA, ids[0]).Fields; got["status"] != "accepted" || got["decided_by"] != "sb" {
		t.Fatalf("decided case: %v", got)
	}
	chs, err := o.RecordChanges(k.ctx, tenantA, ids[0])
	if err != nil || len(chs) != 2 || chs[1].Clerk != "sb" {
		t.Fatalf("history: %+v %v", chs, err)
	}
}

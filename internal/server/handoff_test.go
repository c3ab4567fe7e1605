package server

import (
	"errors"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
)

const destA = "8f0b1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"

func TestHandoff_Routes(t *testing.T) {
	k := startKit(t)
	r, err := k.srv.SetHandoffRoute(k.ctx, tenantA, "anmeldung", "8F0B1C2D-3E4F-4A5B-8C6D-7E8F9A0B1C2D", "admin")
	if err != nil {
		t.Fatal(err)
	}
	if r.DestinationID != destA {
		t.Errorf("destination kept as %q, want the canonical form", r.DestinationID)
	}
	for _, c := range []struct{ tenant, service, dest string }{
		{tenantA, "no-such-service", destA},
		{tenantA, "anmeldung", "not-a-uuid"},
		{tenantA, "anmeldung", "{" + destA + "}"},
	} {
		if _, err := k.srv.SetHandoffRoute(k.ctx, c.tenant, c.service, c.dest, "admin"); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s/%s: %v, want ErrInvalid", c.service, c.dest, err)
		}
	}
	if _, err := k.srv.SetHandoffRoute(k.ctx, "nowhere", "anmeldung", destA, "admin"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown tenant: %v", err)
	}
	other := "11111111-2222-4333-8444-555555555555"
	if _, err := k.srv.SetHandoffRoute(k.ctx, tenantA, "anmeldung", other, "admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := k.srv.SetHandoffRoute(k.ctx, tenantB, "hundeanmeldung", destA, "admin"); err != nil {
		t.Fatal(err)
	}
	rs, err := k.srv.Handoff().HandoffRoutes(k.ctx, tenantA)
	if err != nil || len(rs) != 1 || rs[0].DestinationID != other || rs[0].Service != "anmeldung" {
		t.Fatalf("routes of A: %+v %v", rs, err)
	}
	if all, _ := k.srv.Handoff().HandoffRoutes(k.ctx, ""); len(all) != 2 {
		t.Fatalf("all routes: %+v", all)
	}
}

// TestHandoff_Scan: the scan finds sealed cases in feed order, once, and
// neither drafts nor cases decided before it looked.
func TestHandoff_Scan(t *testing.T) {
	k := startKit(t)
	h := k.srv.Handoff()
	now := k.clock.Now()
	first := k.centralCase(tenantA, "anmeldung", "anna", now)
	second := k.centralCase(tenantA, "hundeanmeldung", "anna", now.Add(-time.Hour)) // sealed earlier, arrived later
	decided := k.centralCase(tenantA, "anmeldung", "anna", now)
	d := domain.Decision{Status: domain.StatusAccepted, By: "sb.meier", At: now}
	if _, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordID: decided, RecordType: domain.TypeCase,
		Op: "update", BaseVersion: -1, Set: d.Fields(), Clerk: "sb.meier"}); err != nil {
		t.Fatal(err)
	}
	draft := domain.Case{ID: domain.NewID(), ServiceID: "anmeldung", Status: domain.StatusDraft, CreatedBy: "anna",
		CreatedAt: now}
	if _, err := k.srv.Central(k.ctx, tenantA, CentralChange{RecordID: draft.ID, RecordType: domain.TypeCase,
		Op: "create", Set: draft.Fields().NonEmpty(), Clerk: "anna"}); err != nil {
		t.Fatal(err)
	}
	k.centralCase(tenantB, "anmeldung", "bert", now) // another tenant's

	added := 0
	for {
		n, end, err := h.ScanHandoff(k.ctx, tenantA, 1, now) // one change at a time: the cursor must hold
		if err != nil {
			t.Fatal(err)
		}
		added += n
		if end {
			break
		}
	}
	if added != 2 {
		t.Fatalf("added %d cases, want 2", added)
	}
	cs, err := h.HandoffCases(k.ctx, HandoffQuery{Tenant: tenantA})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].CaseID != first || cs[1].CaseID != second {
		t.Fatalf("cases %+v, want %s then %s", cs, first, second)
	}
	if cs[0].Step != StepDue || cs[0].Service != "anmeldung" || cs[1].Service != "hundeanmeldung" {
		t.Fatalf("cases %+v", cs)
	}
	for id, want := range map[string]string{first: "sealed", decided: "accepted", draft.ID: "", domain.NewID(): ""} {
		if got, err := h.CaseStatus(k.ctx, tenantA, id); err != nil || got != want {
			t.Errorf("status of %s: %q %v, want %q", id, got, err, want)
		}
	}
	third := k.centralCase(tenantA, "anmeldung", "anna", now)
	if n, _, err := h.ScanHandoff(k.ctx, tenantA, 100, now); err != nil || n != 1 {
		t.Fatalf("second scan added %d (%v), want the new case only", n, err)
	}
	if _, err := h.HandoffCase(k.ctx, tenantA, third); err != nil {
		t.Fatal(err)
	}
	if n, end, err := h.ScanHandoff(k.ctx, tenantA, 100, now); err != nil || n != 0 || !end {
		t.Fatalf("third scan: %d %v %v", n, end, err)
	}

	// Only routed services, only steps asked for, only what is due.
	if routed, _ := h.HandoffCases(k.ctx, HandoffQuery{Tenant: tenantA, Routed: true}); len(routed) != 0 {
		t.Fatalf("routed before any route: %+v", routed)
	}
	if _, err := k.srv.SetHandoffRoute(k.ctx, tenantA, "anmeldung", destA, "admin"); err != nil {
		t.Fatal(err)
	}
	routed, _ := h.HandoffCases(k.ctx, HandoffQuery{Tenant: tenantA, Routed: true, Steps: []string{StepDue}, Due: now})
	if len(routed) != 2 || routed[0].CaseID != first || routed[1].CaseID != third {
		t.Fatalf("routed: %+v", routed)
	}
}

func TestHandoff_CaseState(t *testing.T) {
	k := startKit(t)
	h := k.srv.Handoff()
	now := k.clock.Now()
	id := k.centralCase(tenantA, "anmeldung", "anna", now)
	if _, _, err := h.ScanHandoff(k.ctx, tenantA, 100, now); err != nil {
		t.Fatal(err)
	}
	c, err := h.HandoffCase(k.ctx, tenantA, id)
	if err != nil {
		t.Fatal(err)
	}
	c.Step, c.DestinationID, c.SubmissionID, c.FitConnectCaseID = StepUploading, destA, "sub-1", "case-1"
	c.AttachmentsDone = []string{"a1", "a2"}
	c.Attempts, c.LastError, c.NextAttemptAt = 2, "503 Service Unavailable", now.Add(time.Minute)
	c.EventOffset, c.EventsRefused, c.UpdatedAt = 3, 1, now
	if err := h.UpdateHandoffCase(k.ctx, c); err != nil {
		t.Fatal(err)
	}
	got, err := h.HandoffCase(k.ctx, tenantA, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Step != StepUploading || got.SubmissionID != "sub-1" || len(got.AttachmentsDone) != 2 ||
		got.Attempts != 2 || !got.NextAttemptAt.Equal(now.Add(time.Minute)) || got.EventOffset != 3 || got.EventsRefused != 1 {
		t.Fatalf("read back %+v", got)
	}
	if due, _ := h.HandoffCases(k.ctx, HandoffQuery{Tenant: tenantA, Due: now}); len(due) != 0 {
		t.Fatalf("a case waiting for its next attempt is due: %+v", due)
	}
	if behind, _ := h.HandoffCases(k.ctx, HandoffQuery{Tenant: tenantA, StatusBehind: true}); len(behind) != 1 {
		t.Fatalf("a case whose status is not its step: %+v", behind)
	}
	got.Status, got.UpdatedAt = got.Step, now
	if err := h.UpdateHandoffCase(k.ctx, got); err != nil {
		t.Fatal(err)
	}
	if behind, _ := h.HandoffCases(k.ctx, HandoffQuery{Tenant: tenantA, StatusBehind: true}); len(behind) != 0 {
		t.Fatalf("a case whose status is its step: %+v", behind)
	}
	if _, err := h.HandoffCase(k.ctx, tenantA, domain.NewID()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown case: %v", err)
	}
	c.CaseID = domain.NewID()
	if err := h.UpdateHandoffCase(k.ctx, c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("update of an unknown case: %v", err)
	}
	counts, err := h.HandoffCounts(k.ctx, tenantA)
	if err != nil || len(counts) != 1 || counts[0] != (HandoffCount{Tenant: tenantA, Service: "anmeldung", Step: StepUploading, N: 1}) {
		t.Fatalf("counts %+v %v", counts, err)
	}
}

func TestHandoff_Lease(t *testing.T) {
	k := startKit(t)
	h := k.srv.Handoff()
	now := k.clock.Now()
	if err := h.TakeHandoffLease(k.ctx, tenantA, "w1", now, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := h.TakeHandoffLease(k.ctx, tenantA, "w2", now, now.Add(time.Minute)); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("second worker: %v", err)
	}
	if err := h.TakeHandoffLease(k.ctx, tenantA, "w1", now, now.Add(2*time.Minute)); err != nil {
		t.Fatalf("renewal: %v", err)
	}
	if err := h.TakeHandoffLease(k.ctx, tenantB, "w2", now, now.Add(time.Minute)); err != nil {
		t.Fatalf("another tenant: %v", err)
	}
	if err := h.TakeHandoffLease(k.ctx, tenantA, "w2", now.Add(3*time.Minute), now.Add(4*time.Minute)); err != nil {
		t.Fatalf("after the lease ran out: %v", err)
	}
	if err := h.ReleaseHandoffLease(k.ctx, tenantA, "w1"); err != nil { // not its lease any more
		t.Fatal(err)
	}
	if err := h.TakeHandoffLease(k.ctx, tenantA, "w1", now.Add(3*time.Minute), now.Add(4*time.Minute)); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("w1 released w2's lease: %v", err)
	}
	if err := h.ReleaseHandoffLease(k.ctx, tenantA, "w2"); err != nil {
		t.Fatal(err)
	}
	if err := h.TakeHandoffLease(k.ctx, tenantA, "w1", now.Add(3*time.Minute), now.Add(4*time.Minute)); err != nil {
		t.Fatalf("after release: %v", err)
	}
}

// A tenant copied to another database (syncd admin copy) takes its routes
// and where each case stands, submission ids included, so that no case
// is submitted again from the new database.
func TestHandoff_CopiedWithTheTenant(t *testing.T) {
	k := startKit(t)
	h := k.srv.Handoff()
	now := k.clock.Now()
	if _, err := k.srv.SetHandoffRoute(k.ctx, tenantA, "anmeldung", destA, "admin"); err != nil {
		t.Fatal(err)
	}
	id := k.centralCase(tenantA, "anmeldung", "anna", now)
	if _, _, err := h.ScanHandoff(k.ctx, tenantA, 100, now); err != nil {
		t.Fatal(err)
	}
	c, err := h.HandoffCase(k.ctx, tenantA, id)
	if err != nil {
		t.Fatal(err)
	}
	c.Step, c.SubmissionID, c.FitConnectCaseID, c.AttachmentsDone, c.UpdatedAt = StepUploading, "sub-1", "case-1", []string{"a1"}, now
	if err := h.UpdateHandoffCase(k.ctx, c); err != nil {
		t.Fatal(err)
	}
	n := k.openAt(otherDB(t, k.dir))
	if _, err := CopyTenants(k.ctx, k.srv, n.srv, tenantA, nil); err != nil {
		t.Fatal(err)
	}
	got, err := n.srv.Handoff().HandoffCase(k.ctx, tenantA, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.SubmissionID != "sub-1" || got.Step != StepUploading || len(got.AttachmentsDone) != 1 || got.FeedSeq != c.FeedSeq {
		t.Fatalf("copied %+v, want %+v", got, c)
	}
	if rs, _ := n.srv.Handoff().HandoffRoutes(k.ctx, tenantA); len(rs) != 1 || rs[0].DestinationID != destA {
		t.Fatalf("routes copied: %+v", rs)
	}
	// The scan goes on where it stood: nothing is found twice.
	if added, _, err := n.srv.Handoff().ScanHandoff(k.ctx, tenantA, 100, now); err != nil || added != 0 {
		t.Fatalf("scan after the copy added %d (%v)", added, err)
	}
}

package server

import (
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// The office's inbox follows the cases a push changes, also when one push
// page moves a case in, out and within it: the push writes only the rows
// that changed, in a few statements (applier.inbox, PutInbox).
func TestPush_InboxFollowsTheCases(t *testing.T) {
	k := startKit(t)
	o := k.srv.Office()
	a := k.enrol("a", tenantA, 2)
	sealed := domain.Fields{"service_id": "anmeldung", "status": "sealed", "created_by": "clerk-a",
		"created_at": "2025-03-01T08:00:00Z", "sealed_at": "2025-03-01T08:30:00Z", "form.surname": "Mustermann"}
	draft := domain.Fields{"service_id": "anmeldung", "status": "draft", "created_by": "clerk-a",
		"created_at": "2025-03-01T08:00:00Z", "form.surname": "Mustermann"}

	ca, ka := a.create(domain.TypeCase, sealed)
	cb, kb := a.create(domain.TypeCase, sealed)
	cc, kc := a.create(domain.TypeCase, draft)
	wantApplied(t, a.push([]syncproto.RecordKey{ka, kb, kc}, ca, cb, cc))
	wantInbox(t, k, tenantA, map[string]string{ca.RecordID: "sealed", cb.RecordID: "sealed"})

	// One page: A deleted (out), B submitted (within), C sealed (in), D
	// created as a draft and sealed (in), E created and sealed and then
	// withdrawn to a draft (out before it was ever written).
	cd, kd := a.create(domain.TypeCase, draft)
	ce, ke := a.create(domain.TypeCase, draft)
	seal := domain.Fields{"status": "sealed", "sealed_at": "2025-03-01T09:00:00Z"}
	page := []syncproto.Change{
		a.change("delete", domain.TypeCase, ca.RecordID, 1, nil, nil),
		a.change("update", domain.TypeCase, cb.RecordID, 1, domain.Fields{"status": "sealed"},
			domain.Fields{"status": "submitted"}),
		a.change("update", domain.TypeCase, cc.RecordID, 1, domain.Fields{"status": "draft"}, seal),
		cd, a.change("update", domain.TypeCase, cd.RecordID, 1, domain.Fields{"status": "draft"}, seal),
		ce, a.change("update", domain.TypeCase, ce.RecordID, 1, domain.Fields{"status": "draft"}, seal),
		a.change("update", domain.TypeCase, ce.RecordID, 2, domain.Fields{"status": "sealed"},
			domain.Fields{"status": "draft"}),
	}
	wantApplied(t, a.push([]syncproto.RecordKey{kd, ke}, page...))
	wantInbox(t, k, tenantA, map[string]string{cb.RecordID: "submitted", cc.RecordID: "sealed", cd.RecordID: "sealed"})
	if rows, err := o.Inbox(k.ctx, InboxQuery{Tenant: tenantA, Statuses: []string{"sealed"}}); err != nil ||
		len(rows) != 2 || rows[0].ArrivedAt != rows[1].ArrivedAt || rows[0].Version != 2 {
		t.Fatalf("sealed in the page: %+v %v", rows, err)
	}
}

func wantApplied(t *testing.T, res []syncproto.PushResult) {
	t.Helper()
	for i, r := range res {
		if r.Status != syncproto.StatusApplied {
			t.Fatalf("change %d: %+v", i, r)
		}
	}
}

// wantInbox checks the tenant's whole inbox: record id -> status.
func wantInbox(t *testing.T, k *kit, tenant string, want map[string]string) {
	t.Helper()
	rows, err := k.srv.Office().Inbox(k.ctx, InboxQuery{Tenant: tenant, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range rows {
		got[r.RecordID] = r.Status
	}
	if len(got) != len(want) {
		t.Fatalf("inbox %v, want %v", got, want)
	}
	for id, st := range want {
		if got[id] != st {
			t.Fatalf("inbox %v, want %v", got, want)
		}
	}
}

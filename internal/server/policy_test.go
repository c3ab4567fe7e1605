package server

import (
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Under a tenant's four-eyes policy the server refuses every seal whose
// confirmation is missing or names the sealing clerk or the witness, and
// applies one confirmed by a third clerk; another tenant's policy is its
// own. The policy goes out with every pull page.
func TestFourEyes_ServerChecksSealsAgainstTheTenantPolicy(t *testing.T) {
	k := startKit(t)
	if err := k.srv.SetFourEyes(k.ctx, tenantA, true); err != nil {
		t.Fatal(err)
	}
	if err := k.srv.SetFourEyes(k.ctx, "nirgendwo", true); err == nil {
		t.Error("policy of an unknown tenant: no error")
	}
	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantB, 3)
	witness, sealer, second := domain.NewID(), domain.NewID(), domain.NewID()
	signed := func(l *laptop) string {
		c, key := l.create(domain.TypeCase, domain.Fields{"service_id": "meldebescheinigung", "status": "signed", "signed_by": witness})
		wantStatus(t, l.push([]syncproto.RecordKey{key}, c), syncproto.StatusApplied)
		return c.RecordID
	}
	seal := func(l *laptop, id string, confirmedBy string) syncproto.PushResult {
		set := domain.Fields{"status": "sealed", "sealed_by": sealer, "sealed_at": "2025-03-01T09:00:00Z"}
		if confirmedBy != "" {
			set["confirmed_by"] = confirmedBy
		}
		return l.push(nil, l.change("update", domain.TypeCase, id, 1, domain.Fields{"status": "signed"}, set))[0]
	}
	for _, tc := range []struct {
		name, confirmedBy, why string
	}{
		{"no confirmation", "", "no second clerk"},
		{"the sealing clerk", sealer, "who sealed it"},
		{"the witness", witness, "witnessed the signature"},
		{"no clerk id", "jemand", "names no clerk"},
	} {
		id := signed(a)
		r := seal(a, id, tc.confirmedBy)
		if r.Status != syncproto.StatusRejected || !strings.HasPrefix(r.Reason, syncproto.ReasonFourEyes) || !strings.Contains(r.Reason, tc.why) {
			t.Errorf("%s: %+v", tc.name, r)
		}
		if st := k.record(tenantA, id).Fields["status"]; st != "signed" {
			t.Errorf("%s: server has the case %s", tc.name, st)
		}
	}
	id := signed(a)
	if r := seal(a, id, second); r.Status != syncproto.StatusApplied {
		t.Errorf("seal confirmed by a second clerk: %+v", r)
	}
	// Another tenant without the policy seals as before.
	id = signed(b)
	if r := seal(b, id, ""); r.Status != syncproto.StatusApplied {
		t.Errorf("tenant without four-eyes: %+v", r)
	}
	if p := a.pull(0, 0); p.end == nil || p.end.Policy == nil || !p.end.Policy.FourEyes || p.end.Policy.SetAt == "" {
		t.Errorf("a's pull ends with %+v", p.end)
	}
	if p := b.pull(0, 0); p.end == nil || p.end.Policy == nil || p.end.Policy.FourEyes {
		t.Errorf("b's pull ends with %+v", p.end)
	}
}

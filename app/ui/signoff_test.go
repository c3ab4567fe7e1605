package ui

import (
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// A seal the town hall refuses because its four-eyes policy was switched
// on while the laptop was offline: the case is signed again on the
// laptop, the conflicts screen says what to do, and the clerks confirm and
// seal it again from the day's list; the refusal is then settled.
func TestFourEyesRefusedSealConfirmedAgain(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	ss := h.session("anna")
	v, err := ss.CreateVisit(h.ctx, domain.Visit{Place: "Pflegeheim St. Anna", Day: time.Now().Format("2006-01-02")})
	if err != nil {
		t.Fatal(err)
	}
	c, err := ss.CreateCase(h.ctx, domain.Case{ServiceID: "meldebescheinigung", VisitID: v.ID,
		Form: domain.Fields{"surname": "Beispiel", "given_names": "Jonas"}})
	if err != nil {
		t.Fatal(err)
	}
	ver, err := ss.SetCaseStatus(h.ctx, c.ID, store.AnyVersion, domain.StatusSigned)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.SealCase(h.ctx, c.ID, ver); err != nil { // the laptop knows no policy yet
		t.Fatal(err)
	}
	req, err := h.k.Store.NextPush(h.ctx, 100)
	if err != nil || len(req.Changes) == 0 {
		t.Fatalf("push: %d changes, %v", len(req.Changes), err)
	}
	resp := syncproto.PushResponse{}
	for _, ch := range req.Changes {
		r := syncproto.PushResult{ID: ch.ID, Status: syncproto.StatusApplied, Seq: 1}
		if ch.Plain["status"].New == string(domain.StatusSealed) {
			r = syncproto.PushResult{ID: ch.ID, Status: syncproto.StatusRejected,
				Reason: syncproto.ReasonFourEyes + ": no second clerk confirmed the case"}
		}
		resp.Results = append(resp.Results, r)
	}
	if err := h.k.Store.AckPush(h.ctx, req, resp); err != nil {
		t.Fatal(err)
	}
	if err := h.st.SetPolicy(h.ctx, syncproto.Policy{FourEyes: true}); err != nil { // learned with the pull
		t.Fatal(err)
	}

	h.signIn("anna")
	h.waitText("Konflikte (1)")
	h.tap("Konflikte (1)")
	h.waitScreen("conflicts")
	h.waitText("Das Rathaus verlangt die Bestätigung durch eine zweite Person.")
	h.tap("Heute")
	h.waitScreen("day")
	h.waitText("Unterschrieben, nicht versiegelt")
	h.tap("Abschließen")
	h.waitScreen("signoff")
	h.waitText("Das Rathaus verlangt, dass eine zweite Person")
	var sel *widget.Select
	h.waitFor("the second clerk's list", func() bool {
		h.do(func() {
			for _, o := range h.walk() {
				if x, ok := o.(*widget.Select); ok && slices.Contains(x.Options, "Ben Keller (ben)") {
					sel = x
				}
			}
		})
		return sel != nil
	})
	h.do(func() { sel.SetSelected("Ben Keller (ben)") })
	h.typeInto(h.entries()[0], testPassword)
	h.tap("Bestätigen")
	h.waitText("Bestätigt durch die zweite Person: Ben Keller.")
	h.tap("Versiegeln und abschließen")
	h.waitScreen("day")
	got, _, err := ss.Case(h.ctx, c.ID)
	if err != nil || got.Status != domain.StatusSealed || got.ConfirmedBy == "" {
		t.Errorf("case after sealing again: %s confirmed by %q, %v", got.Status, got.ConfirmedBy, err)
	}
	if n, err := h.k.Store.RejectedCount(h.ctx); err != nil || n != 0 {
		t.Errorf("refusals waiting after sealing again: %d, %v", n, err)
	}
	h.waitFor("the header without a count", func() bool { return h.button("Konflikte") != nil })
}

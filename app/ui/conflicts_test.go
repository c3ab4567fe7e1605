package ui

import (
	"fmt"
	"testing"

	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// tapNth taps the n-th (from 0) enabled button with the text.
func (h *harness) tapNth(text string, n int) {
	h.t.Helper()
	var b *widget.Button
	h.waitFor("button "+text, func() bool {
		h.do(func() {
			i := 0
			for _, o := range h.walk() {
				if x, ok := o.(*widget.Button); ok && x.Text == text && !x.Disabled() {
					if i == n {
						b = x
					}
					i++
				}
			}
		})
		return b != nil
	})
	h.do(func() { test.Tap(b) })
}

// A citizen's name changed on the laptop while the town hall changed it
// too: after the sync the clerk sees both versions side by side, who
// changed what, which one stands for now, takes the laptop's, and the
// town hall gets that decision with the next sync.
func TestConflictShownAndResolved(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	apptID := h.bookToday("Seniorenresidenz Am Park", "meldebescheinigung", "Erika Mustermann")
	// Offline, the laptop corrects the name as the citizen spells it ...
	ss := h.session("anna")
	if _, err := ss.Update(h.ctx, apptID, store.AnyVersion, domain.Fields{"citizen_name": "Erika Müller-Mustermann"}); err != nil {
		t.Fatal(err)
	}
	// ... while the town hall corrects it from the register.
	if _, err := h.srv.Central(h.ctx, tenant, server.CentralChange{RecordID: apptID, RecordType: domain.TypeAppointment,
		Op: "update", BaseVersion: -1, Set: domain.Fields{"citizen_name": "Erika Mustermann-Gabler"}, Clerk: "admin"}); err != nil {
		t.Fatal(err)
	}
	if rep := h.sync(); rep.Conflicts != 1 {
		t.Fatalf("sync reported %d conflicts, want 1", rep.Conflicts)
	}

	h.signIn("anna")
	h.waitText("Konflikte (1)")
	h.tap("Konflikte (1)")
	h.waitScreen("conflicts")
	h.waitText("Termin – Name")
	h.shot("09-konflikte")
	h.tap("Ansehen und entscheiden")
	h.waitScreen("conflict")
	for _, want := range []string{"Erika Müller-Mustermann", "Erika Mustermann-Gabler", "Fassung von: dieser Laptop",
		"Fassung von: Rathaus", "Anna Schmidt", "gilt vorläufig", "Die spätere Änderung gilt"} {
		if !h.hasText(want) {
			t.Errorf("the conflict does not show %q: %q", want, h.texts())
		}
	}
	h.shot("10-konflikt")

	// Side A is what the town hall had, B the laptop's later-based change.
	cs, err := ss.Conflicts(h.ctx, true)
	if err != nil || len(cs) != 1 {
		t.Fatalf("conflicts %v, %v", cs, err)
	}
	laptopSide := 1
	if cs[0].A.Value == "Erika Müller-Mustermann" {
		laptopSide = 0
	}
	h.tapNth("Diese Fassung übernehmen", laptopSide)
	h.waitScreen("conflicts")
	h.waitText("Keine offenen Konflikte.")
	h.waitText("Entschieden.")
	h.waitFor("the header without conflicts", func() bool { return h.button("Konflikte") != nil })

	r, err := ss.Get(h.ctx, apptID)
	if err != nil {
		t.Fatal(err)
	}
	if r.Fields["citizen_name"] != "Erika Müller-Mustermann" {
		t.Errorf("after the decision the name is %q", r.Fields["citizen_name"])
	}
	c, err := ss.Conflict(h.ctx, cs[0].ID)
	if err != nil || c.Status != "resolved" || c.ResolvedBy == "" {
		t.Errorf("conflict after the decision: %+v, %v", c, err)
	}
	// The decision is a change like any other: the town hall gets it.
	h.sync()
	rv, err := h.srv.Record(h.ctx, tenant, apptID)
	if err != nil {
		t.Fatal(err)
	}
	if rv.Fields["citizen_name"] != "Erika Müller-Mustermann" {
		t.Errorf("town hall has %q", rv.Fields["citizen_name"])
	}
	cv, err := h.srv.Record(h.ctx, tenant, cs[0].ID)
	if err != nil || cv.Fields["status"] != "resolved" {
		t.Errorf("town hall's conflict record: %v, %v", cv.Fields, err)
	}
}

// A change the town hall refuses for good never arrives there. The clerks
// must not read "Alles übertragen" then: the bar counts it, the header
// points to it, and the conflicts screen says which record, who changed
// it when, why in words, and the reference the town hall's IT needs.
func TestRejectedChangeShown(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	apptID := h.bookToday("Dorfgemeinschaftshaus", "meldebescheinigung", "Erika Mustermann")
	ss := h.session("anna")
	if _, err := ss.Update(h.ctx, apptID, store.AnyVersion, domain.Fields{"citizen_name": "Erika Müller"}); err != nil {
		t.Fatal(err)
	}
	// The agent pushes the change and records the town hall's answer:
	// refused, in the server's words (a merge error with the record's id).
	req, err := h.k.Store.NextPush(h.ctx, 100)
	if err != nil || len(req.Changes) != 1 {
		t.Fatalf("push: %d changes, %v", len(req.Changes), err)
	}
	resp := syncproto.PushResponse{Results: []syncproto.PushResult{{ID: req.Changes[0].ID,
		Status: syncproto.StatusRejected, Reason: fmt.Errorf("%w: %s", merge.ErrDeleted, apptID).Error()}}}
	if err := h.k.Store.AckPush(h.ctx, req, resp); err != nil {
		t.Fatal(err)
	}
	stop := h.runAgent() // a live agent: the refused change is not sent again
	defer stop()

	h.signIn("anna")
	h.waitText("1 Änderung vom Rathaus abgelehnt")
	h.waitText("steht unter „Konflikte“")
	if h.hasText("Alles übertragen") {
		t.Errorf("the bar says everything arrived although a change was refused: %q", h.texts())
	}
	h.waitText("Konflikte (1)")
	h.tap("Konflikte (1)")
	h.waitScreen("conflicts")
	h.waitText("Vom Rathaus abgelehnt")
	for _, want := range []string{"Keine offenen Konflikte.", "Termin, Erika Müller – geändert",
		"Der Datensatz war im Rathaus schon gelöscht, als er hier geändert wurde.",
		"Anna Schmidt, heute", "Kennung " + req.Changes[0].ID} {
		if !h.hasText(want) {
			t.Errorf("the conflicts screen does not show %q: %q", want, h.texts())
		}
	}
	h.shot("18-abgelehnt")
	if n, _, err := h.k.Store.Pending(h.ctx); err != nil || n != 0 {
		t.Errorf("pending after the refusal: %d, %v", n, err)
	}

	// Told the IT, the clerk acknowledges it: the count goes, the entry
	// and its reason stay in the change log.
	h.tap("Zur Kenntnis genommen")
	h.waitFor("the refused change acknowledged", func() bool { return !h.hasText("Vom Rathaus abgelehnt") })
	h.waitText("Alles übertragen")
	h.waitFor("the header without a count", func() bool { return h.button("Konflikte") != nil })
	if n, err := h.k.Store.RejectedCount(h.ctx); err != nil || n != 0 {
		t.Errorf("refused changes waiting after the acknowledgement: %d, %v", n, err)
	}
	acked := ""
	err = h.k.Store.AuditEntries(h.ctx, func(e store.AuditEntry) error {
		if e.Action == "change.rejection_acknowledged" && e.RecordID == apptID {
			acked = e.ClerkID
		}
		return nil
	})
	if err != nil || acked != ss.Clerk().ID {
		t.Errorf("the audit log names %q as acknowledging the refusal (%v), want anna", acked, err)
	}
	logged := false
	err = h.k.Store.Changes(h.ctx, 0, 0, false, func(c store.Change) error {
		logged = logged || c.ID == req.Changes[0].ID
		return nil
	})
	if err != nil || !logged {
		t.Errorf("the refused change left the change log (%v)", err)
	}
}

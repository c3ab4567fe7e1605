package main

// Hardening tests (issue 11) that need the whole path: a real field store
// on a real SQLite file, a real `syncd serve` on loopback, the agent.

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/store"
	_ "modernc.org/sqlite"
)

// A write whose transaction fails after it made the session's first seal
// must not leave the session using a seal that was rolled back: the next
// write succeeds and its change reaches the server.
func TestHarden_SealOfARolledBackWriteIsNotKept(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	// The first record of the batch makes the session's seal (the laptop
	// is enrolled, so there is a server key); the second is refused, so
	// the whole transaction, seal row included, rolls back.
	_, err := a.ss.CreateBatch(k.ctx, domain.TypePerson, []domain.Fields{
		{"surname": "Mustermann"},
		{"not a field name!": "x"},
	})
	if err == nil {
		t.Fatal("a batch with a bad field name was accepted")
	}
	c, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatalf("write after the failed batch: %v", err)
	}
	if rep := a.sync(); rep.Pushed != 1 {
		t.Fatalf("sync after the failed batch: %+v", rep)
	}
	if n, _, err := a.st.Pending(k.ctx); err != nil || n != 0 {
		t.Fatalf("after sync: %d pending, %v", n, err)
	}
	if exp := k.export("musterstadt"); !strings.Contains(exp, c.ID) {
		t.Fatalf("the server has no case %s:\n%s", c.ID, exp)
	}
}

// A laptop whose record key names a seal that is not in its store (as the
// defect above left them) is not wedged: other changes still sync, the
// session seals anew, and after the next unlock the orphaned key is
// sealed again and its change reaches the server too.
func TestHarden_MissingSealIsSealedAgain(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	first, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", a.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if res, err := db.ExecContext(k.ctx, `DELETE FROM seal`); err != nil {
		t.Fatal(err)
	} else if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("deleted %d seals, want 1", n)
	}
	second, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatalf("write after the seal went missing: %v", err)
	}
	if rep := a.sync(); rep.Pushed == 0 {
		t.Fatalf("sync with an orphaned key pushed nothing: %+v", rep)
	}
	if n, err := a.ss.SealPending(k.ctx); err != nil || n != 1 {
		t.Fatalf("SealPending: %d, %v; want the orphaned key sealed again", n, err)
	}
	a.sync()
	if n, _, err := a.st.Pending(k.ctx); err != nil || n != 0 {
		t.Fatalf("after sync: %d pending, %v", n, err)
	}
	exp := k.export("musterstadt")
	for _, id := range []string{first.ID, second.ID} {
		if !strings.Contains(exp, id) {
			t.Errorf("the server has no case %s", id)
		}
	}
}

// A laptop whose clock runs a day ahead does not win every conflict, and
// does not drag the other laptops' clocks with it: the server orders its
// changes by the server's own clock and tells the laptop, whose app asks
// the clerk to check the clock.
func TestHarden_ClockFromTheFutureDoesNotWin(t *testing.T) {
	k := startKit(t)
	ahead := k.laptopClock("ahead", "musterstadt", k.url, 24*time.Hour)
	b := k.laptop("b", "musterstadt")
	c, err := b.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	b.sync()
	ahead.sync()
	if _, err := ahead.ss.UpdateCaseForm(k.ctx, c.ID, store.AnyVersion, domain.Fields{"new_street": "Am Markt 1"}); err != nil {
		t.Fatal(err)
	}
	if rep := ahead.sync(); rep.Pushed != 1 || rep.Restamped != 1 {
		t.Errorf("push of the laptop a day ahead: %+v, want 1 pushed and restamped", rep)
	}
	if st, _ := ahead.st.SyncState(k.ctx); st[store.StateClockAhead] == "" {
		t.Errorf("the laptop a day ahead was not told: %v", st)
	}
	// b, later in real time and based on the old version, edits the
	// same field: the later clock is b's.
	time.Sleep(5 * time.Millisecond)
	if _, err := b.ss.UpdateCaseForm(k.ctx, c.ID, store.AnyVersion, domain.Fields{"new_street": "Am Markt 2"}); err != nil {
		t.Fatal(err)
	}
	if rep := b.sync(); rep.Conflicts != 1 || rep.Restamped != 0 {
		t.Fatalf("b's push: %+v, want 1 conflict, nothing restamped", rep)
	}
	cs, err := b.ss.Conflicts(k.ctx, true)
	if err != nil || len(cs) != 1 {
		t.Fatalf("b's conflicts: %v, %v", cs, err)
	}
	if cs[0].Rule != "later_hlc" || cs[0].Winner != store.ResolveB || cs[0].B.Value != "Am Markt 2" {
		t.Errorf("conflict %+v: want b's later edit to stand", cs[0])
	}
	// b pulled the other laptop's change; its clock stays its own.
	v, err := b.st.Meta(k.ctx, "hlc")
	if err != nil {
		t.Fatal(err)
	}
	ts, err := hlc.Parse(v)
	if err != nil {
		t.Fatal(err)
	}
	if hlc.Ahead(ts, time.Now(), hlc.DefaultMaxLead) {
		t.Errorf("b's clock was dragged ahead to %v", ts.Time())
	}
}

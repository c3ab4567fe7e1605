package main

// Hardening tests (issue 11) that need the whole path: a real field store
// on a real SQLite file, a real `syncd serve` on loopback, the agent.

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/domain"
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

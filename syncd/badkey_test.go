package main

// A record key that does not open must not stop the tenant's sync: the
// server refuses it at push (that record's changes only), and one that is
// in the server's database all the same is left out of the pull.

import (
	"database/sql"
	"strings"
	"testing"
)

// rawExec changes a laptop's field store directly, beside the processes
// that have it open.
func rawExec(t *testing.T, path, query string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(query, args...); err != nil {
		t.Fatal(err)
	}
}

func rawBlob(t *testing.T, path, query string, args ...any) []byte {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var b []byte
	if err := db.QueryRow(query, args...).Scan(&b); err != nil {
		t.Fatal(err)
	}
	if len(b) == 0 {
		t.Fatalf("no bytes for %s", query)
	}
	return b
}

func flipLast(b []byte) []byte {
	b[len(b)-1] ^= 0x55
	return b
}

// A laptop pushes a case whose key it sealed wrongly (here: damaged in its
// field store): the server refuses that case with a reason and takes the
// other; another laptop's pull completes.
func TestSync_CorruptRecordKeyRefusedAtPush(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	good, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	c := anmeldung()
	c.Form["surname"] = "Muster"
	bad, err := a.ss.CreateCase(k.ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	const keyOf = `(SELECT key_id FROM record WHERE id = ?)`
	w := rawBlob(t, a.path, `SELECT server_wrapped FROM record_key WHERE id = `+keyOf, bad.ID)
	rawExec(t, a.path, `UPDATE record_key SET server_wrapped = ? WHERE id = `+keyOf, flipLast(w), bad.ID)

	if rep := a.sync(); rep.Pushed != 1 || rep.Rejected != 1 {
		t.Fatalf("a synced %+v, want 1 pushed and 1 rejected", rep)
	}
	if rep := b.sync(); rep.Pulled != 1 {
		t.Fatalf("b synced %+v, want 1 pulled", rep)
	}
	if got := b.surname(good.ID); got != "Mustermann" {
		t.Errorf("b reads the good case: surname %q", got)
	}
	exp := k.export("musterstadt")
	if !strings.Contains(exp, good.ID) || strings.Contains(exp, bad.ID) {
		t.Errorf("server export:\n%s", exp)
	}
	if b.export() != exp {
		t.Errorf("b differs from the server:\nserver %s\nb      %s", exp, b.export())
	}
}

// A key in the server's database that does not open (stored before the
// push checked keys, or damaged since) is left out of the page: every
// laptop's pull completes, and the other records open.
func TestSync_BadKeyInServerDatabaseLeftOutOfPull(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	first, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	c := anmeldung()
	c.Form["surname"] = "Muster"
	second, err := a.ss.CreateCase(k.ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if rep := a.sync(); rep.Pushed != 2 {
		t.Fatalf("a pushed %+v", rep)
	}
	db := k.serverSQL()
	var w []byte
	if err := db.queryRow(`SELECT wrapped FROM record_key WHERE record_id = ?`, first.ID).Scan(&w); err != nil || len(w) == 0 {
		t.Fatalf("the server's key of %s: %d bytes, %v", first.ID, len(w), err)
	}
	db.exec(t, `UPDATE record_key SET wrapped = ? WHERE record_id = ?`, flipLast(w), first.ID)

	if rep := b.sync(); rep.Pulled != 2 {
		t.Fatalf("b synced %+v, want 2 pulled", rep)
	}
	if got := b.surname(second.ID); got != "Muster" {
		t.Errorf("b reads the second case: surname %q", got)
	}
	if _, _, err := b.ss.Case(k.ctx, first.ID); err == nil {
		t.Error("b opened the case whose key the server could not send")
	}
	// The next sync starts after the page: nothing is pulled again.
	if rep := b.sync(); rep.Pulled != 0 {
		t.Errorf("b pulled %d again", rep.Pulled)
	}
	want := k.export("musterstadt")
	for _, l := range []*laptop{a, b} {
		if l.export() != want {
			t.Errorf("%s differs from the server:\nserver %s\nlaptop %s", l.path, want, l.export())
		}
	}
}

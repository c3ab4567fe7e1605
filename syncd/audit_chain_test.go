package main

// The server keeps the head of each laptop's audit chain from its pushes
// and `syncd admin devices` flags a chain that went back or forked, against
// a real `syncd serve` and real field stores.

import (
	"database/sql"
	"strings"
	"testing"
)

// deviceLine returns the line of `syncd admin devices` that names the
// laptop l.
func (k *kit) deviceLine(l *laptop, tenant string) string {
	k.t.Helper()
	id := l.enrolment().DeviceID
	for _, line := range strings.Split(k.admin("devices", "--tenant", tenant), "\n") {
		if strings.HasPrefix(line, id) {
			return line
		}
	}
	k.t.Fatalf("device %s not listed", id)
	return ""
}

func (l *laptop) raw() *sql.DB {
	l.k.t.Helper()
	db, err := sql.Open("sqlite", "file:"+l.path)
	if err != nil {
		l.k.t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	l.k.t.Cleanup(func() { db.Close() })
	return db
}

func TestAdminDevices_FlagsAuditChainThatWentBack(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	for i := 0; i < 3; i++ {
		if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
	}
	a.sync()
	if line := k.deviceLine(a, "musterstadt"); strings.Contains(line, "WENT BACK") || strings.Contains(line, "FORKED") {
		t.Fatalf("intact laptop flagged: %s", line)
	}
	// Someone with sqlite3 cuts the last three entries off the log; the
	// next case adds one.
	if _, err := a.raw().Exec(`DROP TRIGGER audit_log_no_delete;
		DELETE FROM audit_log WHERE seq > (SELECT max(seq) - 3 FROM audit_log)`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
		t.Fatal(err)
	}
	if rep := a.sync(); rep.Pushed != 1 {
		t.Fatalf("the laptop's case must still arrive: %+v", rep)
	}
	if line := k.deviceLine(a, "musterstadt"); !strings.Contains(line, "WENT BACK") {
		t.Errorf("cut chain not flagged: %s", line)
	}
}

func TestAdminDevices_FlagsForkedAuditChain(t *testing.T) {
	k := startKit(t)
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	for _, l := range []*laptop{a, b} {
		if _, err := l.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
		l.sync()
	}
	// On b, an early entry is rewritten and every hash after it
	// recomputed; then b goes on working, so its chain is longer than the
	// head the server knows, but does not extend it.
	db := b.raw()
	if _, err := db.Exec(`DROP TRIGGER audit_log_no_update; UPDATE audit_log SET clerk_id = 'someone-else' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	plainRehash(t, db, 2)
	for _, l := range []*laptop{a, b} {
		if _, err := l.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
		if rep := l.sync(); rep.Pushed != 1 {
			t.Fatalf("the laptop's case must still arrive: %+v", rep)
		}
	}
	if line := k.deviceLine(b, "musterstadt"); !strings.Contains(line, "FORKED") {
		t.Errorf("forked chain not flagged: %s", line)
	}
	if line := k.deviceLine(a, "musterstadt"); strings.Contains(line, "FORKED") || strings.Contains(line, "WENT BACK") {
		t.Errorf("intact laptop flagged: %s", line)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

func TestAuditVerify_NamesFirstBrokenEntry(t *testing.T) {
	ctx := context.Background()
	path := auditFixture(t)
	withKey := []string{"audit", "verify", "--db", path, "--clerk", "amueller"}

	var out, errOut bytes.Buffer
	if code := run(ctx, withKey, &out, &errOut); code != 0 {
		t.Fatalf("intact chain: exit %d, %s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "intact: 5 entries") {
		t.Errorf("output %q", out.String())
	}
	out.Reset()
	if code := run(ctx, []string{"audit", "verify", "--db", path}, &out, &errOut); code != 0 ||
		!strings.Contains(out.String(), "5 entries keyed by the device data key NOT checked") {
		t.Errorf("without a password: exit %d, %q", code, out.String())
	}

	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TRIGGER audit_log_no_update; UPDATE audit_log SET action = 'case.delete' WHERE seq = 4`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out.Reset()
	if code := run(ctx, withKey, &out, &errOut); code != 1 {
		t.Fatalf("tampered chain: exit %d, want 1: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "BROKEN at entry 4") {
		t.Errorf("output %q does not name entry 4", out.String())
	}
	if code := run(ctx, []string{"audit", "verify", "--db", filepath.Join(t.TempDir(), "missing.db")}, &out, &errOut); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
}

// auditFixture is a field store on disk with a clerk and four cases: five
// audit entries. It returns the path and sets BK_PASSWORD to the clerk's
// password for `--clerk`.
func auditFixture(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "field.db")
	s, err := store.Open(ctx, path, store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := s.Setup(ctx, "amueller", "Anna Müller", []byte("Feldtag-2026!"))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if _, err := ss.CreateCase(ctx, domain.Case{ServiceID: "meldebescheinigung"}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	t.Setenv("BK_PASSWORD", "Feldtag-2026!")
	return path
}

// plainRehash recomputes prev_hash and hash of every entry from seq on
// with plain SHA-256, as the chain was computed before it was keyed: what
// an attacker with the source code and sqlite3 can do.
func plainRehash(t *testing.T, db *sql.DB, from int64) {
	t.Helper()
	type row struct {
		seq                                               int64
		at, device, clerk, action, rtype, rid, prev, hash string
	}
	rows, err := db.Query(`SELECT seq, at, device_id, clerk_id, action, record_type, record_id, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	var all []row
	for rows.Next() {
		var r row
		if err := rows.Scan(&r.seq, &r.at, &r.device, &r.clerk, &r.action, &r.rtype, &r.rid, &r.prev, &r.hash); err != nil {
			t.Fatal(err)
		}
		all = append(all, r)
	}
	rows.Close()
	prev := ""
	for _, r := range all {
		if r.seq < from {
			prev = r.hash
			continue
		}
		b, _ := json.Marshal([]any{r.seq, r.at, r.device, r.clerk, r.action, r.rtype, r.rid, prev})
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])
		if _, err := db.Exec(`UPDATE audit_log SET prev_hash = ?, hash = ? WHERE seq = ?`, prev, h, r.seq); err != nil {
			t.Fatal(err)
		}
		prev = h
	}
}

// An attacker who edits an entry and recomputes every hash after it with
// plain SHA-256 is caught: the chain is keyed by the device's data key.
func TestAuditVerify_DetectsRecomputedPlainHashes(t *testing.T) {
	ctx := context.Background()
	path := auditFixture(t)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DROP TRIGGER audit_log_no_update; UPDATE audit_log SET action = 'case.view' WHERE seq = 4`); err != nil {
		t.Fatal(err)
	}
	plainRehash(t, db, 4)
	db.Close()

	var out, errOut bytes.Buffer
	code := run(ctx, []string{"audit", "verify", "--db", path, "--clerk", "amueller"}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "BROKEN at entry 4") {
		t.Fatalf("recomputed chain: exit %d, %q %q; want 1 naming entry 4", code, out.String(), errOut.String())
	}

	// Relabelling the recomputed entries as "before keying" does not help.
	db, err = sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE audit_log SET key_id = 'sha256' WHERE seq >= 4`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out.Reset()
	code = run(ctx, []string{"audit", "verify", "--db", path}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "BROKEN at entry 4") {
		t.Fatalf("relabelled chain, no key: exit %d, %q %q; want 1 naming entry 4", code, out.String(), errOut.String())
	}
}

// A tail cut from the log leaves the rest of the chain intact; the head
// the server knew (shown by `syncd admin devices`) reveals it.
func TestAuditVerify_AnchorRevealsCutTail(t *testing.T) {
	ctx := context.Background()
	path := auditFixture(t)
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	var head string
	if err := db.QueryRow(`SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&n, &head); err != nil {
		t.Fatal(err)
	}
	anchor := fmt.Sprintf("%d:%s", n, head)
	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"audit", "verify", "--db", path, "--clerk", "amueller", "--anchor", anchor}, &out, &errOut); code != 0 {
		t.Fatalf("intact chain with its anchor: exit %d, %q %q", code, out.String(), errOut.String())
	}
	if _, err := db.Exec(`DROP TRIGGER audit_log_no_delete; DELETE FROM audit_log WHERE seq > ?`, n-2); err != nil {
		t.Fatal(err)
	}
	db.Close()
	out.Reset()
	code := run(ctx, []string{"audit", "verify", "--db", path, "--clerk", "amueller", "--anchor", anchor}, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), fmt.Sprintf("BROKEN at entry %d", n-1)) {
		t.Fatalf("cut tail: exit %d, %q %q; want 1 naming entry %d", code, out.String(), errOut.String(), n-1)
	}
}

// Verifying with a clerk's password is read-only: it adds no entry.
func TestAuditVerify_WithPasswordWritesNothing(t *testing.T) {
	ctx := context.Background()
	path := auditFixture(t)
	var out, errOut bytes.Buffer
	for i := 0; i < 2; i++ {
		out.Reset()
		if code := run(ctx, []string{"audit", "verify", "--db", path, "--clerk", "amueller"}, &out, &errOut); code != 0 {
			t.Fatalf("exit %d, %q %q", code, out.String(), errOut.String())
		}
	}
	if !strings.Contains(out.String(), "intact: 5 entries") {
		t.Errorf("output %q", out.String())
	}
	t.Setenv("BK_PASSWORD", "falsch-falsch")
	if code := run(ctx, []string{"audit", "verify", "--db", path, "--clerk", "amueller"}, &out, &errOut); code != 2 {
		t.Errorf("wrong password: exit %d, want 2", code)
	}
}

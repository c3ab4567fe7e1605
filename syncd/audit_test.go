package main

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

func TestAuditVerify_NamesFirstBrokenEntry(t *testing.T) {
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

	var out, errOut bytes.Buffer
	if code := run(ctx, []string{"audit", "verify", "--db", path}, &out, &errOut); code != 0 {
		t.Fatalf("intact chain: exit %d, %s%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "intact: 5 entries") {
		t.Errorf("output %q", out.String())
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
	if code := run(ctx, []string{"audit", "verify", "--db", path}, &out, &errOut); code != 1 {
		t.Fatalf("tampered chain: exit %d, want 1: %s", code, out.String())
	}
	if !strings.Contains(out.String(), "BROKEN at entry 4") {
		t.Errorf("output %q does not name entry 4", out.String())
	}
	if code := run(ctx, []string{"audit", "verify", "--db", filepath.Join(t.TempDir(), "missing.db")}, &out, &errOut); code != 2 {
		t.Errorf("missing file: exit %d, want 2", code)
	}
}

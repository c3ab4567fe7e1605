package sqlitedsn_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/buergerkoffer/kit/internal/sqlitedsn"
)

// The pragmas reach every connection of a pool, readers refuse writes,
// and extra pragmas apply.
func TestDSN_PragmasOnEveryConnection(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "x.db")
	w, err := sql.Open("sqlite", sqlitedsn.DSN(path, false, "_pragma=cache_size(-1234)"))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if _, err := w.ExecContext(ctx, `CREATE TABLE t(x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	r, err := sql.Open("sqlite", sqlitedsn.DSN(path, true))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	r.SetMaxOpenConns(3)
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		if conns[i], err = r.Conn(ctx); err != nil {
			t.Fatal(err)
		}
		defer conns[i].Close()
		var mode string
		var fk, timeout int
		if err := conns[i].QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := conns[i].QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := conns[i].QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&timeout); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || fk != 1 || timeout != int(sqlitedsn.BusyTimeout.Milliseconds()) {
			t.Errorf("reader %d: journal_mode %s, foreign_keys %d, busy_timeout %d", i, mode, fk, timeout)
		}
	}
	if _, err := conns[0].ExecContext(ctx, `INSERT INTO t VALUES (1)`); err == nil || !strings.Contains(err.Error(), "readonly") {
		t.Errorf("a read-only connection wrote (err %v)", err)
	}
	var cache int
	if err := w.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&cache); err != nil || cache != -1234 {
		t.Errorf("writer cache_size %d (%v), want the extra pragma's -1234", cache, err)
	}
}

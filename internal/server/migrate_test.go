package server

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/buergerkoffer/kit/internal/sqlmigrate"
)

// A database written by a newer server is refused, and left as it was.
func TestOpen_RefusesNewerDatabase(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "central.db")
	steps, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, len(steps)+1)); err != nil {
		t.Fatal(err)
	}
	srv, err := Open(ctx, Config{DBPath: path})
	if err == nil {
		srv.Close()
	}
	if !errors.Is(err, sqlmigrate.ErrTooNew) {
		t.Fatalf("Open = %v, want ErrTooNew", err)
	}
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil || v != len(steps)+1 {
		t.Errorf("version = %d (%v), want %d untouched", v, err, len(steps)+1)
	}
}

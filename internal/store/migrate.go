package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are the schema steps in order; migration i (from 0) brings the
// database from user_version i to i+1. They are never edited once released:
// a change of schema is a new file.
var migrations = mustLoadMigrations(migrationFS)

func mustLoadMigrations(fsys fs.FS) []string {
	names, err := fs.Glob(fsys, "migrations/*.sql")
	if err != nil || len(names) == 0 {
		panic(fmt.Sprintf("store: embedded migrations missing: %v", err)) // a build defect, not a runtime condition
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			panic(fmt.Sprintf("store: read %s: %v", n, err))
		}
		out[i] = string(b)
	}
	return out
}

// SchemaVersion is the schema version this program writes.
func SchemaVersion() int { return len(migrations) }

// migrate brings db to version target using steps, in one immediate
// transaction per step, so that a second process opening the same file
// waits and then finds the work done.
func migrate(ctx context.Context, db *sql.DB, steps []string, target int) error {
	for {
		done, err := migrateStep(ctx, db, steps, target)
		if err != nil || done {
			return err
		}
	}
}

func migrateStep(ctx context.Context, db *sql.DB, steps []string, target int) (done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var v int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return false, fmt.Errorf("migrate: read version: %w", err)
	}
	if v > len(steps) {
		return false, fmt.Errorf("%w: schema version %d, this program knows up to %d", ErrTooNew, v, len(steps))
	}
	if v >= target {
		return true, tx.Commit()
	}
	if _, err := tx.ExecContext(ctx, steps[v]); err != nil {
		return false, fmt.Errorf("migrate: step %d: %w", v+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
		return false, fmt.Errorf("migrate: set version %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate: commit step %d: %w", v+1, err)
	}
	return false, nil
}

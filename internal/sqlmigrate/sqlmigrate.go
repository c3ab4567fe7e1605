// Package sqlmigrate owns how the kit's SQLite files change schema: the
// field store's and the central server's. It loads a program's schema steps
// from its embedded files (Load: numbered .sql files, in order) and brings a
// database up to a version with them (Up), keeping the version in SQLite's
// PRAGMA user_version.
//
// Load is not tied to SQLite; a future PostgreSQL store, which will need
// its own runner (an advisory lock instead of SQLite's write lock, a
// version table instead of user_version), can load its steps with it.
package sqlmigrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"time"
)

// ErrTooNew: the database was written by a newer program, one that knows
// more schema steps than this one. Test with errors.Is.
var ErrTooNew = errors.New("database is newer than this program")

// Step is one schema change. Step i (from 0) of a program's steps brings
// a database from version i to i+1. A released step is never edited: a
// change of schema is a new file.
type Step struct {
	Name string // the file it came from, for errors
	SQL  string
}

// Load reads the steps matching pattern (such as "migrations/*.sql") from
// fsys, ordered by name. Each name must begin with its position, counted
// from 1 in four digits ("0001_init.sql", "0002_...."), so that a gap or
// two files of one number (two branches that each added one) is an error
// here rather than a silently renumbered schema.
func Load(fsys fs.FS, pattern string) ([]Step, error) {
	names, err := fs.Glob(fsys, pattern)
	if err != nil {
		return nil, fmt.Errorf("sqlmigrate: load %s: %w", pattern, err)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("sqlmigrate: load %s: no files", pattern)
	}
	sort.Strings(names)
	steps := make([]Step, len(names))
	for i, n := range names {
		base := path.Base(n)
		if want := fmt.Sprintf("%04d_", i+1); len(base) < len(want) || base[:len(want)] != want {
			return nil, fmt.Errorf("sqlmigrate: load %s: step %d is %s, want a name beginning %q", pattern, i+1, base, want)
		}
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("sqlmigrate: load %s: %w", n, err)
		}
		steps[i] = Step{Name: base, SQL: string(b)}
	}
	return steps, nil
}

// Up brings the SQLite database db to version target with steps, one
// transaction per step, and refuses (ErrTooNew) a database whose version
// is beyond len(steps). A database at or past target (but not too new) is
// left as it is.
//
// db must begin its transactions IMMEDIATE (sqlitedsn.DSN's writer does):
// each step then reads the version under the write lock, so a second
// process opening the same file waits for the first one's step and finds
// it done, instead of applying it twice or failing to upgrade its lock.
func Up(ctx context.Context, db *sql.DB, steps []Step, target int) error {
	if target < 0 || target > len(steps) {
		return fmt.Errorf("migrate: target version %d outside 0..%d", target, len(steps))
	}
	for {
		done, err := up(ctx, db, steps, target)
		if err != nil || done {
			return err
		}
	}
}

// beginWait bounds how long begin retries a busy fresh file.
const beginWait = 10 * time.Second

// begin begins the step's transaction. Several processes that open a
// fresh file at once race to switch it to WAL when their first connection
// opens, and SQLite answers the loser SQLITE_BUSY at once, without its
// busy handler; so a busy begin is tried again, for up to beginWait.
func begin(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	deadline := time.Now().Add(beginWait)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		tx, err := db.BeginTx(ctx, nil)
		var coded interface{ Code() int }
		if err == nil || !errors.As(err, &coded) || coded.Code()&0xff != sqliteBusy || time.Now().After(deadline) {
			return tx, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// sqliteBusy is SQLITE_BUSY, the primary result code (extended codes
// carry it in their low byte).
const sqliteBusy = 5

// up applies the one step that the database's version calls for, if any,
// and reports whether the database is at target.
func up(ctx context.Context, db *sql.DB, steps []Step, target int) (done bool, err error) {
	tx, err := begin(ctx, db)
	if err != nil {
		return false, fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback() // after Commit, a no-op
	var v int
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return false, fmt.Errorf("migrate: read version: %w", err)
	}
	switch {
	case v > len(steps):
		return false, fmt.Errorf("migrate: %w: schema version %d, this program knows up to %d", ErrTooNew, v, len(steps))
	case v < 0:
		return false, fmt.Errorf("migrate: schema version %d is not a version", v)
	case v >= target:
		return true, nil
	}
	if _, err := tx.ExecContext(ctx, steps[v].SQL); err != nil {
		return false, fmt.Errorf("migrate: step %d (%s): %w", v+1, steps[v].Name, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
		return false, fmt.Errorf("migrate: set version %d: %w", v+1, err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("migrate: commit step %d: %w", v+1, err)
	}
	return false, nil
}

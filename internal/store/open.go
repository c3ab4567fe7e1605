package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/sqlitedsn"
	"github.com/buergerkoffer/kit/internal/sqlmigrate"

	"modernc.org/sqlite" // also registers the "sqlite" driver
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is an open field store. It is safe for concurrent use.
type Store struct {
	path     string
	w        *sql.DB // one connection: SQLite has one writer; we queue here, not on the file lock
	r        *sql.DB // a pool of read-only connections
	deviceID string
	now      func() time.Time
	kdf      func() crypto.KDFParams

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // prepared on w, see stmt.go
	wanted map[string]bool      // seen in a transaction, not yet prepared on w

	hookMu sync.Mutex
	hooks  map[*sql.Tx][]func(committed bool) // run when a writeTx ends, see onTxEnd
}

// Option configures Open.
type Option func(*Store)

// WithClock replaces the wall clock (tests use it to make the clock jump).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// dsn is the connection string of the field store: the kit's common
// SQLite settings (sqlitedsn), nothing of its own.
func dsn(path string, readOnly bool) string { return sqlitedsn.DSN(path, readOnly) }

// DefaultPath is where the app and `syncd agent` keep the field store
// when not told otherwise, so that both find the same file:
//   - Windows: %ProgramData%\Buergerkoffer\field.db, the machine's data
//     folder, which the MSI makes and the agent's service guards with an
//     ACL (Administrators, SYSTEM, the clerks' group);
//   - Linux with the Debian package installed (the folder
//     /var/lib/buergerkoffer exists): /var/lib/buergerkoffer/field.db;
//   - otherwise (a developer's machine) the user's configuration folder,
//     ~/.config/Buergerkoffer/field.db.
func DefaultPath() string {
	if dir := machineDir(); dir != "" {
		return filepath.Join(dir, "field.db")
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "field.db"
	}
	return filepath.Join(dir, "Buergerkoffer", "field.db")
}

// Open opens (creating if need be) the store at path and brings its schema
// up to date. It refuses a database written by a newer program (ErrTooNew).
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: open %q: path must be non-empty and contain no ? or #", path)
	}
	s := &Store{path: path, now: time.Now, stmts: map[string]*sql.Stmt{}, wanted: map[string]bool{}}
	for _, o := range opts {
		o(s)
	}
	var err error
	if s.w, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.w.SetMaxOpenConns(1)
	s.w.SetConnMaxIdleTime(0)
	if err := sqlmigrate.Up(ctx, s.w, migrations, len(migrations)); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if s.r, err = sql.Open("sqlite", dsn(path, true)); err != nil {
		s.w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s.r.SetMaxOpenConns(4)
	if s.deviceID, err = s.ensureDeviceID(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

// Close closes the store.
func (s *Store) Close() error {
	var errs []error
	s.stmtMu.Lock()
	for q, st := range s.stmts {
		errs = append(errs, st.Close())
		delete(s.stmts, q)
	}
	s.stmtMu.Unlock()
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		errs = append(errs, s.w.Close())
	}
	return errors.Join(errs...)
}

// Path returns the database file's path.
func (s *Store) Path() string { return s.path }

// DeviceID returns this laptop's id, made when its store was first opened.
func (s *Store) DeviceID() string { return s.deviceID }

func (s *Store) ensureDeviceID(ctx context.Context) (string, error) {
	var id string
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO meta(key, value) VALUES ('device_id', ?) ON CONFLICT(key) DO NOTHING`,
			domain.NewID()); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'device_id'`).Scan(&id)
	})
	if err != nil {
		return "", fmt.Errorf("device id: %w", err)
	}
	return id, nil
}

// writeTx runs fn in a write transaction (BEGIN IMMEDIATE) and commits it if
// fn returns nil; otherwise nothing fn did remains.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return diskFull(fmt.Errorf("begin: %w", err))
	}
	if err := fn(tx); err != nil {
		rerr := tx.Rollback()
		s.endTx(tx, false)
		if rerr != nil {
			return diskFull(errors.Join(err, fmt.Errorf("rollback: %w", rerr)))
		}
		return diskFull(err)
	}
	if err := tx.Commit(); err != nil {
		s.endTx(tx, false)
		return diskFull(fmt.Errorf("commit: %w", err))
	}
	s.endTx(tx, true)
	s.prepareWanted(ctx)
	return nil
}

// onTxEnd has fn called once tx, a writeTx transaction, has committed
// (committed true) or rolled back. State kept outside the database that
// describes rows tx wrote (a session's seal) is kept only on commit.
func (s *Store) onTxEnd(tx *sql.Tx, fn func(committed bool)) {
	s.hookMu.Lock()
	defer s.hookMu.Unlock()
	if s.hooks == nil {
		s.hooks = map[*sql.Tx][]func(bool){}
	}
	s.hooks[tx] = append(s.hooks[tx], fn)
}

func (s *Store) endTx(tx *sql.Tx, committed bool) {
	s.hookMu.Lock()
	fns := s.hooks[tx]
	delete(s.hooks, tx)
	s.hookMu.Unlock()
	for _, fn := range fns {
		fn(committed)
	}
}

// diskFull marks SQLite's "database or disk is full" (SQLITE_FULL) with
// ErrDiskFull, so the app can say so in words a clerk understands.
func diskFull(err error) error {
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}

// Meta returns a value of the meta table, "" if absent.
func (s *Store) Meta(ctx context.Context, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("store: meta %s: %w", key, err)
	}
	return v, nil
}

// SetMeta writes a value of the meta table.
func (s *Store) SetMeta(ctx context.Context, key, value string) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value`, key, value)
		if err != nil {
			return fmt.Errorf("store: set meta %s: %w", key, err)
		}
		return nil
	})
}

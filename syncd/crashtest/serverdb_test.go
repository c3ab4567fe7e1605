//go:build unix

package crashtest

// The server's database: an SQLite file by default, and with
// BK_TEST_SERVER_DB=postgres a fresh database of a throwaway PostgreSQL 15
// (package pgtest; TestMain stops it), which every `syncd serve`, `syncd
// admin` and `syncd export` process of a test gets as --db with its
// --master-key. SIGKILL hits the syncd processes only: PostgreSQL stays
// up, as it would beside a server machine that fails.

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for the checks

	"github.com/buergerkoffer/kit/internal/pgtest"
)

// onPostgres reports whether the tests run the server on PostgreSQL.
func onPostgres() bool { return os.Getenv("BK_TEST_SERVER_DB") == "postgres" }

// newServerDB returns the server database of a test and its master key
// file: central.db in dir with the key named beside it, or a new
// PostgreSQL database's URL with the key in dir.
func newServerDB(t *testing.T, dir string) (db, key string) {
	t.Helper()
	if onPostgres() {
		return pgtest.DB(t), filepath.Join(dir, "master.key")
	}
	db = filepath.Join(dir, "central.db")
	return db, db + ".key"
}

// dbArgs names the server database to syncd.
func (c *cluster) dbArgs() []string { return []string{"--db", c.srvDB, "--master-key", c.srvKey} }

// querier is what the checks read with: a field store's *sql.DB or the
// server's serverSQL.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// serverSQL is the server database on a connection pool of its own, apart
// from the server's. Statements are written for SQLite (? placeholders,
// 0 and 1 as booleans nowhere) and rebound for PostgreSQL.
type serverSQL struct {
	db *sql.DB
	pg bool
}

func (c *cluster) openServerSQL() (*serverSQL, error) {
	if !onPostgres() {
		db, err := openSQL(c.srvDB)
		return &serverSQL{db: db}, err
	}
	db, err := sql.Open("pgx", c.srvDB)
	return &serverSQL{db: db, pg: true}, err
}

// mustServerSQL opens the server database or fails the test.
func (c *cluster) mustServerSQL() *serverSQL {
	c.t.Helper()
	s, err := c.openServerSQL()
	if err != nil {
		c.t.Fatal(err)
	}
	return s
}

func (s *serverSQL) q(query string) string {
	if s.pg {
		return pgtest.Rebind(query)
	}
	return query
}

func (s *serverSQL) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, s.q(query), args...)
}

func (s *serverSQL) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.q(query), args...)
}

func (s *serverSQL) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.q(query), args...)
}

func (s *serverSQL) Close() error { return s.db.Close() }

// serverIntegrity checks the server database's file as the laptops' are
// checked. On PostgreSQL, which SIGKILL of syncd does not touch, there is
// no file of ours to check; what a killed server may have left half done
// there is its feed: the tenant's positions must run 1, 2, … without a
// gap up to the head its counter row (feed_head) holds.
func (c *cluster) serverIntegrity() error {
	if !onPostgres() {
		return integrity(c.ctx, c.srvDB)
	}
	db, err := c.openServerSQL()
	if err != nil {
		return err
	}
	defer db.Close()
	var last, n, head int64
	err = db.QueryRowContext(c.ctx, `SELECT coalesce(max(seq), 0), count(*),
		coalesce((SELECT seq FROM feed_head WHERE tenant = ?), 0) FROM change WHERE tenant = ?`, tenant, tenant).Scan(&last, &n, &head)
	if err != nil {
		return fmt.Errorf("feed: %w", err)
	}
	if last != n || head != last {
		return fmt.Errorf("feed: %d changes up to seq %d, feed_head at %d: want positions 1..head without a gap", n, last, head)
	}
	return nil
}

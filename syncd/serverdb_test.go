package main

// The server database of the end-to-end tests: an SQLite file by default,
// and with BK_TEST_SERVER_DB=postgres a fresh database of a throwaway
// PostgreSQL 15 (package pgtest, started by the first test that asks for
// one and stopped when the tests end; see pgdb_unix_test.go), as
// internal/server's tests do. `make test` runs this package both ways.
// Everything the tests do to the server database goes through `syncd
// serve`, `syncd admin` and `syncd export` with --db and --master-key
// (dbArgs), through server.Open (openServer), or, for what an operator
// or a damaged disk does beside the server, through serverSQL.

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver for serverSQL

	"github.com/buergerkoffer/kit/internal/pgtest"
	"github.com/buergerkoffer/kit/internal/server"
)

// onPostgres reports whether the tests run the server on PostgreSQL.
func onPostgres() bool { return os.Getenv("BK_TEST_SERVER_DB") == "postgres" }

// newServerDB returns a new server database for a test and its master key
// file: central.db in dir with the key named beside it, or on PostgreSQL
// a fresh database's URL with the key in dir.
func newServerDB(tb testing.TB, dir string) (db, key string) {
	tb.Helper()
	if onPostgres() {
		return newPGDB(tb), filepath.Join(dir, "master.key")
	}
	db = filepath.Join(dir, "central.db")
	return db, db + ".key"
}

// sqliteOnly skips a test that is about SQLite files when the server runs
// on PostgreSQL.
func sqliteOnly(tb testing.TB, why string) {
	tb.Helper()
	if onPostgres() {
		tb.Skip("SQLite only: " + why)
	}
}

// dbArgs are the flags that name the kit's server database to `syncd
// serve`, `syncd admin` and `syncd export`.
func (k *kit) dbArgs() []string { return []string{"--db", k.srvDB, "--master-key", k.srvKey} }

// openServer opens the kit's server database as the town hall's own
// tools do, beside the running `syncd serve`.
func (k *kit) openServer() *server.Server {
	k.t.Helper()
	srv, err := server.Open(k.ctx, server.Config{DBPath: k.srvDB, MasterKeyFile: k.srvKey})
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(func() { srv.Close() })
	return srv
}

// serverSQL is the server database on a connection pool of its own, for
// checks and for changes made beside the server. Statements are written
// for SQLite (? placeholders) and rebound for PostgreSQL.
type serverSQL struct {
	db *sql.DB
	pg bool
}

func (k *kit) serverSQL() *serverSQL {
	k.t.Helper()
	s := &serverSQL{pg: server.IsPostgresURL(k.srvDB)}
	var err error
	if s.pg {
		s.db, err = sql.Open("pgx", k.srvDB)
	} else {
		s.db, err = sql.Open("sqlite", "file:"+k.srvDB+"?_pragma=busy_timeout(5000)")
	}
	if err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(func() { s.db.Close() })
	return s
}

func (s *serverSQL) q(query string) string {
	if s.pg {
		return pgtest.Rebind(query)
	}
	return query
}

func (s *serverSQL) exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := s.db.Exec(s.q(query), args...); err != nil {
		t.Fatal(err)
	}
}

func (s *serverSQL) queryRow(query string, args ...any) *sql.Row {
	return s.db.QueryRow(s.q(query), args...)
}

func (s *serverSQL) query(query string, args ...any) (*sql.Rows, error) {
	return s.db.Query(s.q(query), args...)
}

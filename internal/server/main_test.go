package server

// The tests of this package run on SQLite by default and on PostgreSQL
// with BK_TEST_SERVER_DB=postgres: each test then gets a database of its
// own in a throwaway PostgreSQL cluster (package pgtest), started by the
// first test that asks for one and stopped when the tests end. pgtest runs
// on Unix only (pgdb_unix_test.go); elsewhere the PostgreSQL runs skip.

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// onPostgres reports whether the tests run on PostgreSQL.
func onPostgres() bool { return os.Getenv("BK_TEST_SERVER_DB") == "postgres" }

// testDB returns a new database for a test: a file in dir, or on
// PostgreSQL a fresh database's URL.
func testDB(tb testing.TB, dir string) string {
	tb.Helper()
	if onPostgres() {
		return newPGDB(tb)
	}
	return filepath.Join(dir, "central.db")
}

// sqliteOnly skips a test that is about SQLite files when the tests run
// on PostgreSQL.
func sqliteOnly(tb testing.TB, why string) {
	tb.Helper()
	if onPostgres() {
		tb.Skip("SQLite only: " + why)
	}
}

// rawExec runs a statement on the server's database directly, beside the
// running server, as an operator's tool or a damaged disk would change
// it. The statement is written for SQLite (? placeholders); on PostgreSQL
// they become $1, $2, ….
func (k *kit) rawExec(query string, args ...any) {
	k.t.Helper()
	if !IsPostgresURL(k.db) {
		db, err := sql.Open("sqlite", dsn(k.db, false))
		if err != nil {
			k.t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(k.ctx, query, args...); err != nil {
			k.t.Fatal(err)
		}
		return
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	conn, err := pgx.Connect(k.ctx, k.db)
	if err != nil {
		k.t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(k.ctx, b.String(), args...); err != nil {
		k.t.Fatal(err)
	}
}

package store

import (
	"context"
	"database/sql"

	"github.com/buergerkoffer/kit/internal/sqlmigrate"
)

// MigrateTo brings the database at path to schema version n only (tests
// build "old" databases with it).
func MigrateTo(ctx context.Context, path string, n int) error {
	db, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	return sqlmigrate.Up(ctx, db, migrations, n)
}

// RawDSN is the connection string tests use to act like someone with
// sqlite3 on the file.
func RawDSN(path string) string { return dsn(path, false) }

// HashEntry exposes the chain hash so a test can forge an entry as well as
// an attacker with the source code could.
func HashEntry(e AuditEntry) string { return hashEntry(e) }

// SetCompactEntries sets how many pulled entries a Compact call looks at,
// until the returned function restores it.
func SetCompactEntries(n int) func() {
	old := compactEntries
	compactEntries = n
	return func() { compactEntries = old }
}

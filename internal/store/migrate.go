package store

// The field store's schema steps, embedded; internal/sqlmigrate applies
// them (the server's are applied the same way).

import (
	"embed"
	"fmt"

	"github.com/buergerkoffer/kit/internal/sqlmigrate"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations are the schema steps in order; migration i (from 0) brings the
// database from user_version i to i+1. They are never edited once released:
// a change of schema is a new file.
var migrations = mustLoadMigrations()

func mustLoadMigrations() []sqlmigrate.Step {
	steps, err := sqlmigrate.Load(migrationFS, "migrations/*.sql")
	if err != nil {
		panic(fmt.Sprintf("store: embedded migrations: %v", err)) // a build defect, not a runtime condition
	}
	return steps
}

// SchemaVersion is the schema version this program writes.
func SchemaVersion() int { return len(migrations) }

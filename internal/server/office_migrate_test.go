package server

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/buergerkoffer/kit/internal/sqlmigrate"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The office migration fills the inbox with the cases a database holds
// already: sealed and later ones, not drafts.
func TestOfficeMigration_FillsInboxFromExistingCases(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := testDB(t, dir)
	sealed := &merge.Record{ID: "01900000-0000-7000-8000-000000000001", Type: "case", Version: 4, Fields: map[string]merge.Field{
		"status": {Value: "sealed"}, "service_id": {Value: "anmeldung"}, "visit_id": {Value: "v1"},
		"created_by": {Value: "anna"}, "created_at": {Value: "2026-03-01T09:00:00Z"}, "sealed_at": {Value: "2026-03-01T09:10:00Z"},
		"form.surname": {Personal: true}}}
	draft := &merge.Record{ID: "01900000-0000-7000-8000-000000000002", Type: "case", Version: 1, Fields: map[string]merge.Field{
		"status": {Value: "draft"}}}
	rows := [][]any{
		{"t", sealed.ID, "case", sealed.Version, "sealed", string(appendRecord(nil, sealed))},
		{"t", draft.ID, "case", draft.Version, "draft", string(appendRecord(nil, draft))},
	}
	const tenantRow = `INSERT INTO tenant(id, name, created_at) VALUES ('t', 'T', '2026-01-01T00:00:00.000000000Z')`
	if IsPostgresURL(db) {
		steps, err := loadPGMigrations()
		if err != nil {
			t.Fatal(err)
		}
		pool, err := pgxpool.New(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		if err := migratePG(ctx, pool, steps[:1]); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, tenantRow); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if _, err := pool.Exec(ctx, `INSERT INTO record(tenant, id, type, version, deleted, status, state) VALUES ($1, $2, $3, $4, false, $5, $6)`,
				r...); err != nil {
				t.Fatal(err)
			}
		}
		pool.Close()
	} else {
		steps, err := loadMigrations()
		if err != nil {
			t.Fatal(err)
		}
		sdb, err := sql.Open("sqlite", dsn(db, false))
		if err != nil {
			t.Fatal(err)
		}
		if err := sqlmigrate.Up(ctx, sdb, steps, 3); err != nil {
			t.Fatal(err)
		}
		if _, err := sdb.ExecContext(ctx, tenantRow); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			if _, err := sdb.ExecContext(ctx, `INSERT INTO record(tenant, id, type, version, deleted, status, state) VALUES (?, ?, ?, ?, 0, ?, ?)`,
				r...); err != nil {
				t.Fatal(err)
			}
		}
		sdb.Close()
	}
	srv, err := Open(ctx, Config{DBPath: db, MasterKeyFile: filepath.Join(dir, "master.key"), Now: func() time.Time { return time.Now() }})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	got, err := srv.Office().Inbox(ctx, InboxQuery{Tenant: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RecordID != sealed.ID || got[0].Status != "sealed" || got[0].ServiceID != "anmeldung" ||
		got[0].Day != "2026-03-01" || got[0].Clerk != "anna" || got[0].VisitID != "v1" || got[0].Version != 4 {
		t.Fatalf("inbox after the migration: %+v", got)
	}
}

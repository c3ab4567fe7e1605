package server

// This file brings a PostgreSQL database's schema up to date: the steps
// in migrations_pg/, embedded, applied in order, each in its own
// transaction with its version. Several servers may start at once on one
// database; a session advisory lock, held on one dedicated connection
// while the runner works, makes the second wait and then find the steps
// done. A database newer than this program is refused.

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations_pg/*.sql
var pgMigrationFS embed.FS

// pgMigrateLock is the key of the advisory lock of the migration runner
// ("bk-migr" in ASCII); tenant locks hash into the same key space, and a
// collision would only make one wait for the other.
const pgMigrateLock int64 = 0x626b2d6d696772

func loadPGMigrations() ([]string, error) {
	names, err := fs.Glob(pgMigrationFS, "migrations_pg/*.sql")
	if err != nil || len(names) == 0 {
		return nil, fmt.Errorf("embedded PostgreSQL migrations missing: %v", err)
	}
	sort.Strings(names)
	out := make([]string, len(names))
	for i, n := range names {
		b, err := fs.ReadFile(pgMigrationFS, n)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", n, err)
		}
		out[i] = string(b)
	}
	return out, nil
}

// migratePG applies the missing steps under the migration lock.
func migratePG(ctx context.Context, pool *pgxpool.Pool, steps []string) (err error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", pgClassify(err))
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, pgMigrateLock); err != nil {
		return fmt.Errorf("migrate: lock: %w", pgClassify(err))
	}
	defer func() {
		if _, uerr := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, pgMigrateLock); uerr != nil {
			// A connection that cannot unlock is closed, which unlocks.
			conn.Conn().Close(context.WithoutCancel(ctx))
			err = errors.Join(err, fmt.Errorf("migrate: unlock: %w", pgClassify(uerr)))
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		one     boolean PRIMARY KEY DEFAULT true CHECK (one),
		version integer NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", pgClassify(err))
	}
	var v int
	err = conn.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("migrate: read version: %w", pgClassify(err))
	}
	if v > len(steps) {
		return fmt.Errorf("migrate: schema version %d is newer than this program (%d)", v, len(steps))
	}
	for ; v < len(steps); v++ {
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, steps[v]); err != nil {
				return fmt.Errorf("migrate: step %d: %w", v+1, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version(version) VALUES ($1)
				ON CONFLICT (one) DO UPDATE SET version = excluded.version`, v+1); err != nil {
				return fmt.Errorf("migrate: set version %d: %w", v+1, err)
			}
			return nil
		})
		if err != nil {
			return pgClassify(err)
		}
	}
	return nil
}

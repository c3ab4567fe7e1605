package server

// This file holds what the SQLite store tells operations: whether the
// database answers (/v1/ready) and how its connection pools stand
// (/metrics). Neither touches the writer, so neither waits for a push.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

var _ poolStatser = (*sqliteStore)(nil)

// Ping reads one row of the meta table on the read pool: it opens a read
// transaction on the file, which a SELECT 1 would not. Any failure is
// ErrUnavailable.
func (s *sqliteStore) Ping(ctx context.Context) error {
	var key string
	err := s.r.QueryRowContext(ctx, `SELECT key FROM meta LIMIT 1`).Scan(&key)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("ping: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// PoolStats reports the writer's and the readers' pools (the
// checkpointer's one connection is not the requests' and is left out).
func (s *sqliteStore) PoolStats() []PoolStats {
	return []PoolStats{dbPoolStats("write", s.w), dbPoolStats("read", s.r)}
}

func dbPoolStats(name string, db *sql.DB) PoolStats {
	st := db.Stats()
	return PoolStats{Pool: name, MaxOpen: st.MaxOpenConnections, Open: st.OpenConnections, InUse: st.InUse,
		Idle: st.Idle, WaitCount: st.WaitCount, WaitDuration: st.WaitDuration}
}

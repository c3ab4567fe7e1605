package store

import (
	"context"
	"database/sql"
	"fmt"
)

// The hot write path (a record, its change entry, its audit entry, the
// clock) runs the same few statements thousands of times a day. Preparing
// each once on the writer connection and binding it into each transaction
// saves SQLite re-parsing them on every write.

// txExec runs a write statement in tx through the writer's statement cache.
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// txQueryRow runs a query in tx through the writer's statement cache.
func (s *Store) txQueryRow(ctx context.Context, tx *sql.Tx, query string, args ...any) *sql.Row {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		// Let Scan report the error, as QueryRowContext would.
		return tx.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// txStmt returns query bound to tx. A query not yet in the cache is
// prepared on the transaction alone (the writer pool has one connection,
// which tx holds, so preparing on the pool here would wait forever) and
// queued for the cache, which writeTx fills after the commit.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	st, ok := s.stmts[query]
	if !ok {
		s.wanted[query] = true
	}
	s.stmtMu.Unlock()
	if ok {
		return tx.StmtContext(ctx, st), nil
	}
	st, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	return st, nil
}

// prepareWanted moves queued queries into the cache. It runs outside any
// transaction; a failure only means the next write prepares again. It
// must not hold stmtMu while preparing: preparing waits for the writer
// connection, and a transaction holding that connection may be waiting
// for stmtMu in txStmt (a deadlock the convergence checker found, with
// the agent and a session writing through one Store).
func (s *Store) prepareWanted(ctx context.Context) {
	s.stmtMu.Lock()
	queries := make([]string, 0, len(s.wanted))
	for q := range s.wanted {
		delete(s.wanted, q)
		if _, ok := s.stmts[q]; !ok {
			queries = append(queries, q)
		}
	}
	s.stmtMu.Unlock()
	for _, q := range queries {
		st, err := s.w.PrepareContext(ctx, q)
		if err != nil {
			continue
		}
		s.stmtMu.Lock()
		if _, ok := s.stmts[q]; ok {
			st.Close() // prepared meanwhile by another caller
		} else {
			s.stmts[q] = st
		}
		s.stmtMu.Unlock()
	}
}

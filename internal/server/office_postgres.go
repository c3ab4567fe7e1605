package server

// This file gives office_sql.go its way to a PostgreSQL database: the
// write pool and the read pool, "?" numbered as $n.

import (
	"context"
	"fmt"

	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/jackc/pgx/v5"
)

type pgOffice struct{ s *pgStore }

func (o pgOffice) exec(ctx context.Context, q string, args ...any) (int64, error) {
	tag, err := o.s.w.Exec(ctx, pgPlaceholders(q), args...)
	if err != nil {
		return 0, pgClassify(err)
	}
	return tag.RowsAffected(), nil
}

func (o pgOffice) tx(ctx context.Context, fn func(exec func(q string, args ...any) (int64, error)) error) error {
	return pgClassify(pgx.BeginFunc(ctx, o.s.w, func(tx pgx.Tx) error {
		return fn(func(q string, args ...any) (int64, error) {
			tag, err := tx.Exec(ctx, pgPlaceholders(q), args...)
			if err != nil {
				return 0, err
			}
			return tag.RowsAffected(), nil
		})
	}))
}

func (o pgOffice) query(ctx context.Context, q string, args []any, row func(scan func(dst ...any) error) error) error {
	rows, err := o.s.r.Query(ctx, pgPlaceholders(q), args...)
	if err != nil {
		return pgClassify(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return pgClassify(rows.Err())
}

// putOfficeCases keeps the inbox index in the transaction that writes
// the records (PutRecords).
// The statements go in one batch: one round trip for a push's cases, not
// one each (a push of 2,000 cases spent most of its time under the
// tenant's lock waiting for them).
func (t *pgTx) putOfficeCases(ctx context.Context, tenant string, rs []*merge.Record) error {
	var b pgx.Batch
	queries := map[string]string{}
	err := putOfficeCases(tenant, rs, func(q string, args ...any) error {
		pq, ok := queries[q]
		if !ok {
			pq = pgPlaceholders(q)
			queries[q] = pq
		}
		b.Queue(pq, args...)
		return nil
	})
	if err != nil || b.Len() == 0 {
		return err
	}
	if err := t.tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("write inbox: %w", pgClassify(err))
	}
	return nil
}

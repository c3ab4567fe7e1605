package server

// This file gives office_sql.go its way to a PostgreSQL database: the
// write pool and the read pool, "?" numbered as $n.

import (
	"context"

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

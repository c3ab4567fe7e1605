package server

// This file gives office_sql.go its way to an SQLite database: writes on
// the one writer connection, reads on the read pool.

import (
	"context"
	"database/sql"
)

type sqliteOffice struct{ s *sqliteStore }

func (o sqliteOffice) exec(ctx context.Context, q string, args ...any) (int64, error) {
	res, err := o.s.w.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (o sqliteOffice) tx(ctx context.Context, fn func(exec func(q string, args ...any) (int64, error)) error) error {
	return o.s.writeTx(ctx, func(tx *sql.Tx) error {
		return fn(func(q string, args ...any) (int64, error) {
			res, err := tx.ExecContext(ctx, q, args...)
			if err != nil {
				return 0, err
			}
			return res.RowsAffected()
		})
	})
}

func (o sqliteOffice) query(ctx context.Context, q string, args []any, row func(scan func(dst ...any) error) error) error {
	rows, err := o.s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

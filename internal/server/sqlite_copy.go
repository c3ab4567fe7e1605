package server

// This file moves a tenant's rows out of and into an SQLite database
// (copy.go). The export reads in one read transaction, so it sees one
// snapshot however long the copy takes; the import writes in one write
// transaction with one prepared INSERT per table, feed positions given
// (AUTOINCREMENT then continues above the highest).

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"strings"
)

// sqliteSQL turns copyTables' $1 into SQLite's numbered ?1.
func sqliteSQL(q string) string { return strings.ReplaceAll(q, "$1", "?1") }

func (s *sqliteStore) ExportTenant(ctx context.Context, tenant string, fn func(CopyRow) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("export tenant %s: %w", tenant, err)
	}
	defer tx.Rollback()
	for _, t := range copyTables {
		if err := sqliteExportTable(ctx, tx, t, tenant, fn); err != nil {
			return err
		}
	}
	return nil
}

func sqliteExportTable(ctx context.Context, tx *sql.Tx, t *copyTable, tenant string, fn func(CopyRow) error) error {
	rows, err := tx.QueryContext(ctx, sqliteSQL(t.selectSQL(true)), tenant)
	if err != nil {
		return fmt.Errorf("export tenant %s: %s: %w", tenant, t.name, err)
	}
	defer rows.Close()
	for rows.Next() {
		dest := make([]any, len(t.cols))
		for i, c := range t.cols {
			switch c.kind {
			case kText:
				dest[i] = new(string)
			case kNullText:
				dest[i] = new(sql.NullString)
			case kInt, kBool:
				dest[i] = new(int64)
			case kBytes, kNullBytes:
				dest[i] = new([]byte)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("export tenant %s: %s: %w", tenant, t.name, err)
		}
		vals := make([]any, len(t.cols))
		for i, c := range t.cols {
			vals[i] = fromSQLite(c.kind, dest[i])
		}
		if err := fn(CopyRow{Table: t.name, Values: vals}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export tenant %s: %s: %w", tenant, t.name, err)
	}
	return nil
}

// fromSQLite turns a scanned value into its CopyRow form.
func fromSQLite(k colKind, p any) any {
	switch k {
	case kText:
		return *p.(*string)
	case kNullText:
		if ns := p.(*sql.NullString); ns.Valid {
			return ns.String
		}
		return nil
	case kInt:
		return *p.(*int64)
	case kBool:
		return *p.(*int64) != 0
	case kBytes:
		if b := *p.(*[]byte); b != nil {
			return b
		}
		return []byte{}
	case kNullBytes:
		if b := *p.(*[]byte); b != nil {
			return b
		}
		return nil
	}
	return nil
}

// toSQLite turns a CopyRow value into what the SQLite column takes.
func toSQLite(k colKind, v any) any {
	if k == kBool {
		if v.(bool) {
			return int64(1)
		}
		return int64(0)
	}
	return v
}

func (s *sqliteStore) ImportTenant(ctx context.Context, tenant string, rows iter.Seq2[CopyRow, error]) error {
	r := newCopyRows(tenant, rows)
	defer r.stop()
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM tenant WHERE id = ?`, tenant).Scan(&one)
		if err == nil {
			return fmt.Errorf("tenant %s: %w", tenant, ErrExists)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("import tenant %s: %w", tenant, err)
		}
		ins := map[string]*sql.Stmt{}
		defer func() {
			for _, st := range ins {
				st.Close()
			}
		}()
		for {
			row, ok, err := r.peek()
			if err != nil {
				return fmt.Errorf("import tenant %s: %w", tenant, err)
			}
			if !ok {
				break
			}
			r.take()
			t := copyTableByName[row.Table]
			st, ok := ins[t.name]
			if !ok {
				if st, err = tx.PrepareContext(ctx, sqliteInsertSQL(t)); err != nil {
					return fmt.Errorf("import tenant %s: %s: %w", tenant, t.name, err)
				}
				ins[t.name] = st
			}
			args := make([]any, len(row.Values))
			for i, c := range t.cols {
				args[i] = toSQLite(c.kind, row.Values[i])
			}
			if _, err := st.ExecContext(context.WithoutCancel(ctx), args...); err != nil {
				if t.name == "change" {
					return sqliteSeqTaken(ctx, tx, tenant, row.Values[0].(int64), err)
				}
				return fmt.Errorf("import tenant %s: %s: %w", tenant, t.name, err)
			}
		}
		if r.n == 0 {
			return fmt.Errorf("import tenant %s: no rows: %w", tenant, ErrNotFound)
		}
		return nil
	})
}

// sqliteInsertSQL is the INSERT of one row of t. The server's clock keeps
// the greater of the two values; a tenant's policy replaces what a
// tenant of the same id left behind.
func sqliteInsertSQL(t *copyTable) string {
	names := t.colNames()
	q := "INSERT INTO " + t.name + "(" + strings.Join(names, ", ") + ") VALUES (?" + strings.Repeat(", ?", len(names)-1) + ")"
	if t.name == "meta" {
		q += ` ON CONFLICT(key) DO UPDATE SET value = CASE WHEN key = '` + metaClock + `' THEN max(value, excluded.value)
			ELSE excluded.value END`
	}
	return q
}

// sqliteSeqTaken explains a change that would not go in: most likely its
// position is another tenant's (SQLite's feed positions are one sequence
// for all tenants).
func sqliteSeqTaken(ctx context.Context, tx *sql.Tx, tenant string, seq int64, err error) error {
	var other string
	if qerr := tx.QueryRowContext(ctx, `SELECT tenant FROM change WHERE seq = ?`, seq).Scan(&other); qerr == nil {
		return fmt.Errorf("import tenant %s: feed position %d: %w (copy into a new database file)", tenant, seq, ErrSeqTaken)
	}
	return fmt.Errorf("import tenant %s: change at %d: %w", tenant, seq, err)
}

package server

// This file moves a tenant's rows out of and into a PostgreSQL database
// (copy.go). The export reads in one REPEATABLE READ transaction, one
// snapshot, streaming each table's rows as they come. The import writes
// in one transaction under the tenant's lock, each table by COPY
// (CopyFrom) straight from the stream, feed positions as they were; it
// then sets the tenant's feed_head to the highest position copied, so the
// next push continues above it.

import (
	"context"
	"fmt"
	"iter"

	"github.com/jackc/pgx/v5"
)

func (s *pgStore) ExportTenant(ctx context.Context, tenant string, fn func(CopyRow) error) error {
	tx, err := s.r.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("export tenant %s: %w", tenant, pgClassify(err))
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	for _, t := range copyTables {
		if err := pgExportTable(ctx, tx, t, tenant, fn); err != nil {
			return err
		}
	}
	return nil
}

func pgExportTable(ctx context.Context, tx pgx.Tx, t *copyTable, tenant string, fn func(CopyRow) error) error {
	rows, err := tx.Query(ctx, t.selectSQL(false), tenant)
	if err != nil {
		return fmt.Errorf("export tenant %s: %s: %w", tenant, t.name, pgClassify(err))
	}
	defer rows.Close()
	for rows.Next() {
		dest := make([]any, len(t.cols))
		for i, c := range t.cols {
			switch c.kind {
			case kText:
				dest[i] = new(string)
			case kNullText:
				dest[i] = new(*string)
			case kInt:
				dest[i] = new(int64)
			case kBool:
				dest[i] = new(bool)
			case kBytes, kNullBytes:
				dest[i] = new([]byte)
			}
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("export tenant %s: %s: %w", tenant, t.name, pgClassify(err))
		}
		vals := make([]any, len(t.cols))
		for i, c := range t.cols {
			vals[i] = fromPG(c.kind, dest[i])
		}
		if err := fn(CopyRow{Table: t.name, Values: vals}); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("export tenant %s: %s: %w", tenant, t.name, pgClassify(err))
	}
	return nil
}

// fromPG turns a scanned value into its CopyRow form.
func fromPG(k colKind, p any) any {
	switch k {
	case kText:
		return *p.(*string)
	case kNullText:
		if s := *p.(**string); s != nil {
			return *s
		}
		return nil
	case kInt:
		return *p.(*int64)
	case kBool:
		return *p.(*bool)
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

func (s *pgStore) ImportTenant(ctx context.Context, tenant string, rows iter.Seq2[CopyRow, error]) error {
	r := newCopyRows(tenant, rows)
	defer r.stop()
	err := pgx.BeginFunc(ctx, s.w, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, qTenantLock, tenant); err != nil {
			return fmt.Errorf("import tenant %s: lock: %w", tenant, err)
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM tenant WHERE id = $1`, tenant).Scan(&n); err != nil {
			return fmt.Errorf("import tenant %s: %w", tenant, err)
		}
		if n > 0 {
			return fmt.Errorf("tenant %s: %w", tenant, ErrExists)
		}
		var head int64
		for {
			row, ok, err := r.peek()
			if err != nil {
				return fmt.Errorf("import tenant %s: %w", tenant, err)
			}
			if !ok {
				break
			}
			t := copyTableByName[row.Table]
			if t.name == "meta" {
				r.take()
				if err := pgImportMeta(ctx, tx, row); err != nil {
					return fmt.Errorf("import tenant %s: %w", tenant, err)
				}
				continue
			}
			src := &pgCopySource{r: r, table: t.name}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, t.colNames(), src); err != nil {
				if src.err != nil {
					err = src.err
				}
				return fmt.Errorf("import tenant %s: %s: %w", tenant, t.name, err)
			}
			if t.name == "change" {
				head = src.last
			}
		}
		if r.n == 0 {
			return fmt.Errorf("import tenant %s: no rows: %w", tenant, ErrNotFound)
		}
		if head > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO feed_head(tenant, seq) VALUES ($1, $2)
				ON CONFLICT (tenant) DO UPDATE SET seq = greatest(feed_head.seq, excluded.seq)`, tenant, head); err != nil {
				return fmt.Errorf("import tenant %s: feed head: %w", tenant, err)
			}
		}
		return nil
	})
	return pgClassify(err)
}

// pgImportMeta writes a meta row: the server's clock keeps the greater
// value, a tenant's policy replaces what a tenant of the same id left.
func pgImportMeta(ctx context.Context, tx pgx.Tx, row CopyRow) error {
	q := `INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`
	if row.Values[0] == metaClock {
		q = `INSERT INTO meta(key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value, excluded.value)`
	}
	if _, err := tx.Exec(ctx, q, row.Values...); err != nil {
		return fmt.Errorf("meta: %w", err)
	}
	return nil
}

// pgCopySource feeds CopyFrom the rows of one table from the stream; it
// ends at the first row of another table, which it leaves for the next.
type pgCopySource struct {
	r     *copyRows
	table string
	cur   CopyRow
	err   error
	last  int64 // the last change's seq
}

func (c *pgCopySource) Next() bool {
	row, ok, err := c.r.peek()
	if err != nil {
		c.err = err
		return false
	}
	if !ok || row.Table != c.table {
		return false
	}
	c.r.take()
	c.cur = row
	if c.table == "change" {
		c.last = row.Values[0].(int64)
	}
	return true
}

func (c *pgCopySource) Values() ([]any, error) { return c.cur.Values, nil }
func (c *pgCopySource) Err() error             { return c.err }

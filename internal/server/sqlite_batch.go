package server

// This file holds the batched statements of the push path: a push of
// 2,000 changes runs a few dozen statements, not ten thousand, because the
// cost of a statement (binding, the driver, database/sql) is far above the
// cost of one more row in it.

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/buergerkoffer/kit/internal/merge"
)

// batchRows bounds the rows of one multi-row statement (SQLite allows
// 32,766 parameters).
const batchRows = 500

// placeholders returns "(?, ?, ?), (?, ?, ?)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
}

// inList returns "?, ?, ?" for n ids.
func inList(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// chunks calls fn for consecutive pieces of up to batchRows of n items.
func chunks(n int, fn func(lo, hi int) error) error {
	for lo := 0; lo < n; lo += batchRows {
		if err := fn(lo, min(lo+batchRows, n)); err != nil {
			return err
		}
	}
	return nil
}

// The batched statements, for n rows. Those for batchRows rows (every
// chunk of a large push but the last) are prepared once on the writer
// (batchQueries): preparing a statement of thousands of parameters costs
// milliseconds.
func qPutSeals(n int) string {
	return `INSERT INTO seal(tenant, id, device, jwe, created_at) VALUES ` + placeholders(n, 5) + ` ON CONFLICT DO NOTHING`
}

func qPutRecordKeys(n int) string {
	return `INSERT INTO record_key(tenant, record_id, seal_id, wrapped,
			origin_device, created_at) VALUES ` + placeholders(n, 6) + ` ON CONFLICT DO NOTHING`
}

func qChangesIn(n int) string {
	return `SELECT id, tenant, seq, version FROM change WHERE id IN (` + inList(n) + `)`
}

func qRecordsIn(n int) string {
	return `SELECT id, state FROM record WHERE tenant = ? AND id IN (` + inList(n) + `)`
}

func qHasRecordKeysIn(n int) string {
	return `SELECT record_id FROM record_key WHERE tenant = ? AND record_id IN (` + inList(n) + `)`
}

func qAddChanges(n int) string {
	return `INSERT INTO change(seq, tenant, id, record_id, record_type, op, fields, plain, secret, base_version,
			version, hlc, device, clerk, created_at, received_at, state, deleted) VALUES ` + placeholders(n, 18)
}

// qLastSeq is the last feed position taken: AUTOINCREMENT's counter,
// which never goes back (also when the newest change was copied in with
// its seq, copy.go), or the newest change's if that were ever ahead.
const qLastSeq = `SELECT max(coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'change'), 0),
	coalesce((SELECT max(seq) FROM change), 0))`

func qPutRecords(n int) string {
	// The type is left out of the update: it never changes, and naming
	// it would rewrite the record's entry in record_by_type.
	return `INSERT INTO record(tenant, id, type, version, deleted, status,
			state) VALUES ` + placeholders(n, 7) + ` ON CONFLICT(tenant, id) DO UPDATE SET
			version = excluded.version, deleted = excluded.deleted, status = excluded.status, state = excluded.state`
}

func qAddRecords(n int) string {
	return `INSERT INTO record(tenant, id, type, version, deleted, status, state) VALUES ` + placeholders(n, 7)
}

func qPutInbox(n int) string {
	return `INSERT INTO office_case(tenant, record_id, status, service_id, visit_id, day, clerk, arrived_at,
			version) VALUES ` + placeholders(n, 9) + ` ON CONFLICT (tenant, record_id) DO UPDATE SET
			status = excluded.status, service_id = excluded.service_id, visit_id = excluded.visit_id,
			day = excluded.day, clerk = excluded.clerk, arrived_at = excluded.arrived_at, version = excluded.version`
}

func qDropInbox(n int) string {
	return `DELETE FROM office_case WHERE tenant = ? AND record_id IN (` + inList(n) + `)`
}

// batchQueries are prepared on the writer when the store opens.
func batchQueries() []string {
	return []string{qPutRecordKeys(batchRows), qChangesIn(batchRows), qRecordsIn(batchRows),
		qHasRecordKeysIn(batchRows), qAddChanges(batchRows), qPutRecords(batchRows), qAddRecords(batchRows), qPutInbox(batchRows)}
}

// batchStmt returns the prepared statement of q, bound to the
// transaction, if it is one of batchQueries; else nil.
func (t *sqliteTx) batchStmt(ctx context.Context, q string) *sql.Stmt {
	if _, ok := t.s.batch[q]; !ok {
		return nil
	}
	st, err := t.stmt(ctx, q)
	if err != nil {
		return nil
	}
	return st
}

// exec runs a statement made for this call (or prepared) in the transaction.
func (t *sqliteTx) exec(ctx context.Context, q string, args []any) error {
	ctx = context.WithoutCancel(ctx)
	var err error
	if st := t.batchStmt(ctx, q); st != nil {
		_, err = st.ExecContext(ctx, args...)
	} else {
		_, err = t.tx.ExecContext(ctx, q, args...)
	}
	return err
}

// query runs a statement made for this call (or prepared) in the transaction.
func (t *sqliteTx) query(ctx context.Context, q string, args []any, row func(*sql.Rows) error) error {
	ctx = context.WithoutCancel(ctx)
	var rows *sql.Rows
	var err error
	if st := t.batchStmt(ctx, q); st != nil {
		rows, err = st.QueryContext(ctx, args...)
	} else {
		rows, err = t.tx.QueryContext(ctx, q, args...)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (t *sqliteTx) PutSeals(ctx context.Context, seals []SealRow) error {
	return chunks(len(seals), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*5)
		for _, s := range seals[lo:hi] {
			args = append(args, s.Tenant, s.ID, s.Device, s.JWE, fmtTime(s.CreatedAt))
		}
		if err := t.exec(ctx, qPutSeals(hi-lo), args); err != nil {
			return fmt.Errorf("store seals: %w", err)
		}
		return nil
	})
}

func (t *sqliteTx) PutRecordKeys(ctx context.Context, keys []RecordKey) error {
	return chunks(len(keys), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*6)
		for _, k := range keys[lo:hi] {
			args = append(args, k.Tenant, k.RecordID, k.SealID, k.Wrapped, k.OriginDevice, fmtTime(k.CreatedAt))
		}
		if err := t.exec(ctx, qPutRecordKeys(hi-lo), args); err != nil {
			return fmt.Errorf("store record keys: %w", err)
		}
		return nil
	})
}

func (t *sqliteTx) Changes(ctx context.Context, ids []string) (map[string]ChangeRef, error) {
	out := map[string]ChangeRef{}
	err := chunks(len(ids), func(lo, hi int) error {
		args := make([]any, 0, hi-lo)
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		return t.query(ctx, qChangesIn(hi-lo), args,
			func(rows *sql.Rows) error {
				var id string
				var c ChangeRef
				if err := rows.Scan(&id, &c.Tenant, &c.Seq, &c.Version); err != nil {
					return err
				}
				out[id] = c
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

func (t *sqliteTx) Records(ctx context.Context, tenant string, ids []string) (map[string]*merge.Record, error) {
	out := map[string]*merge.Record{}
	err := chunks(len(ids), func(lo, hi int) error {
		args := make([]any, 0, hi-lo+1)
		args = append(args, tenant)
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		return t.query(ctx, qRecordsIn(hi-lo), args,
			func(rows *sql.Rows) error {
				var id string
				var state []byte
				if err := rows.Scan(&id, &state); err != nil {
					return err
				}
				r, err := decodeRecord(id, state)
				if err != nil {
					return err
				}
				out[id] = r
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	return out, nil
}

func (t *sqliteTx) HasRecordKeys(ctx context.Context, tenant string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := chunks(len(ids), func(lo, hi int) error {
		args := make([]any, 0, hi-lo+1)
		args = append(args, tenant)
		for _, id := range ids[lo:hi] {
			args = append(args, id)
		}
		return t.query(ctx, qHasRecordKeysIn(hi-lo), args,
			func(rows *sql.Rows) error {
				var id string
				if err := rows.Scan(&id); err != nil {
					return err
				}
				out[id] = true
				return nil
			})
	})
	if err != nil {
		return nil, fmt.Errorf("read record keys: %w", err)
	}
	return out, nil
}

// AddChanges gives the changes the next feed positions, in the order
// given, and inserts them with their seqs: the position AUTOINCREMENT
// would take, so sqlite_sequence moves as it would, without a RETURNING
// clause's rows to read back. The writer is the only one, so nothing
// takes a position in between.
func (t *sqliteTx) AddChanges(ctx context.Context, cs []*ChangeRow) ([]int64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	var last int64
	if err := t.tx.QueryRowContext(ctx, qLastSeq).Scan(&last); err != nil {
		return nil, fmt.Errorf("store changes: %w", err)
	}
	seqs := make([]int64, len(cs))
	for i := range seqs {
		seqs[i] = last + 1 + int64(i)
	}
	err := chunks(len(cs), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*18)
		for i, c := range cs[lo:hi] {
			args = append(args, seqs[lo+i], c.Tenant, c.ID, c.RecordID, c.RecordType, c.Op, c.Fields, c.Plain, c.Secret,
				c.BaseVersion, c.Version, c.HLC, c.Device, c.Clerk, c.CreatedAt, fmtTime(c.ReceivedAt), c.State, c.Deleted)
		}
		return t.exec(ctx, qAddChanges(hi-lo), args)
	})
	if err != nil {
		return nil, fmt.Errorf("store changes: %w", err)
	}
	return seqs, nil
}

func (t *sqliteTx) PutRecords(ctx context.Context, tenant string, added, changed []*merge.Record) error {
	if err := t.putRecords(ctx, tenant, added, qAddRecords); err != nil {
		return err
	}
	return t.putRecords(ctx, tenant, changed, qPutRecords)
}

func (t *sqliteTx) putRecords(ctx context.Context, tenant string, rs []*merge.Record, q func(n int) string) error {
	return chunks(len(rs), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*7)
		var buf []byte
		for _, r := range rs[lo:hi] {
			buf = appendRecord(buf[:0], r)
			args = append(args, tenant, r.ID, r.Type, r.Version, r.Deleted, caseStatus(r), string(buf))
		}
		if err := t.exec(ctx, q(hi-lo), args); err != nil {
			return fmt.Errorf("write records: %w", err)
		}
		return nil
	})
}

func (t *sqliteTx) PutInbox(ctx context.Context, tenant string, put []InboxRow, drop []string) error {
	err := chunks(len(put), func(lo, hi int) error {
		args := make([]any, 0, (hi-lo)*9)
		for _, r := range put[lo:hi] {
			args = append(args, tenant, r.RecordID, r.Status, r.ServiceID, r.VisitID, r.Day, r.Clerk, r.ArrivedAt, r.Version)
		}
		return t.exec(ctx, qPutInbox(hi-lo), args)
	})
	if err != nil {
		return fmt.Errorf("write inbox: %w", err)
	}
	err = chunks(len(drop), func(lo, hi int) error {
		args := make([]any, 0, hi-lo+1)
		args = append(args, tenant)
		for _, id := range drop[lo:hi] {
			args = append(args, id)
		}
		return t.exec(ctx, qDropInbox(hi-lo), args)
	})
	if err != nil {
		return fmt.Errorf("write inbox: %w", err)
	}
	return nil
}

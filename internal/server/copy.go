package server

// This file moves towns between databases (`syncd admin copy`): a
// tenant's rows leave one store (Store.ExportTenant) and enter another
// (Store.ImportTenant) as a stream, SQLite to PostgreSQL or back, with
// everything a laptop relies on unchanged: feed positions, device tokens,
// enrolment codes, keys, upload offsets. So an enrolled laptop syncs
// against the new database as if nothing had happened, and pulls nothing
// again.
//
// Both databases must be opened with the same master key (Server.Open
// checks the key against each): the tenants' private keys and centrally
// made record keys are wrapped under it and are copied as they are, not
// re-wrapped.
//
// The rows are the tables of both schemas, column by column (copyTables);
// the columns that exist in one backend only (PostgreSQL's tenant_key.ord
// and feed_head) are made by the importer. A value is one of string, nil,
// int64, bool or []byte, whatever the backend stores it as (SQLite keeps
// booleans as integers).

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"
)

// ErrSeqTaken: a feed position of the tenant being copied is taken in
// the destination by another tenant. An SQLite database numbers the
// changes of all its tenants in one sequence, so a tenant from PostgreSQL
// (where each tenant counts from 1) fits only into a database whose other
// tenants do not use its positions: copy it into a new file.
var ErrSeqTaken = errors.New("server: feed position taken by another tenant")

// CopyRow is one row of a tenant's data on its way from one database to
// another: the table and its values, in the order copyTables gives the
// table's columns.
type CopyRow struct {
	Table  string
	Values []any
}

// colKind is how a column's value travels in a CopyRow.
type colKind int

const (
	kText      colKind = iota // string
	kNullText                 // string or nil
	kInt                      // int64
	kBool                     // bool
	kBytes                    // []byte, never nil
	kNullBytes                // []byte or nil
)

type copyColumn struct {
	name string
	kind colKind
}

// copyTable says how a table's rows of a tenant are found and ordered.
// where and order are SQL with $1 for the tenant; sqliteOrder, if set,
// replaces order on SQLite. tenantCol is the index of the column that
// names the tenant, -1 if none.
type copyTable struct {
	name        string
	cols        []copyColumn
	where       string
	order       string
	sqliteOrder string
	tenantCol   int
}

func (t *copyTable) colNames() []string {
	out := make([]string, len(t.cols))
	for i, c := range t.cols {
		out[i] = c.name
	}
	return out
}

// selectSQL is the table's query for a tenant, with $1 for the tenant.
func (t *copyTable) selectSQL(sqlite bool) string {
	order := t.order
	if sqlite && t.sqliteOrder != "" {
		order = t.sqliteOrder
	}
	return "SELECT " + strings.Join(t.colNames(), ", ") + " FROM " + t.name + " WHERE " + t.where + " ORDER BY " + order
}

func cols(spec string) []copyColumn {
	kinds := map[string]colKind{"t": kText, "t?": kNullText, "i": kInt, "b": kBool, "x": kBytes, "x?": kNullBytes}
	var out []copyColumn
	for _, f := range strings.Fields(spec) {
		name, kind, _ := strings.Cut(f, ":")
		out = append(out, copyColumn{name: name, kind: kinds[kind]})
	}
	return out
}

// copyTables are the tables of a tenant in the order they are copied:
// what a row references comes before it.
var copyTables = []*copyTable{
	{name: "tenant", cols: cols("id:t name:t created_at:t"), where: "id = $1", order: "id", tenantCol: 0},
	// The newest key is the last made: on PostgreSQL ord (an identity)
	// orders keys of the same time, on SQLite the rowid; the importer
	// inserts them in this order, so they get their ord or rowid anew.
	{name: "tenant_key", cols: cols("tenant:t kid:t public_pem:t private_wrapped:x created_at:t"),
		where: "tenant = $1", order: "created_at, ord", sqliteOrder: "created_at, rowid", tenantCol: 0},
	{name: "enrolment", cols: cols("code_hash:t tenant:t created_at:t expires_at:t used_at:t? device_id:t?"),
		where: "tenant = $1", order: "code_hash", tenantCol: 1},
	{name: "device", cols: cols("id:t tenant:t name:t local_id:t token_hash:t public_pem:t kid:t enrolled_at:t " +
		"revoked_at:t? last_seen_at:t? version:t"), where: "tenant = $1", order: "id", tenantCol: 1},
	{name: "device_chain", cols: cols("device:t count:i hash:t flag:t flag_detail:t flagged_at:t? updated_at:t"),
		where: "device IN (SELECT id FROM device WHERE tenant = $1)", order: "device", tenantCol: -1},
	{name: "seal", cols: cols("tenant:t id:t device:t jwe:t created_at:t"), where: "tenant = $1", order: "id", tenantCol: 0},
	{name: "record_key", cols: cols("tenant:t record_id:t seal_id:t wrapped:x origin_device:t created_at:t"),
		where: "tenant = $1", order: "record_id", tenantCol: 0},
	{name: "record", cols: cols("tenant:t id:t type:t version:i deleted:b status:t state:t"),
		where: "tenant = $1", order: "id", tenantCol: 0},
	{name: "change", cols: cols("seq:i tenant:t id:t record_id:t record_type:t op:t fields:t plain:t secret:x? " +
		"base_version:i version:i hlc:t device:t clerk:t created_at:t received_at:t state:t deleted:b"),
		where: "tenant = $1", order: "seq", tenantCol: 1},
	{name: "attachment", cols: cols("tenant:t record_id:t sha256:t length:i sealed_sha256:t received:i complete:b " +
		"created_at:t completed_at:t?"), where: "tenant = $1", order: "record_id, sha256", tenantCol: 0},
	{name: "attachment_piece", cols: cols("tenant:t record_id:t sha256:t pos:i data:x"),
		where: "tenant = $1", order: "record_id, sha256, pos", tenantCol: 0},
	// The town hall's office: its staff (their sessions and sign-in
	// failures are not copied: staff sign in again on the new service),
	// its audit log (who opened which case: the accountability record
	// moves with the town; rows get new ids in the same order), and the
	// inbox's index of the cases that arrived.
	{name: "office_staff", cols: cols("username:t tenant:t role:t password_hash:t created_at:t disabled_at:t?"),
		where: "tenant = $1", order: "username", tenantCol: 1},
	{name: "office_audit", cols: cols("tenant:t at:t username:t action:t record_id:t addr:t detail:t"),
		where: "tenant = $1", order: "id", tenantCol: 0},
	{name: "office_case", cols: cols("tenant:t record_id:t status:t service_id:t visit_id:t day:t clerk:t arrived_at:t version:i"),
		where: "tenant = $1", order: "record_id", tenantCol: 0},
	// The hand-off to the specialist procedures: routes, where each case
	// stands (its submission ids, so that a case is not submitted twice
	// after the move), and the worker's place in the feed (positions are
	// kept) with its lease, which runs out.
	{name: "handoff_route", cols: cols("tenant:t service:t destination_id:t created_at:t created_by:t"),
		where: "tenant = $1", order: "service", tenantCol: 0},
	{name: "handoff_case", cols: cols("tenant:t case_id:t service:t feed_seq:i destination_id:t submission_id:t " +
		"fitconnect_case_id:t step:t attachments_done:t attempts:i last_error:t next_attempt_at:t submitted_at:t " +
		"status:t reason:t event_offset:i events_refused:i created_at:t updated_at:t"),
		where: "tenant = $1", order: "case_id", tenantCol: 0},
	{name: "handoff_worker", cols: cols("tenant:t feed_seq:i owner:t lease_until:t"),
		where: "tenant = $1", order: "tenant", tenantCol: 0},
	// The tenant's policy (policy.<tenant>.*) and the server's clock, of
	// which the importer keeps the greater.
	{name: "meta", cols: cols("key:t value:t"),
		where: "key = '" + metaClock + "' OR (key > 'policy.' || CAST($1 AS TEXT) || '.' AND key < 'policy.' || CAST($1 AS TEXT) || '/')",
		order: "key", tenantCol: -1},
}

var copyTableByName = func() map[string]*copyTable {
	m := map[string]*copyTable{}
	for _, t := range copyTables {
		m[t.name] = t
	}
	return m
}()

// copyRows reads the rows an importer is given, one at a time, checking
// that each belongs to the tenant and that the tables come in the order
// of copyTables.
type copyRows struct {
	tenant  string
	next    func() (CopyRow, error, bool)
	stop    func()
	cur     CopyRow
	has     bool
	table   int             // index in copyTables of the current row's table
	devices map[string]bool // the tenant's devices, for device_chain
	n       int64
}

func newCopyRows(tenant string, rows iter.Seq2[CopyRow, error]) *copyRows {
	next, stop := iter.Pull2(rows)
	return &copyRows{tenant: tenant, next: next, stop: stop, devices: map[string]bool{}}
}

// peek returns the next row without taking it; ok is false at the end.
func (r *copyRows) peek() (CopyRow, bool, error) {
	if r.has {
		return r.cur, true, nil
	}
	row, err, ok := r.next()
	if !ok {
		return CopyRow{}, false, nil
	}
	if err != nil {
		return CopyRow{}, false, err
	}
	if err := r.check(row); err != nil {
		return CopyRow{}, false, err
	}
	r.cur, r.has = row, true
	return row, true, nil
}

// take takes the row peek returned.
func (r *copyRows) take() { r.has, r.n = false, r.n+1 }

// check refuses a row that is out of order, malformed or not the
// tenant's: a bug in an exporter must not write into another tenant.
func (r *copyRows) check(row CopyRow) error {
	t, ok := copyTableByName[row.Table]
	if !ok {
		return fmt.Errorf("copy tenant %s: unknown table %q", r.tenant, row.Table)
	}
	i := 0
	for copyTables[i] != t {
		i++
	}
	if i < r.table {
		return fmt.Errorf("copy tenant %s: table %s after %s", r.tenant, t.name, copyTables[r.table].name)
	}
	if r.n == 0 && t.name != "tenant" {
		return fmt.Errorf("copy tenant %s: the rows do not start with the tenant", r.tenant)
	}
	r.table = i
	if len(row.Values) != len(t.cols) {
		return fmt.Errorf("copy tenant %s: %s row has %d values, want %d", r.tenant, t.name, len(row.Values), len(t.cols))
	}
	for j, c := range t.cols {
		if !kindFits(c.kind, row.Values[j]) {
			return fmt.Errorf("copy tenant %s: %s.%s holds a %T", r.tenant, t.name, c.name, row.Values[j])
		}
	}
	switch {
	case t.tenantCol >= 0:
		if row.Values[t.tenantCol] != r.tenant {
			return fmt.Errorf("copy tenant %s: a %s row of another tenant", r.tenant, t.name)
		}
	case t.name == "device_chain":
		if !r.devices[row.Values[0].(string)] {
			return fmt.Errorf("copy tenant %s: audit chain of a device not copied", r.tenant)
		}
	case t.name == "meta":
		key := row.Values[0].(string)
		if key != metaClock && !strings.HasPrefix(key, "policy."+r.tenant+".") {
			return fmt.Errorf("copy tenant %s: meta key %q is not the tenant's", r.tenant, key)
		}
	}
	if t.name == "device" {
		r.devices[row.Values[0].(string)] = true
	}
	return nil
}

func kindFits(k colKind, v any) bool {
	switch k {
	case kText:
		_, ok := v.(string)
		return ok
	case kNullText:
		_, ok := v.(string)
		return ok || v == nil
	case kInt:
		_, ok := v.(int64)
		return ok
	case kBool:
		_, ok := v.(bool)
		return ok
	case kBytes:
		b, ok := v.([]byte)
		return ok && b != nil
	case kNullBytes:
		_, ok := v.([]byte)
		return ok || v == nil
	}
	return false
}

// CopyStats says what a tenant's copy moved.
type CopyStats struct {
	Tenant  string
	Rows    map[string]int64 // by table
	HeadSeq int64            // the newest feed position copied
	Took    time.Duration
}

// CopyTenants copies tenants from the server src's database to dst's:
// the one named, or all of src's if tenant is "". Each tenant is copied
// in one transaction of dst's database, from one snapshot of src's, so a
// failed copy leaves dst without that tenant. A tenant dst has already is
// refused (ErrExists) before anything is copied: there is no merging.
// Copying several, those copied before a failure stay copied; the error
// says which. src should not be serving while it is copied: what it
// accepts meanwhile is not copied.
func CopyTenants(ctx context.Context, src, dst *Server, tenant string, progress func(CopyStats)) ([]CopyStats, error) {
	var ids []string
	if tenant != "" {
		if _, err := src.st.TenantKey(ctx, tenant); err != nil {
			return nil, fmt.Errorf("server: copy: source: %w", err)
		}
		ids = []string{tenant}
	} else {
		var err error
		if ids, err = src.tenantIDs(ctx); err != nil {
			return nil, fmt.Errorf("server: copy: source: %w", err)
		}
	}
	have, err := dst.tenantIDs(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: copy: destination: %w", err)
	}
	for _, id := range ids {
		for _, h := range have {
			if h == id {
				return nil, fmt.Errorf("server: copy: destination has tenant %s already: %w", id, ErrExists)
			}
		}
	}
	var done []CopyStats
	for _, id := range ids {
		st, err := copyTenant(ctx, src.st, dst.st, id)
		if err != nil {
			copied := make([]string, len(done))
			for i, d := range done {
				copied[i] = d.Tenant
			}
			if len(copied) > 0 {
				return done, fmt.Errorf("server: copy (tenants copied before: %s): %w", strings.Join(copied, ", "), err)
			}
			return done, fmt.Errorf("server: copy: %w", err)
		}
		done = append(done, st)
		if progress != nil {
			progress(st)
		}
		dst.log.Info("tenant copied", "tenant", id, "changes", st.Rows["change"], "head_seq", st.HeadSeq)
	}
	return done, nil
}

// errCopyStopped ends an export whose importer stopped reading.
var errCopyStopped = errors.New("copy: importer stopped")

// copyTenant streams one tenant's rows from src to dst.
func copyTenant(ctx context.Context, src, dst Store, tenant string) (CopyStats, error) {
	start := time.Now()
	st := CopyStats{Tenant: tenant, Rows: map[string]int64{}}
	rows := func(yield func(CopyRow, error) bool) {
		err := src.ExportTenant(ctx, tenant, func(r CopyRow) error {
			st.Rows[r.Table]++
			if r.Table == "change" {
				st.HeadSeq = r.Values[0].(int64)
			}
			if !yield(r, nil) {
				return errCopyStopped
			}
			return nil
		})
		if err != nil && !errors.Is(err, errCopyStopped) {
			yield(CopyRow{}, fmt.Errorf("read source: %w", err))
		}
	}
	if err := dst.ImportTenant(ctx, tenant, rows); err != nil {
		return CopyStats{}, fmt.Errorf("tenant %s: %w", tenant, err)
	}
	st.Took = time.Since(start)
	return st, nil
}

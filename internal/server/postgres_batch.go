package server

// This file holds the push path's statements on PostgreSQL, each one round
// trip for the whole push: lookups by id take an array (= ANY($n)),
// upserts take one array per column (unnest), and the feed's rows and new
// records go in by COPY (CopyFrom). The feed positions are taken from the
// tenant's counter row, under the tenant's lock (postgres.go).

import (
	"context"
	"errors"
	"fmt"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/merge"
	"github.com/jackc/pgx/v5"
)

// lockAll takes the lock of every tenant named, in the order named.
func (t *pgTx) lockAll(ctx context.Context, n int, tenant func(i int) string) error {
	for i := range n {
		if err := t.lock(ctx, tenant(i)); err != nil {
			return err
		}
	}
	return nil
}

func (t *pgTx) PutSeals(ctx context.Context, seals []SealRow) error {
	if len(seals) == 0 {
		return nil
	}
	if err := t.lockAll(ctx, len(seals), func(i int) string { return seals[i].Tenant }); err != nil {
		return err
	}
	cols := make([][]string, 5)
	for _, s := range seals {
		for i, v := range []string{s.Tenant, s.ID, s.Device, s.JWE, fmtTime(s.CreatedAt)} {
			cols[i] = append(cols[i], v)
		}
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO seal(tenant, id, device, jwe, created_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) ON CONFLICT DO NOTHING`,
		cols[0], cols[1], cols[2], cols[3], cols[4]); err != nil {
		return fmt.Errorf("store seals: %w", err)
	}
	return nil
}

func (t *pgTx) PutRecordKeys(ctx context.Context, keys []RecordKey) error {
	if len(keys) == 0 {
		return nil
	}
	if err := t.lockAll(ctx, len(keys), func(i int) string { return keys[i].Tenant }); err != nil {
		return err
	}
	var tenants, records, seals, origins, created []string
	wrapped := make([][]byte, 0, len(keys))
	for _, k := range keys {
		tenants, records, seals = append(tenants, k.Tenant), append(records, k.RecordID), append(seals, k.SealID)
		origins, created = append(origins, k.OriginDevice), append(created, fmtTime(k.CreatedAt))
		wrapped = append(wrapped, k.Wrapped)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO record_key(tenant, record_id, seal_id, wrapped, origin_device, created_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::text[], $6::text[]) ON CONFLICT DO NOTHING`,
		tenants, records, seals, wrapped, origins, created); err != nil {
		return fmt.Errorf("store record keys: %w", err)
	}
	return nil
}

func (t *pgTx) Changes(ctx context.Context, ids []string) (map[string]ChangeRef, error) {
	out := map[string]ChangeRef{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := t.tx.Query(ctx, `SELECT id, tenant, seq, version FROM change WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	var id string
	var c ChangeRef
	if _, err := pgx.ForEachRow(rows, []any{&id, &c.Tenant, &c.Seq, &c.Version}, func() error {
		out[id] = c
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	return out, nil
}

func (t *pgTx) Records(ctx context.Context, tenant string, ids []string) (map[string]*merge.Record, error) {
	out := map[string]*merge.Record{}
	if len(ids) == 0 {
		return out, nil
	}
	if err := t.lock(ctx, tenant); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `SELECT id, state FROM record WHERE tenant = $1 AND id = ANY($2)`, tenant, ids)
	if err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	var id string
	var state []byte
	if _, err := pgx.ForEachRow(rows, []any{&id, &state}, func() error {
		r, err := decodeRecord(id, state)
		if err != nil {
			return err
		}
		out[id] = r
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read records: %w", err)
	}
	return out, nil
}

func (t *pgTx) HasRecordKeys(ctx context.Context, tenant string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(ids) == 0 {
		return out, nil
	}
	if err := t.lock(ctx, tenant); err != nil {
		return nil, err
	}
	rows, err := t.tx.Query(ctx, `SELECT record_id FROM record_key WHERE tenant = $1 AND record_id = ANY($2)`, tenant, ids)
	if err != nil {
		return nil, fmt.Errorf("read record keys: %w", err)
	}
	var id string
	if _, err := pgx.ForEachRow(rows, []any{&id}, func() error {
		out[id] = true
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read record keys: %w", err)
	}
	return out, nil
}

var changeColumns = []string{"tenant", "seq", "id", "record_id", "record_type", "op", "fields", "plain", "secret",
	"base_version", "version", "hlc", "device", "clerk", "created_at", "received_at", "state", "deleted"}

// AddChanges takes n positions from each tenant's counter (under its
// lock, so in commit order and gapless) and copies the rows in.
func (t *pgTx) AddChanges(ctx context.Context, cs []*ChangeRow) ([]int64, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	count := map[string]int64{}
	var tenants []string
	for _, c := range cs {
		if count[c.Tenant] == 0 {
			tenants = append(tenants, c.Tenant)
		}
		count[c.Tenant]++
	}
	next := make(map[string][]int64, len(tenants))
	for _, tenant := range tenants {
		seqs, err := t.takeSeqs(ctx, tenant, count[tenant])
		if err != nil {
			return nil, fmt.Errorf("store changes: %w", err)
		}
		next[tenant] = seqs
		if t.s.afterSeqs != nil {
			t.s.afterSeqs(tenant)
		}
	}
	seqs := make([]int64, len(cs))
	for i, c := range cs {
		seqs[i], next[c.Tenant] = next[c.Tenant][0], next[c.Tenant][1:]
	}
	n, err := t.tx.CopyFrom(ctx, pgx.Identifier{"change"}, changeColumns, pgx.CopyFromSlice(len(cs), func(i int) ([]any, error) {
		c := cs[i]
		return []any{c.Tenant, seqs[i], c.ID, c.RecordID, c.RecordType, c.Op, c.Fields, c.Plain, c.Secret,
			c.BaseVersion, c.Version, c.HLC, c.Device, c.Clerk, c.CreatedAt, fmtTime(c.ReceivedAt), c.State, c.Deleted}, nil
	}))
	if err != nil {
		return nil, fmt.Errorf("store changes: %w", err)
	}
	if n != int64(len(cs)) {
		return nil, fmt.Errorf("store changes: %d of %d rows written", n, len(cs))
	}
	return seqs, nil
}

// takeSeqs returns the next n feed positions of a tenant, ascending.
func (t *pgTx) takeSeqs(ctx context.Context, tenant string, n int64) ([]int64, error) {
	out := make([]int64, 0, n)
	if t.s.unordered {
		// As a BIGSERIAL column would: a shared sequence, taken now,
		// visible at commit.
		rows, err := t.tx.Query(ctx, `SELECT nextval('test_unordered_seq') FROM generate_series(1, $1)`, n)
		if err != nil {
			return nil, err
		}
		var seq int64
		if _, err := pgx.ForEachRow(rows, []any{&seq}, func() error { out = append(out, seq); return nil }); err != nil {
			return nil, err
		}
		return out, nil
	}
	if err := t.lock(ctx, tenant); err != nil {
		return nil, err
	}
	var head int64
	if err := t.tx.QueryRow(ctx, `INSERT INTO feed_head(tenant, seq) VALUES ($1, $2)
		ON CONFLICT (tenant) DO UPDATE SET seq = feed_head.seq + excluded.seq RETURNING seq`, tenant, n).Scan(&head); err != nil {
		return nil, err
	}
	for seq := head - n + 1; seq <= head; seq++ {
		out = append(out, seq)
	}
	return out, nil
}

var recordColumns = []string{"tenant", "id", "type", "version", "deleted", "status", "state"}

// PutRecords copies the added records in (COPY streams the rows; one
// array per column of a push's records took a tenth of the push in
// growing the statement's buffer) and upserts the changed ones.
func (t *pgTx) PutRecords(ctx context.Context, tenant string, added, changed []*merge.Record) error {
	if len(added)+len(changed) == 0 {
		return nil
	}
	if err := t.lock(ctx, tenant); err != nil {
		return err
	}
	var buf []byte
	n, err := t.tx.CopyFrom(ctx, pgx.Identifier{"record"}, recordColumns, pgx.CopyFromSlice(len(added), func(i int) ([]any, error) {
		r := added[i]
		buf = appendRecord(buf[:0], r)
		return []any{tenant, r.ID, r.Type, r.Version, r.Deleted, caseStatus(r), buf}, nil
	}))
	if err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	if n != int64(len(added)) {
		return fmt.Errorf("write records: %d of %d added", n, len(added))
	}
	return t.replaceRecords(ctx, tenant, changed)
}

func (t *pgTx) replaceRecords(ctx context.Context, tenant string, rs []*merge.Record) error {
	if len(rs) == 0 {
		return nil
	}
	ids, types, statuses, states := make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs)), make([]string, len(rs))
	versions, deleted := make([]int64, len(rs)), make([]bool, len(rs))
	var buf []byte
	for i, r := range rs {
		buf = appendRecord(buf[:0], r)
		ids[i], types[i], versions[i], deleted[i], states[i] = r.ID, r.Type, r.Version, r.Deleted, string(buf)
		statuses[i] = caseStatus(r)
	}
	if _, err := t.tx.Exec(ctx, `INSERT INTO record(tenant, id, type, version, deleted, status, state)
		SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bigint[], $5::boolean[], $6::text[], $7::text[])
		ON CONFLICT (tenant, id) DO UPDATE SET version = excluded.version,
			deleted = excluded.deleted, status = excluded.status, state = excluded.state`,
		tenant, ids, types, versions, deleted, statuses, states); err != nil {
		return fmt.Errorf("write records: %w", err)
	}
	return nil
}

// caseStatus is the record's status column: a case's status, else "".
func caseStatus(r *merge.Record) string {
	if r.Type != string(domain.TypeCase) {
		return ""
	}
	return r.Fields["status"].Value
}

// PutInbox writes the rows in one statement (one array per column) and
// removes the others in another: two round trips at most.
func (t *pgTx) PutInbox(ctx context.Context, tenant string, put []InboxRow, drop []string) error {
	if len(put) == 0 && len(drop) == 0 {
		return nil
	}
	if err := t.lock(ctx, tenant); err != nil {
		return err
	}
	if len(put) > 0 {
		cols := make([][]string, 7)
		versions := make([]int64, len(put))
		for i, r := range put {
			for c, v := range []string{r.RecordID, r.Status, r.ServiceID, r.VisitID, r.Day, r.Clerk, r.ArrivedAt} {
				cols[c] = append(cols[c], v)
			}
			versions[i] = r.Version
		}
		if _, err := t.tx.Exec(ctx, `INSERT INTO office_case(tenant, record_id, status, service_id, visit_id, day, clerk,
			arrived_at, version) SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
			$7::text[], $8::text[], $9::bigint[]) ON CONFLICT (tenant, record_id) DO UPDATE SET status = excluded.status,
			service_id = excluded.service_id, visit_id = excluded.visit_id, day = excluded.day, clerk = excluded.clerk,
			arrived_at = excluded.arrived_at, version = excluded.version`,
			tenant, cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], versions); err != nil {
			return fmt.Errorf("write inbox: %w", err)
		}
	}
	if len(drop) > 0 {
		if _, err := t.tx.Exec(ctx, `DELETE FROM office_case WHERE tenant = $1 AND record_id = ANY($2)`,
			tenant, drop); err != nil {
			return fmt.Errorf("write inbox: %w", err)
		}
	}
	return nil
}

func (t *pgTx) AttachmentComplete(ctx context.Context, ref AttachmentRef) (bool, error) {
	if err := t.lock(ctx, ref.Tenant); err != nil {
		return false, err
	}
	var complete bool
	err := t.tx.QueryRow(ctx, `SELECT complete FROM attachment WHERE tenant = $1 AND record_id = $2 AND sha256 = $3`,
		ref.Tenant, ref.RecordID, ref.SHA256).Scan(&complete)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read attachment %s: %w", ref, err)
	}
	return complete, nil
}

// Audit chain heads (chain.go).

const pqChainCols = `device, count, hash, flag, flag_detail, flagged_at, updated_at`

func pgScanChain(row pgx.Row) (DeviceChain, error) {
	var c DeviceChain
	var flagged, updated *string
	if err := row.Scan(&c.Device, &c.Count, &c.Hash, &c.Flag, &c.FlagDetail, &flagged, &updated); err != nil {
		return DeviceChain{}, err
	}
	c.FlaggedAt, c.UpdatedAt = pgTime(flagged), pgTime(updated)
	return c, nil
}

func (t *pgTx) DeviceChain(ctx context.Context, device string) (DeviceChain, bool, error) {
	c, err := pgScanChain(t.tx.QueryRow(ctx, `SELECT `+pqChainCols+` FROM device_chain WHERE device = $1`, device))
	if errors.Is(err, pgx.ErrNoRows) {
		return DeviceChain{}, false, nil
	}
	if err != nil {
		return DeviceChain{}, false, fmt.Errorf("read audit head of %s: %w", device, err)
	}
	return c, true, nil
}

func (t *pgTx) PutDeviceChain(ctx context.Context, c DeviceChain) error {
	var flagged *string
	if !c.FlaggedAt.IsZero() {
		f := fmtTime(c.FlaggedAt)
		flagged = &f
	}
	_, err := t.tx.Exec(ctx, `INSERT INTO device_chain(`+pqChainCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (device) DO UPDATE SET count = excluded.count, hash = excluded.hash, flag = excluded.flag,
		flag_detail = excluded.flag_detail, flagged_at = excluded.flagged_at, updated_at = excluded.updated_at`,
		c.Device, c.Count, c.Hash, c.Flag, c.FlagDetail, flagged, fmtTime(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("write audit head of %s: %w", c.Device, err)
	}
	return nil
}

func (s *pgStore) DeviceChains(ctx context.Context, tenant string) (map[string]DeviceChain, error) {
	rows, err := s.r.Query(ctx, `SELECT `+pqChainCols+` FROM device_chain
		WHERE device IN (SELECT id FROM device WHERE tenant = $1)`, tenant)
	if err != nil {
		return nil, fmt.Errorf("list audit heads: %w", pgClassify(err))
	}
	defer rows.Close()
	out := map[string]DeviceChain{}
	for rows.Next() {
		c, err := pgScanChain(rows)
		if err != nil {
			return nil, fmt.Errorf("list audit heads: %w", pgClassify(err))
		}
		out[c.Device] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit heads: %w", pgClassify(err))
	}
	return out, nil
}

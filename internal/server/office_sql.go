package server

// This file implements OfficeStore once, in SQL both databases speak
// ("?" placeholders, which the PostgreSQL side numbers). Each backend
// gives it three ways to reach its database (officeDB).

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/merge"
)

// officeDB is a backend's way to its database for office_sql.go.
type officeDB interface {
	// exec runs one write statement and returns the rows it touched.
	exec(ctx context.Context, q string, args ...any) (int64, error)
	// tx runs fn in one write transaction; exec inside fn belongs to it.
	tx(ctx context.Context, fn func(exec func(q string, args ...any) (int64, error)) error) error
	// query reads, calling row for each result row.
	query(ctx context.Context, q string, args []any, row func(scan func(dst ...any) error) error) error
}

// officeSQL implements OfficeStore over an officeDB. Both stores embed it.
type officeSQL struct{ db officeDB }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return fmtTime(t)
}

func parseText(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeFormat, s)
	if err != nil {
		return time.Time{}
	}
	return t
}

func (o officeSQL) AddStaff(ctx context.Context, st Staff) error {
	n, err := o.db.exec(ctx, `INSERT INTO office_staff(username, tenant, role, password_hash, created_at, disabled_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (username) DO NOTHING`,
		st.Username, st.Tenant, st.Role, st.PasswordHash, fmtTime(st.CreatedAt), nullTime(st.DisabledAt))
	if err != nil {
		return fmt.Errorf("add staff: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("staff member: %w", ErrExists)
	}
	return nil
}

const staffCols = `username, tenant, role, password_hash, created_at, coalesce(disabled_at, '')`

func (o officeSQL) staff(ctx context.Context, where string, args ...any) ([]Staff, error) {
	var out []Staff
	err := o.db.query(ctx, `SELECT `+staffCols+` FROM office_staff WHERE `+where+` ORDER BY username`, args,
		func(scan func(...any) error) error {
			var st Staff
			var created, disabled string
			if err := scan(&st.Username, &st.Tenant, &st.Role, &st.PasswordHash, &created, &disabled); err != nil {
				return err
			}
			st.CreatedAt, st.DisabledAt = parseText(created), parseText(disabled)
			out = append(out, st)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read staff: %w", err)
	}
	return out, nil
}

func (o officeSQL) StaffByName(ctx context.Context, username string) (Staff, error) {
	sts, err := o.staff(ctx, `username = ?`, username)
	if err != nil {
		return Staff{}, err
	}
	if len(sts) == 0 {
		return Staff{}, fmt.Errorf("staff member: %w", ErrNotFound)
	}
	return sts[0], nil
}

func (o officeSQL) StaffList(ctx context.Context, tenant string) ([]Staff, error) {
	return o.staff(ctx, `tenant = ?`, tenant)
}

func (o officeSQL) SetStaffDisabled(ctx context.Context, tenant, username string, at time.Time) error {
	return o.db.tx(ctx, func(exec func(string, ...any) (int64, error)) error {
		n, err := exec(`UPDATE office_staff SET disabled_at = ? WHERE tenant = ? AND username = ?`, nullTime(at), tenant, username)
		if err != nil {
			return fmt.Errorf("disable staff: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("staff member: %w", ErrNotFound)
		}
		if !at.IsZero() {
			if _, err := exec(`DELETE FROM office_session WHERE username = ?`, username); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		return nil
	})
}

func (o officeSQL) SetStaffPassword(ctx context.Context, tenant, username, hash string) error {
	return o.db.tx(ctx, func(exec func(string, ...any) (int64, error)) error {
		n, err := exec(`UPDATE office_staff SET password_hash = ? WHERE tenant = ? AND username = ?`, hash, tenant, username)
		if err != nil {
			return fmt.Errorf("set password: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("staff member: %w", ErrNotFound)
		}
		if _, err := exec(`DELETE FROM office_session WHERE username = ?`, username); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		return nil
	})
}

func (o officeSQL) DeleteStaff(ctx context.Context, tenant, username string) error {
	return o.db.tx(ctx, func(exec func(string, ...any) (int64, error)) error {
		if _, err := exec(`DELETE FROM office_session WHERE username = ? AND tenant = ?`, username, tenant); err != nil {
			return fmt.Errorf("end sessions: %w", err)
		}
		n, err := exec(`DELETE FROM office_staff WHERE tenant = ? AND username = ?`, tenant, username)
		if err != nil {
			return fmt.Errorf("delete staff: %w", err)
		}
		if n == 0 {
			return fmt.Errorf("staff member: %w", ErrNotFound)
		}
		return nil
	})
}

func (o officeSQL) AddSession(ctx context.Context, s OfficeSession) error {
	if _, err := o.db.exec(ctx, `INSERT INTO office_session(token_hash, username, tenant, csrf, created_at, last_seen_at, addr)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, s.TokenHash, s.Username, s.Tenant, s.CSRF, fmtTime(s.CreatedAt),
		fmtTime(s.LastSeenAt), s.Addr); err != nil {
		return fmt.Errorf("add session: %w", err)
	}
	return nil
}

func (o officeSQL) SessionByHash(ctx context.Context, tokenHash string) (OfficeSession, error) {
	var out []OfficeSession
	err := o.db.query(ctx, `SELECT s.token_hash, s.username, s.tenant, st.role, s.csrf, s.created_at, s.last_seen_at, s.addr
		FROM office_session s JOIN office_staff st ON st.username = s.username AND st.tenant = s.tenant
		WHERE s.token_hash = ? AND st.disabled_at IS NULL`, []any{tokenHash}, func(scan func(...any) error) error {
		var s OfficeSession
		var created, seen string
		if err := scan(&s.TokenHash, &s.Username, &s.Tenant, &s.Role, &s.CSRF, &created, &seen, &s.Addr); err != nil {
			return err
		}
		s.CreatedAt, s.LastSeenAt = parseText(created), parseText(seen)
		out = append(out, s)
		return nil
	})
	if err != nil {
		return OfficeSession{}, fmt.Errorf("read session: %w", err)
	}
	if len(out) == 0 {
		return OfficeSession{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	return out[0], nil
}

func (o officeSQL) TouchSession(ctx context.Context, tokenHash string, at time.Time) error {
	if _, err := o.db.exec(ctx, `UPDATE office_session SET last_seen_at = ? WHERE token_hash = ?`, fmtTime(at), tokenHash); err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

func (o officeSQL) DeleteSession(ctx context.Context, tokenHash string) error {
	if _, err := o.db.exec(ctx, `DELETE FROM office_session WHERE token_hash = ?`, tokenHash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

func (o officeSQL) PurgeSessions(ctx context.Context, idle, created time.Time) error {
	if _, err := o.db.exec(ctx, `DELETE FROM office_session WHERE last_seen_at < ? OR created_at < ?`,
		fmtTime(idle), fmtTime(created)); err != nil {
		return fmt.Errorf("purge sessions: %w", err)
	}
	return nil
}

func (o officeSQL) AddLoginFailure(ctx context.Context, keys []string, at time.Time) error {
	return o.db.tx(ctx, func(exec func(string, ...any) (int64, error)) error {
		for _, k := range keys {
			if _, err := exec(`INSERT INTO office_login_failure(key, at) VALUES (?, ?)`, k, fmtTime(at)); err != nil {
				return fmt.Errorf("note failed sign-in: %w", err)
			}
		}
		// Forget what no longer counts (a day old), so the table stays small.
		if _, err := exec(`DELETE FROM office_login_failure WHERE at < ?`, fmtTime(at.Add(-24*time.Hour))); err != nil {
			return fmt.Errorf("note failed sign-in: %w", err)
		}
		return nil
	})
}

func (o officeSQL) LoginFailures(ctx context.Context, key string, since time.Time) (int, time.Time, error) {
	var n int64
	var oldest string
	err := o.db.query(ctx, `SELECT count(*), coalesce(min(at), '') FROM office_login_failure WHERE key = ? AND at >= ?`,
		[]any{key, fmtTime(since)}, func(scan func(...any) error) error { return scan(&n, &oldest) })
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("count failed sign-ins: %w", err)
	}
	return int(n), parseText(oldest), nil
}

func (o officeSQL) ClearLoginFailures(ctx context.Context, key string) error {
	if _, err := o.db.exec(ctx, `DELETE FROM office_login_failure WHERE key = ?`, key); err != nil {
		return fmt.Errorf("clear failed sign-ins: %w", err)
	}
	return nil
}

func (o officeSQL) AddOfficeAudit(ctx context.Context, e OfficeAuditEntry) error {
	if _, err := o.db.exec(ctx, `INSERT INTO office_audit(tenant, at, username, action, record_id, addr, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, e.Tenant, fmtTime(e.At), e.Username, e.Action, e.Record, e.Addr, e.Detail); err != nil {
		return fmt.Errorf("write office audit: %w", err)
	}
	return nil
}

func (o officeSQL) OfficeAudit(ctx context.Context, tenant string, before int64, n int) ([]OfficeAuditEntry, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	var out []OfficeAuditEntry
	err := o.db.query(ctx, `SELECT id, tenant, at, username, action, record_id, addr, detail FROM office_audit
		WHERE tenant = ? AND id < ? ORDER BY id DESC LIMIT ?`, []any{tenant, before, n}, func(scan func(...any) error) error {
		var e OfficeAuditEntry
		var at string
		if err := scan(&e.ID, &e.Tenant, &at, &e.Username, &e.Action, &e.Record, &e.Addr, &e.Detail); err != nil {
			return err
		}
		e.At = parseText(at)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read office audit: %w", err)
	}
	return out, nil
}

func (o officeSQL) Inbox(ctx context.Context, q InboxQuery) ([]InboxRow, error) {
	if len(q.Statuses) > 1 {
		return o.inboxMerged(ctx, q)
	}
	// The table holds inbox statuses only: without a status filter the
	// query walks the arrival index alone.
	where := []string{`tenant = ?`}
	args := []any{q.Tenant}
	if len(q.Statuses) > 0 {
		where = append(where, `status IN (`+inList(len(q.Statuses))+`)`)
		for _, s := range q.Statuses {
			args = append(args, s)
		}
	}
	for _, f := range []struct{ col, val string }{{"service_id", q.ServiceID}, {"visit_id", q.VisitID}, {"day", q.Day}, {"clerk", q.Clerk}} {
		if f.val != "" {
			where = append(where, f.col+` = ?`)
			args = append(args, f.val)
		}
	}
	if q.AfterArrived != "" || q.AfterRecordID != "" {
		where = append(where, `(arrived_at, record_id) < (?, ?)`)
		args = append(args, q.AfterArrived, q.AfterRecordID)
	}
	if q.Limit <= 0 {
		q.Limit = 50
	}
	args = append(args, q.Limit)
	var out []InboxRow
	err := o.db.query(ctx, `SELECT record_id, status, service_id, visit_id, day, clerk, arrived_at, version FROM office_case
		WHERE `+strings.Join(where, ` AND `)+` ORDER BY arrived_at DESC, record_id DESC LIMIT ?`, args,
		func(scan func(...any) error) error {
			var r InboxRow
			if err := scan(&r.RecordID, &r.Status, &r.ServiceID, &r.VisitID, &r.Day, &r.Clerk, &r.ArrivedAt, &r.Version); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read inbox: %w", err)
	}
	return out, nil
}

func (o officeSQL) InboxCounts(ctx context.Context, tenant string) (map[string]int, error) {
	out := map[string]int{}
	err := o.db.query(ctx, `SELECT status, count(*) FROM office_case WHERE tenant = ? GROUP BY status`, []any{tenant},
		func(scan func(...any) error) error {
			var s string
			var n int64
			if err := scan(&s, &n); err != nil {
				return err
			}
			out[s] = int(n)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("count inbox: %w", err)
	}
	return out, nil
}

func (o officeSQL) RecordChanges(ctx context.Context, tenant, recordID string) ([]ChangeRow, error) {
	var out []ChangeRow
	err := o.db.query(ctx, `SELECT id, record_id, record_type, op, fields, plain, base_version, version, hlc, device, clerk,
		created_at, received_at FROM change WHERE tenant = ? AND record_id = ? ORDER BY seq`, []any{tenant, recordID},
		func(scan func(...any) error) error {
			c := ChangeRow{Tenant: tenant}
			var received string
			if err := scan(&c.ID, &c.RecordID, &c.RecordType, &c.Op, &c.Fields, &c.Plain, &c.BaseVersion, &c.Version,
				&c.HLC, &c.Device, &c.Clerk, &c.CreatedAt, &received); err != nil {
				return err
			}
			c.ReceivedAt = parseText(received)
			out = append(out, c)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read changes of record %s: %w", recordID, err)
	}
	return out, nil
}

func (o officeSQL) RecordsOfType(ctx context.Context, tenant, typ string, fn func(*merge.Record) error) error {
	var states []string
	err := o.db.query(ctx, `SELECT state FROM record WHERE tenant = ? AND type = ?`, []any{tenant, typ},
		func(scan func(...any) error) error {
			var s string
			if err := scan(&s); err != nil {
				return err
			}
			states = append(states, s)
			return nil
		})
	if err != nil {
		return fmt.Errorf("read %s records: %w", typ, err)
	}
	for _, s := range states {
		var r merge.Record
		if err := json.Unmarshal([]byte(s), &r); err != nil {
			return fmt.Errorf("read %s records: %w", typ, err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// officeCase is the inbox row of a record, ok false if the record is not
// a case in the inbox (a draft, a deleted case, another type).
func officeCase(r *merge.Record) (row InboxRow, ok bool) {
	if r.Type != string(domain.TypeCase) || r.Deleted {
		return row, false
	}
	v := func(name string) string { return r.Fields[name].Value }
	row = InboxRow{RecordID: r.ID, Status: v("status"), ServiceID: v("service_id"), VisitID: v("visit_id"),
		Clerk: v("created_by"), Version: r.Version}
	inbox := false
	for _, s := range InboxStatuses {
		inbox = inbox || s == row.Status
	}
	if !inbox {
		return row, false
	}
	arrived := v("sealed_at")
	if arrived == "" {
		arrived = v("created_at")
	}
	row.ArrivedAt = fixedWidth(arrived)
	if row.Day = fixedWidth(v("created_at")); len(row.Day) > 10 {
		row.Day = row.Day[:10]
	}
	return row, true
}

// fixedWidth rewrites an RFC 3339 time (as laptops write it) in the
// store's fixed-width form, so that times compare as strings; text that
// is no such time stays as it is.
func fixedWidth(s string) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return fmtTime(t)
}

// pgPlaceholders numbers the "?" of q as PostgreSQL's $1, $2, ….
func pgPlaceholders(q string) string {
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// inboxMerged answers a query for several statuses as one query per
// status, each walking its status's index in order, merged: a database
// asked for "status IN (…) ORDER BY arrival" reads and sorts every case
// of those statuses instead.
func (o officeSQL) inboxMerged(ctx context.Context, q InboxQuery) ([]InboxRow, error) {
	var all []InboxRow
	for _, st := range q.Statuses {
		one := q
		one.Statuses = []string{st}
		rows, err := o.Inbox(ctx, one)
		if err != nil {
			return nil, err
		}
		all = append(all, rows...)
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].ArrivedAt != all[j].ArrivedAt {
			return all[i].ArrivedAt > all[j].ArrivedAt
		}
		return all[i].RecordID > all[j].RecordID
	})
	if q.Limit <= 0 {
		q.Limit = 50
	}
	if len(all) > q.Limit {
		all = all[:q.Limit]
	}
	return all, nil
}

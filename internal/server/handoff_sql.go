package server

// This file implements HandoffStore once, in SQL both databases speak,
// over the same officeDB ways to the database as office_sql.go.

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// handoffSQL implements HandoffStore over an officeDB. Both stores embed it.
type handoffSQL struct{ db officeDB }

func (h handoffSQL) PutHandoffRoute(ctx context.Context, r HandoffRoute) error {
	if _, err := h.db.exec(ctx, `INSERT INTO handoff_route(tenant, service, destination_id, created_at, created_by)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, service) DO UPDATE SET destination_id = excluded.destination_id,
		created_at = excluded.created_at, created_by = excluded.created_by`,
		r.Tenant, r.Service, r.DestinationID, fmtTime(r.CreatedAt), r.CreatedBy); err != nil {
		return fmt.Errorf("write route: %w", err)
	}
	return nil
}

func (h handoffSQL) HandoffRoutes(ctx context.Context, tenant string) ([]HandoffRoute, error) {
	var out []HandoffRoute
	err := h.db.query(ctx, `SELECT tenant, service, destination_id, created_at, created_by FROM handoff_route
		WHERE tenant = ? OR ? = '' ORDER BY tenant, service`, []any{tenant, tenant}, func(scan func(...any) error) error {
		var r HandoffRoute
		var at string
		if err := scan(&r.Tenant, &r.Service, &r.DestinationID, &at, &r.CreatedBy); err != nil {
			return err
		}
		r.CreatedAt = parseText(at)
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read routes: %w", err)
	}
	return out, nil
}

func (h handoffSQL) HandoffCounts(ctx context.Context, tenant string) ([]HandoffCount, error) {
	var out []HandoffCount
	err := h.db.query(ctx, `SELECT tenant, service, step, count(*) FROM handoff_case WHERE tenant = ? OR ? = ''
		GROUP BY tenant, service, step ORDER BY tenant, service, step`, []any{tenant, tenant},
		func(scan func(...any) error) error {
			var c HandoffCount
			var n int64
			if err := scan(&c.Tenant, &c.Service, &c.Step, &n); err != nil {
				return err
			}
			c.N = int(n)
			out = append(out, c)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("count hand-offs: %w", err)
	}
	return out, nil
}

func (h handoffSQL) TakeHandoffLease(ctx context.Context, tenant, owner string, now, until time.Time) error {
	n, err := h.db.exec(ctx, `INSERT INTO handoff_worker(tenant, feed_seq, owner, lease_until) VALUES (?, 0, ?, ?)
		ON CONFLICT (tenant) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
		WHERE handoff_worker.owner = excluded.owner OR handoff_worker.owner = '' OR handoff_worker.lease_until < ?`,
		tenant, owner, fmtTime(until), fmtTime(now))
	if err != nil {
		return fmt.Errorf("take hand-off lease of %s: %w", tenant, err)
	}
	if n == 0 {
		return fmt.Errorf("tenant %s: %w", tenant, ErrLeaseHeld)
	}
	return nil
}

func (h handoffSQL) ReleaseHandoffLease(ctx context.Context, tenant, owner string) error {
	if _, err := h.db.exec(ctx, `UPDATE handoff_worker SET owner = '', lease_until = '' WHERE tenant = ? AND owner = ?`,
		tenant, owner); err != nil {
		return fmt.Errorf("release hand-off lease of %s: %w", tenant, err)
	}
	return nil
}

// scanned is a case change read by ScanHandoff.
type scanned struct {
	seq             int64
	id              string
	status, service string
}

func (h handoffSQL) ScanHandoff(ctx context.Context, tenant string, n int, now time.Time) (int, bool, error) {
	var after int64
	err := h.db.query(ctx, `SELECT feed_seq FROM handoff_worker WHERE tenant = ?`, []any{tenant},
		func(scan func(...any) error) error { return scan(&after) })
	if err != nil {
		return 0, false, fmt.Errorf("scan feed for hand-off: %w", err)
	}
	var rows []scanned
	err = h.db.query(ctx, `SELECT c.seq, c.record_id, coalesce(oc.status, ''), coalesce(oc.service_id, '')
		FROM change c LEFT JOIN office_case oc ON oc.tenant = c.tenant AND oc.record_id = c.record_id
		WHERE c.tenant = ? AND c.seq > ? AND c.record_type = 'case' ORDER BY c.seq LIMIT ?`, []any{tenant, after, n},
		func(scan func(...any) error) error {
			var s scanned
			if err := scan(&s.seq, &s.id, &s.status, &s.service); err != nil {
				return err
			}
			rows = append(rows, s)
			return nil
		})
	if err != nil {
		return 0, false, fmt.Errorf("scan feed for hand-off: %w", err)
	}
	if len(rows) == 0 {
		return 0, true, nil
	}
	added, err := h.addDue(ctx, tenant, rows, now)
	return added, len(rows) < n, err
}

// addDue adds the sealed cases among rows as due, each at its last seq
// in rows, and moves the tenant's scan past rows, in one transaction.
func (h handoffSQL) addDue(ctx context.Context, tenant string, rows []scanned, now time.Time) (int, error) {
	last := map[string]scanned{}
	var order []string
	for _, r := range rows {
		if r.status != "sealed" {
			continue
		}
		if _, ok := last[r.id]; !ok {
			order = append(order, r.id)
		}
		last[r.id] = r
	}
	added := 0
	err := h.db.tx(ctx, func(exec func(string, ...any) (int64, error)) error {
		for _, id := range order {
			r := last[id]
			n, err := exec(`INSERT INTO handoff_case(tenant, case_id, service, feed_seq, destination_id, submission_id,
				fitconnect_case_id, step, attachments_done, attempts, last_error, next_attempt_at, submitted_at, status,
				reason, event_offset, events_refused, created_at, updated_at)
				VALUES (?, ?, ?, ?, '', '', '', ?, '[]', 0, '', '', '', '', '', 0, 0, ?, ?)
				ON CONFLICT (tenant, case_id) DO NOTHING`, tenant, r.id, r.service, r.seq, StepDue, fmtTime(now), fmtTime(now))
			if err != nil {
				return fmt.Errorf("add case %s: %w", id, err)
			}
			added += int(n)
		}
		_, err := exec(`INSERT INTO handoff_worker(tenant, feed_seq, owner, lease_until) VALUES (?, ?, '', '')
			ON CONFLICT (tenant) DO UPDATE SET feed_seq = excluded.feed_seq WHERE handoff_worker.feed_seq < excluded.feed_seq`,
			tenant, rows[len(rows)-1].seq)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("scan feed for hand-off: %w", err)
	}
	return added, nil
}

const handoffCols = `tenant, case_id, service, feed_seq, destination_id, submission_id, fitconnect_case_id, step,
	attachments_done, attempts, last_error, next_attempt_at, submitted_at, status, reason, event_offset, events_refused,
	created_at, updated_at`

func (h handoffSQL) HandoffCases(ctx context.Context, q HandoffQuery) ([]HandoffCase, error) {
	where := []string{`tenant = ?`, `feed_seq > ?`}
	args := []any{q.Tenant, q.AfterSeq}
	if len(q.Steps) > 0 {
		where = append(where, `step IN (`+inList(len(q.Steps))+`)`)
		for _, s := range q.Steps {
			args = append(args, s)
		}
	}
	if q.Routed {
		where = append(where, `service IN (SELECT service FROM handoff_route r WHERE r.tenant = handoff_case.tenant)`)
	}
	if q.StatusBehind {
		where = append(where, `status <> step`)
	}
	if !q.Due.IsZero() {
		where = append(where, `next_attempt_at <= ?`)
		args = append(args, fmtTime(q.Due))
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	args = append(args, q.Limit)
	return h.cases(ctx, strings.Join(where, ` AND `)+` ORDER BY feed_seq, case_id LIMIT ?`, args)
}

func (h handoffSQL) HandoffCase(ctx context.Context, tenant, caseID string) (HandoffCase, error) {
	cs, err := h.cases(ctx, `tenant = ? AND case_id = ?`, []any{tenant, caseID})
	if err != nil {
		return HandoffCase{}, err
	}
	if len(cs) == 0 {
		return HandoffCase{}, fmt.Errorf("hand-off of case %s: %w", caseID, ErrNotFound)
	}
	return cs[0], nil
}

func (h handoffSQL) cases(ctx context.Context, where string, args []any) ([]HandoffCase, error) {
	var out []HandoffCase
	err := h.db.query(ctx, `SELECT `+handoffCols+` FROM handoff_case WHERE `+where, args, func(scan func(...any) error) error {
		var c HandoffCase
		var done, next, submitted, created, updated string
		var attempts, offset, refused int64
		if err := scan(&c.Tenant, &c.CaseID, &c.Service, &c.FeedSeq, &c.DestinationID, &c.SubmissionID,
			&c.FitConnectCaseID, &c.Step, &done, &attempts, &c.LastError, &next, &submitted, &c.Status, &c.Reason,
			&offset, &refused, &created, &updated); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(done), &c.AttachmentsDone); err != nil {
			return fmt.Errorf("case %s: attachments done: %w", c.CaseID, err)
		}
		c.Attempts, c.EventOffset, c.EventsRefused = int(attempts), int(offset), int(refused)
		c.NextAttemptAt, c.SubmittedAt = parseText(next), parseText(submitted)
		c.CreatedAt, c.UpdatedAt = parseText(created), parseText(updated)
		out = append(out, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read hand-offs: %w", err)
	}
	return out, nil
}

func (h handoffSQL) CaseStatus(ctx context.Context, tenant, caseID string) (string, error) {
	var status string
	err := h.db.query(ctx, `SELECT status FROM office_case WHERE tenant = ? AND record_id = ?`, []any{tenant, caseID},
		func(scan func(...any) error) error { return scan(&status) })
	if err != nil {
		return "", fmt.Errorf("status of case %s: %w", caseID, err)
	}
	return status, nil
}

func (h handoffSQL) UpdateHandoffCase(ctx context.Context, c HandoffCase) error {
	done := c.AttachmentsDone
	if done == nil {
		done = []string{}
	}
	b, err := json.Marshal(done)
	if err != nil {
		return fmt.Errorf("write hand-off of case %s: %w", c.CaseID, err)
	}
	n, err := h.db.exec(ctx, `UPDATE handoff_case SET destination_id = ?, submission_id = ?, fitconnect_case_id = ?,
		step = ?, attachments_done = ?, attempts = ?, last_error = ?, next_attempt_at = ?, submitted_at = ?, status = ?,
		reason = ?, event_offset = ?, events_refused = ?, updated_at = ? WHERE tenant = ? AND case_id = ?`,
		c.DestinationID, c.SubmissionID, c.FitConnectCaseID, c.Step, string(b), c.Attempts, c.LastError,
		textTime(c.NextAttemptAt), textTime(c.SubmittedAt), c.Status, c.Reason, c.EventOffset, c.EventsRefused,
		fmtTime(c.UpdatedAt), c.Tenant, c.CaseID)
	if err != nil {
		return fmt.Errorf("write hand-off of case %s: %w", c.CaseID, err)
	}
	if n == 0 {
		return fmt.Errorf("hand-off of case %s: %w", c.CaseID, ErrNotFound)
	}
	return nil
}

// textTime is a time as the store's fixed-width text, "" for the zero time
// (the hand-off tables have no NULLs: "" sorts before every time).
func textTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return fmtTime(t)
}

package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Change is one outbox entry as `syncd agent` sees it: field names, plain
// values and versions in clear; personal values only as sealed bytes.
type Change struct {
	Seq          int64
	ID           string
	RecordID     string
	RecordType   domain.RecordType
	Op           Op
	Fields       []string
	PlainValues  map[string]FieldChange
	SecretValues []byte // AES-256-GCM under the record's content key
	KeyID        string
	BaseVersion  int64
	HLC          hlc.Timestamp
	DeviceID     string
	ClerkID      string
	CreatedAt    time.Time
	Pushed       bool
}

// Changes calls fn for each outbox entry after seq afterSeq, in order, at
// most limit entries (all if limit <= 0), streaming from the database. With
// pendingOnly it skips entries already pushed.
func (s *Store) Changes(ctx context.Context, afterSeq int64, limit int, pendingOnly bool, fn func(Change) error) error {
	q := `SELECT seq, id, record_id, record_type, op, fields, plain_values, secret_values, key_id,
		base_version, hlc, device_id, clerk_id, created_at, pushed_at IS NOT NULL
		FROM change_log WHERE seq > ?`
	if pendingOnly {
		q += ` AND pushed_at IS NULL AND rejected IS NULL`
	}
	q += ` ORDER BY seq`
	if limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, limit)
	}
	rows, err := s.r.QueryContext(ctx, q, afterSeq)
	if err != nil {
		return fmt.Errorf("store: read outbox: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c Change
		var typ, op, fields, plain, ts, at string
		if err := rows.Scan(&c.Seq, &c.ID, &c.RecordID, &typ, &op, &fields, &plain, &c.SecretValues, &c.KeyID,
			&c.BaseVersion, &ts, &c.DeviceID, &c.ClerkID, &at, &c.Pushed); err != nil {
			return fmt.Errorf("store: read outbox: %w", err)
		}
		c.RecordType, c.Op = domain.RecordType(typ), Op(op)
		if err := json.Unmarshal([]byte(fields), &c.Fields); err != nil {
			return fmt.Errorf("store: outbox entry %d: fields: %w", c.Seq, err)
		}
		if err := json.Unmarshal([]byte(plain), &c.PlainValues); err != nil {
			return fmt.Errorf("store: outbox entry %d: values: %w", c.Seq, err)
		}
		if c.HLC, err = hlc.Parse(ts); err != nil {
			return fmt.Errorf("store: outbox entry %d: %w", c.Seq, err)
		}
		c.CreatedAt, _ = time.Parse(time.RFC3339Nano, at)
		if err := fn(c); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: read outbox: %w", err)
	}
	return nil
}

// Pending returns how many outbox entries are not yet pushed and their size
// in bytes (what the app shows as "pending").
func (s *Store) Pending(ctx context.Context) (count, bytes int64, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(length(plain_values) + coalesce(length(secret_values), 0)), 0)
		FROM change_log WHERE pushed_at IS NULL AND rejected IS NULL`).Scan(&count, &bytes)
	if err != nil {
		return 0, 0, fmt.Errorf("store: pending: %w", err)
	}
	return count, bytes, nil
}

// MarkPushed records that the server acknowledged the given changes.
func (s *Store) MarkPushed(ctx context.Context, changeIDs []string) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, `UPDATE change_log SET pushed_at = ? WHERE id = ? AND pushed_at IS NULL`)
		if err != nil {
			return fmt.Errorf("store: mark pushed: %w", err)
		}
		defer stmt.Close()
		now := fmtTime(s.now())
		for _, id := range changeIDs {
			if _, err := stmt.ExecContext(ctx, now, id); err != nil {
				return fmt.Errorf("store: mark pushed: %w", err)
			}
		}
		return nil
	})
}

// RejectedChange is an outbox entry the server refused for good: it stays
// on this laptop and never reaches the town hall, so the clerks must be
// told. Only plain metadata; the values stay sealed.
type RejectedChange struct {
	ID         string
	RecordID   string
	RecordType domain.RecordType
	Op         Op
	ClerkID    string
	CreatedAt  time.Time
	Reason     string // the server's words (ids, never values)
}

// Rejected returns the changes the server refused that no clerk has
// acknowledged yet, oldest first.
func (s *Store) Rejected(ctx context.Context) ([]RejectedChange, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, record_id, record_type, op, clerk_id, created_at, rejected
		FROM change_log WHERE rejected IS NOT NULL AND rejected_seen_at IS NULL ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("store: read rejected changes: %w", err)
	}
	defer rows.Close()
	var out []RejectedChange
	for rows.Next() {
		var c RejectedChange
		var at string
		if err := rows.Scan(&c.ID, &c.RecordID, &c.RecordType, &c.Op, &c.ClerkID, &at, &c.Reason); err != nil {
			return nil, fmt.Errorf("store: read rejected changes: %w", err)
		}
		c.CreatedAt, _ = time.Parse(time.RFC3339Nano, at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: read rejected changes: %w", err)
	}
	return out, nil
}

// RejectedCount returns how many refused changes wait for a clerk.
func (s *Store) RejectedCount(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM change_log
		WHERE rejected IS NOT NULL AND rejected_seen_at IS NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count rejected changes: %w", err)
	}
	return n, nil
}

// AcknowledgeRejected records that the clerk has taken note of a refused
// change (and told the town hall): it no longer counts as waiting. The
// entry, its reason and who acknowledged it when stay, and the audit log
// says so.
func (ss *Session) AcknowledgeRejected(ctx context.Context, changeID string) error {
	if _, err := ss.dataKey(); err != nil {
		return fmt.Errorf("store: acknowledge rejected change: %w", err)
	}
	st := ss.st
	err := st.writeTx(ctx, func(tx *sql.Tx) error {
		var recordType, recordID string
		err := st.txQueryRow(ctx, tx, `SELECT record_type, record_id FROM change_log
			WHERE id = ? AND rejected IS NOT NULL AND rejected_seen_at IS NULL`, changeID).Scan(&recordType, &recordID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // acknowledged meanwhile (another clerk), or never refused
		}
		if err != nil {
			return err
		}
		now := st.now()
		if _, err := st.txExec(ctx, tx, `UPDATE change_log SET rejected_seen_at = ?, rejected_seen_by = ? WHERE id = ?`,
			fmtTime(now), ss.clerk.ID, changeID); err != nil {
			return err
		}
		return ss.appendAudit(ctx, tx, AuditEntry{At: now, DeviceID: st.deviceID, ClerkID: ss.clerk.ID,
			Action: "change.rejection_acknowledged", RecordType: recordType, RecordID: recordID})
	})
	if err != nil {
		return fmt.Errorf("store: acknowledge rejected change %s: %w", changeID, err)
	}
	return nil
}

// The pipelined push's in-flight cursor. The agent reads and sends batch
// k+1 while it records the answer to batch k, so a batch is marked in
// flight (change_log.push_batch) before it is sent, and NextPush skips
// marked changes. AckPush clears the marks of the batch it records;
// ReleasePush clears those of a batch withdrawn unsent. A mark that
// outlives its push run (the agent was killed between sending a batch
// and recording the answer) means "sent, answer unknown": ResetPush, at
// the start of the next run, makes those changes pending again, and the
// server answers "duplicate" for the ones it had (a push is idempotent by
// change id). So a crash loses nothing, and nothing reaches the feed
// twice.

// ClaimPush returns what NextPush returns and marks its changes in flight
// as batch before returning, in outbox order; no changes, nothing marked.
func (s *Store) ClaimPush(ctx context.Context, max int, batch int64) (syncproto.PushRequest, error) {
	req, err := s.NextPush(ctx, max)
	if err != nil || len(req.Changes) == 0 {
		return req, err
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `UPDATE change_log SET push_batch = ?
			WHERE id IN (SELECT value FROM json_each(?)) AND pushed_at IS NULL AND rejected IS NULL`,
			batch, changeIDsJSON(req))
		return err
	})
	if err != nil {
		return syncproto.PushRequest{}, fmt.Errorf("store: claim push batch %d: %w", batch, err)
	}
	return req, nil
}

// ReleasePush clears the in-flight marks of a batch that was not sent
// (withdrawn, or refused before the server read it): its changes are
// pending again, in their old place.
func (s *Store) ReleasePush(ctx context.Context, req syncproto.PushRequest) error {
	if len(req.Changes) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error { return s.landBatch(ctx, tx, req) })
	if err != nil {
		return fmt.Errorf("store: release push: %w", err)
	}
	return nil
}

// ResetPush clears every in-flight mark, as a push run starts: a mark
// still there is from a run that ended without recording the answer (a
// crash, a lost connection). It returns how many changes were in flight;
// they are sent again. Cheap when there are none (an index of the marked
// rows, no write).
func (s *Store) ResetPush(ctx context.Context) (int64, error) {
	n, err := s.PushInFlight(ctx)
	if err != nil || n == 0 {
		return n, err
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `UPDATE change_log SET push_batch = NULL WHERE push_batch IS NOT NULL`)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: reset push: %w", err)
	}
	return n, nil
}

// PushInFlight returns how many changes are marked in flight.
func (s *Store) PushInFlight(ctx context.Context) (int64, error) {
	var n int64
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM change_log WHERE push_batch IS NOT NULL`).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: changes in flight: %w", err)
	}
	return n, nil
}

// landBatch clears the in-flight marks of a batch's changes in tx.
func (s *Store) landBatch(ctx context.Context, tx *sql.Tx, req syncproto.PushRequest) error {
	_, err := s.txExec(ctx, tx, `UPDATE change_log SET push_batch = NULL
		WHERE id IN (SELECT value FROM json_each(?)) AND push_batch IS NOT NULL`, changeIDsJSON(req))
	return err
}

func changeIDsJSON(req syncproto.PushRequest) string {
	ids := make([]string, len(req.Changes))
	for i, c := range req.Changes {
		ids[i] = c.ID
	}
	b, _ := json.Marshal(ids) // []string cannot fail
	return string(b)
}

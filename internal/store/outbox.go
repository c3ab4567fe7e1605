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

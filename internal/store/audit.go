package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// AuditEntry is one line of the audit log: who did what, when, on which
// device and record. It has no field for content, by design.
type AuditEntry struct {
	Seq        int64
	At         time.Time
	DeviceID   string
	ClerkID    string
	Action     string // "case.create", "session.unlock", ...
	RecordType string
	RecordID   string
	PrevHash   string
	Hash       string
}

// genesisHash is the PrevHash of the first entry.
var genesisHash = strings.Repeat("0", 64)

// ErrAuditBroken is returned by VerifyAudit when the chain does not hold.
var ErrAuditBroken = errors.New("store: audit chain broken")

// AuditBreak names the first entry at which the chain does not hold.
type AuditBreak struct {
	Seq    int64  // sequence number of the first broken entry
	Reason string // what did not match
}

func (b *AuditBreak) Error() string {
	return fmt.Sprintf("%v at entry %d: %s", ErrAuditBroken, b.Seq, b.Reason)
}

func (b *AuditBreak) Unwrap() error { return ErrAuditBroken }

// hashEntry hashes an entry's content and its predecessor's hash. JSON of a
// fixed array keeps the encoding unambiguous (no field can run into the next).
func hashEntry(e AuditEntry) string {
	b, _ := json.Marshal([]any{e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.DeviceID, e.ClerkID,
		e.Action, e.RecordType, e.RecordID, e.PrevHash}) // cannot fail: strings and an int
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// appendAudit adds an entry to the chain inside tx. The write transaction is
// immediate, so two processes never chain onto the same predecessor.
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	var last int64
	prev := genesisHash
	err := s.txQueryRow(ctx, tx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: read head: %w", err)
	}
	e.Seq, e.PrevHash = last+1, prev
	e.Hash = hashEntry(e)
	_, err = s.txExec(ctx, tx, `INSERT INTO audit_log(seq, at, device_id, clerk_id, action,
		record_type, record_id, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.DeviceID, e.ClerkID, e.Action,
		e.RecordType, e.RecordID, e.PrevHash, e.Hash)
	if err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Action, err)
	}
	return nil
}

// audit appends one entry in its own transaction (for events that change no
// record, such as a failed unlock).
func (s *Store) audit(ctx context.Context, clerkID, action, recordType, recordID string) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		return s.appendAudit(ctx, tx, AuditEntry{At: s.now(), DeviceID: s.deviceID, ClerkID: clerkID,
			Action: action, RecordType: recordType, RecordID: recordID})
	})
}

// AuditEntries calls fn for every entry in order, streaming.
func (s *Store) AuditEntries(ctx context.Context, fn func(AuditEntry) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, at, device_id, clerk_id, action, record_type,
		record_id, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("audit: read: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.Seq, &at, &e.DeviceID, &e.ClerkID, &e.Action, &e.RecordType,
			&e.RecordID, &e.PrevHash, &e.Hash); err != nil {
			return fmt.Errorf("audit: read: %w", err)
		}
		if e.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			// A malformed time is itself tampering; keep the zero time so the
			// hash check names this entry.
			e.At = time.Time{}
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit: read: %w", err)
	}
	return nil
}

// VerifyAudit walks the whole chain and returns the number of entries. If
// the chain does not hold it returns an *AuditBreak (wrapping
// ErrAuditBroken) naming the first broken entry: a modified entry fails its
// own hash, a deleted one leaves a gap in the sequence, an inserted one does
// not chain onto its predecessor.
func (s *Store) VerifyAudit(ctx context.Context) (int64, error) {
	var n int64
	want := AuditEntry{Seq: 0, Hash: genesisHash}
	err := s.AuditEntries(ctx, func(e AuditEntry) error {
		switch {
		case e.Seq != want.Seq+1:
			return &AuditBreak{Seq: e.Seq, Reason: fmt.Sprintf("sequence gap after entry %d (entries deleted or inserted)", want.Seq)}
		case e.PrevHash != want.Hash:
			return &AuditBreak{Seq: e.Seq, Reason: "does not chain onto the entry before it"}
		case hashEntry(e) != e.Hash:
			return &AuditBreak{Seq: e.Seq, Reason: "content does not match its hash (entry modified)"}
		}
		want = e
		n++
		return nil
	})
	return n, err
}

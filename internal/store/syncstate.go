package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/buergerkoffer/kit/internal/crypto"
)

// ErrNotEnrolled means the device has not redeemed an enrolment code yet.
var ErrNotEnrolled = errors.New("store: device not enrolled")

// Enrolment is what `syncd agent enroll` stores: enough to sync, nothing
// that opens personal data.
type Enrolment struct {
	ServerURL       string
	Tenant          string
	DeviceID        string // the server's id for this device
	Token           string
	ServerPublicKey string // PEM
	ServerKeyID     string
	CAPEM           string // pinned CA certificate (PEM), "" for the system pool
}

// Upload is an attachment waiting to be uploaded.
type Upload struct {
	SHA256   string // address: SHA-256 of the plain content
	RecordID string
	Size     int64 // of the sealed bytes
}

// Keys of sync_state, written by `syncd agent` and shown by the app.
const (
	StateOnline       = "online"        // "true" or "false"
	StatePhase        = "phase"         // idle, pushing, uploading, pulling, backoff
	StatePendingCount = "pending_count" // changes not yet pushed
	StatePendingBytes = "pending_bytes"
	StateLastSuccess  = "last_success" // RFC 3339
	StateLastAttempt  = "last_attempt"
	StateLastError    = "last_error" // in words a clerk understands, "" when fine
	StateNextAttempt  = "next_attempt"
	StateProgressDone = "progress_done" // of the running sync
	StateProgressAll  = "progress_total"
	StateConflicts    = "conflicts_open"
	StateCheckpoint   = "checkpoint" // last pulled seq, committed with the data
	StateRequest      = "request"    // set by the app: "sync now"
	StateAgentSeen    = "agent_seen" // the agent's heartbeat (RFC 3339), so the app can tell it runs
	// StateClockAhead: when the server last had to restamp a change of
	// this laptop because its clock ran ahead (RFC 3339); "" once a push
	// went through without.
	StateClockAhead = "clock_ahead"
	// StateUpdate: "laptop" or "server" while the two speak no common
	// protocol revision and that side needs an update; "" when they do.
	StateUpdate = "update_required"
)

// Enrolment returns what enrolment stored, or ErrNotEnrolled.
func (s *Store) Enrolment(ctx context.Context) (Enrolment, error) {
	vals := map[string]string{}
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM meta WHERE key LIKE 'enrol.%'`)
	if err != nil {
		return Enrolment{}, fmt.Errorf("store: enrolment: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return Enrolment{}, fmt.Errorf("store: enrolment: %w", err)
		}
		vals[k] = v
	}
	if err := rows.Err(); err != nil {
		return Enrolment{}, fmt.Errorf("store: enrolment: %w", err)
	}
	e := Enrolment{ServerURL: vals[metaServerURL], Tenant: vals[metaTenant], DeviceID: vals[metaServerID],
		Token: vals[metaToken], ServerPublicKey: vals[metaServerKey], ServerKeyID: vals[metaServerKeyID], CAPEM: vals[metaCA]}
	if e.ServerURL == "" || e.Token == "" || e.Tenant == "" {
		return Enrolment{}, ErrNotEnrolled
	}
	if e.Token, err = crypto.UnprotectLocal(e.Token); err != nil {
		return Enrolment{}, fmt.Errorf("store: enrolment: device token: %w", err)
	}
	return e, nil
}

// SaveEnrolment stores a redeemed enrolment. Re-enrolling (a revoked
// laptop given a new code) replaces the old one; the pull starts over,
// which is harmless as pulls are idempotent.
func (s *Store) SaveEnrolment(ctx context.Context, e Enrolment) error {
	if e.ServerURL == "" || e.Token == "" || e.Tenant == "" || e.ServerPublicKey == "" {
		return errors.New("store: save enrolment: server, tenant, token and server key are required")
	}
	if _, err := crypto.ParsePublicKeyPEM([]byte(e.ServerPublicKey)); err != nil {
		return fmt.Errorf("store: save enrolment: %w", err)
	}
	// The token is what lets anyone push and pull as this laptop: on
	// Windows it is kept under DPAPI (machine scope), so the file alone,
	// copied elsewhere, does not carry it.
	token, err := crypto.ProtectLocal(e.Token)
	if err != nil {
		return fmt.Errorf("store: save enrolment: %w", err)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		for k, v := range map[string]string{metaServerURL: e.ServerURL, metaTenant: e.Tenant, metaServerID: e.DeviceID,
			metaToken: token, metaServerKey: e.ServerPublicKey, metaServerKeyID: e.ServerKeyID, metaCA: e.CAPEM} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?)
				ON CONFLICT(key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
				return fmt.Errorf("store: save enrolment: %w", err)
			}
		}
		return s.appendAudit(ctx, tx, AuditEntry{At: s.now(), DeviceID: s.deviceID, ClerkID: agentClerk,
			Action: "device.enrolled", RecordType: "device", RecordID: s.deviceID})
	})
}

// SetServerKey stores the server's current public key (PEM) and its kid,
// as the server announces them after a key rotation: the app's next seal
// is made for it. A seal made before stays usable, as the server keeps its
// old keys. The kid must be the key's (crypto.KeyID); the same key again
// changes nothing. ErrNotEnrolled before enrolment.
func (s *Store) SetServerKey(ctx context.Context, publicPEM, kid string) error {
	pub, err := crypto.ParsePublicKeyPEM([]byte(publicPEM))
	if err != nil {
		return fmt.Errorf("store: server key: %w", err)
	}
	if got, err := crypto.KeyID(pub); err != nil || got != kid {
		return fmt.Errorf("store: server key: kid %q does not name the key", kid)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var cur string
		err := s.txQueryRow(ctx, tx, `SELECT value FROM meta WHERE key = ?`, metaServerKeyID).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotEnrolled
		}
		if err != nil {
			return fmt.Errorf("store: server key: %w", err)
		}
		if cur == kid {
			return nil
		}
		for k, v := range map[string]string{metaServerKey: publicPEM, metaServerKeyID: kid} {
			if _, err := s.txExec(ctx, tx, `UPDATE meta SET value = ? WHERE key = ?`, v, k); err != nil {
				return fmt.Errorf("store: server key: %w", err)
			}
		}
		return s.appendAudit(ctx, tx, AuditEntry{At: s.now(), DeviceID: s.deviceID, ClerkID: agentClerk,
			Action: "device.server_key_changed", RecordType: "device", RecordID: s.deviceID})
	})
}

// agentClerk is the clerk id of what `syncd agent` does on its own.
const agentClerk = "syncd-agent"

// SetSyncState records named values for the app.
func (s *Store) SetSyncState(ctx context.Context, kv map[string]string) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		return s.setSyncState(ctx, tx, kv)
	})
}

func (s *Store) setSyncState(ctx context.Context, tx *sql.Tx, kv map[string]string) error {
	now := fmtTime(s.now())
	for k, v := range kv {
		if _, err := s.txExec(ctx, tx, `INSERT INTO sync_state(key, value, updated_at) VALUES (?, ?, ?)
			ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, k, v, now); err != nil {
			return fmt.Errorf("store: sync state: %w", err)
		}
	}
	return nil
}

// SyncState returns everything the agent recorded (see the State* keys).
func (s *Store) SyncState(ctx context.Context) (map[string]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT key, value FROM sync_state`)
	if err != nil {
		return nil, fmt.Errorf("store: sync state: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("store: sync state: %w", err)
		}
		out[k] = v
	}
	return out, rows.Err()
}

// RequestSync asks the agent to sync now (the app's button); the agent
// notices through Watermark.
func (s *Store) RequestSync(ctx context.Context) error {
	return s.SetSyncState(ctx, map[string]string{StateRequest: fmtTime(s.now())})
}

// Watermark changes whenever there may be something new to push: a change
// entry, a seal (keys sealed after enrolment), or a sync request.
func (s *Store) Watermark(ctx context.Context) (string, error) {
	var w string
	err := s.r.QueryRowContext(ctx, `SELECT coalesce((SELECT max(seq) FROM change_log), 0) || '/' ||
		coalesce((SELECT count(*) FROM seal), 0) || '/' ||
		coalesce((SELECT value FROM sync_state WHERE key = 'request'), '')`).Scan(&w)
	if err != nil {
		return "", fmt.Errorf("store: watermark: %w", err)
	}
	return w, nil
}

// Checkpoint returns the seq after which the next pull starts.
func (s *Store) Checkpoint(ctx context.Context) (int64, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM sync_state WHERE key = ?`, StateCheckpoint).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store: checkpoint: %w", err)
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store: checkpoint %q: %w", v, err)
	}
	return n, nil
}

package store

// This file keeps the audit log: who did what, when, on which device and
// record, never the content (OPS.1.1.5, tamper-evident logs).
//
// The entries form a chain: each one carries its predecessor's MAC, and its
// own MAC covers its fields and that link, so a modified entry fails its
// MAC, a deleted one leaves a gap in the sequence and an inserted one does
// not link. The MAC is HMAC-SHA256 under one of two keys, named per entry
// in key_id:
//
//   - "device": derived (HKDF-SHA256) from the device data key. Only an
//     unlocked session holds it, so only someone who knows a clerk's
//     password can write or rewrite such an entry. Everything a clerk does
//     (creating and editing cases, sealing, unlocking) is keyed so.
//   - "agent": a random key kept in the audit_key table, for the entries
//     written with no session: `syncd agent` (enrolment, shredding after
//     the server's acknowledgement) and failed unlocks. The agent never
//     holds the data key, by design, so it cannot have the device key.
//
// The trade-off of the agent key: it sits in the field store beside the
// device token and is exactly as protected as that token (a later DPAPI
// wrapping of the token on Windows should wrap it too). Someone who can
// read and write the file can therefore forge or rewrite agent entries,
// but only at the end of the chain: the first device-keyed entry after
// them covers its predecessor's MAC and cannot be recomputed without a
// clerk's password. Entries from before this chain was keyed are marked
// "sha256" (plain SHA-256, as they were written); they may only precede
// every keyed entry.
//
// No key protects the end of the chain from being cut off: what remains
// is a valid chain. The anchor against that is the server. Every push
// carries the chain head (number of entries and the newest MAC) and the
// MAC at the position the server acknowledged last; the server keeps each
// device's head and flags one that went back or forked (internal/server,
// `syncd admin devices`), and `syncd audit verify --anchor N:MAC` checks a
// laptop against the head the server knew.
//
// Verifying device-keyed entries needs a clerk's password
// (Session.VerifyAudit, Store.CheckAudit, `syncd audit verify --user`).
// Without it, Store.VerifyAudit checks the sequence, every link, the agent
// and legacy entries, and counts the device-keyed entries it could not
// check. Legacy entries are counted apart, since a chain rewritten wholly
// as unkeyed entries is caught by the server's anchor only.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/syncproto"
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
	Hash       string // the entry's MAC (plain SHA-256 for KeyID "sha256")
	KeyID      string // AuditKeyDevice, AuditKeyAgent or AuditKeyLegacy
}

// The keys an entry's MAC is made with (AuditEntry.KeyID).
const (
	AuditKeyDevice = "device" // derived from the device data key
	AuditKeyAgent  = "agent"  // the agent's key in audit_key
	AuditKeyLegacy = "sha256" // written before the chain was keyed
)

// AuditHead is the newest entry of a chain: the number of entries (the seq
// of the newest, as seqs run from 1 without gaps) and its MAC.
type AuditHead struct {
	Count int64
	Hash  string
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

// auditKey is a MAC key and the id that names it in key_id.
type auditKey struct {
	id  string
	key crypto.MACKey
}

// entryBytes encodes what an entry's MAC covers. JSON of a fixed array
// keeps the encoding unambiguous (no field can run into the next).
func entryBytes(e AuditEntry, withKeyID bool) []byte {
	fields := []any{e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.DeviceID, e.ClerkID,
		e.Action, e.RecordType, e.RecordID, e.PrevHash}
	if withKeyID {
		fields = append(fields, e.KeyID)
	}
	b, _ := json.Marshal(fields) // cannot fail: strings and an int
	return b
}

// hashEntry is the plain SHA-256 of an entry written before the chain was
// keyed.
func hashEntry(e AuditEntry) string { return crypto.SHA256Hex(entryBytes(e, false)) }

// macEntry is the MAC of a keyed entry; the key id is covered too.
func macEntry(k auditKey, e AuditEntry) string {
	e.KeyID = k.id
	return crypto.MACHex(k.key, entryBytes(e, true))
}

// agentAuditKey reads the agent's audit key inside tx, making it on first
// use (in tx, so a rolled-back transaction leaves no key behind that an
// entry names).
func (s *Store) agentAuditKey(ctx context.Context, tx *sql.Tx) (auditKey, error) {
	var b []byte
	err := s.txQueryRow(ctx, tx, `SELECT mac_key FROM audit_key WHERE id = ?`, AuditKeyAgent).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		k, err := crypto.NewMACKey()
		if err != nil {
			return auditKey{}, fmt.Errorf("audit: agent key: %w", err)
		}
		// Kept like the device token: under DPAPI on Windows.
		stored, err := crypto.ProtectLocal(string(k[:]))
		if err != nil {
			return auditKey{}, fmt.Errorf("audit: agent key: %w", err)
		}
		if _, err := s.txExec(ctx, tx, `INSERT INTO audit_key(id, mac_key, created_at) VALUES (?, ?, ?)`,
			AuditKeyAgent, []byte(stored), fmtTime(s.now())); err != nil {
			return auditKey{}, fmt.Errorf("audit: store agent key: %w", err)
		}
		return auditKey{id: AuditKeyAgent, key: k}, nil
	}
	if err != nil {
		return auditKey{}, fmt.Errorf("audit: agent key: %w", err)
	}
	return keyFromBytes(AuditKeyAgent, b)
}

func keyFromBytes(id string, stored []byte) (auditKey, error) {
	k := auditKey{id: id}
	raw, err := crypto.UnprotectLocal(string(stored))
	if err != nil {
		return k, fmt.Errorf("audit key %s: %w", id, err)
	}
	b := []byte(raw)
	if len(b) != len(k.key) {
		return auditKey{}, fmt.Errorf("audit: %s key has %d bytes", id, len(b))
	}
	copy(k.key[:], b)
	return k, nil
}

// deviceAuditKey derives the device's audit key from its data key.
func deviceAuditKey(dk crypto.DataKey) (auditKey, error) {
	k, err := crypto.AuditMACKey(dk)
	if err != nil {
		return auditKey{}, fmt.Errorf("audit: %w", err)
	}
	return auditKey{id: AuditKeyDevice, key: k}, nil
}

// auditKey returns the session's audit key, or ErrLocked.
func (ss *Session) auditKey() (auditKey, error) {
	dk, err := ss.dataKey()
	if err != nil {
		return auditKey{}, err
	}
	return deviceAuditKey(dk)
}

// appendAudit adds an entry keyed by the agent's key: for what happens
// with no unlocked session (the agent, a failed unlock).
func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	k, err := s.agentAuditKey(ctx, tx)
	if err != nil {
		return err
	}
	return s.appendAuditWith(ctx, tx, k, e)
}

// appendAudit adds an entry keyed by the device key: what a clerk does.
func (ss *Session) appendAudit(ctx context.Context, tx *sql.Tx, e AuditEntry) error {
	k, err := ss.auditKey()
	if err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Action, err)
	}
	return ss.st.appendAuditWith(ctx, tx, k, e)
}

// appendAuditWith adds an entry to the chain inside tx. The write
// transaction is immediate, so two processes never chain onto the same
// predecessor.
func (s *Store) appendAuditWith(ctx context.Context, tx *sql.Tx, k auditKey, e AuditEntry) error {
	var last int64
	prev := genesisHash
	err := s.txQueryRow(ctx, tx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("audit: read head: %w", err)
	}
	e.Seq, e.PrevHash, e.KeyID = last+1, prev, k.id
	e.Hash = macEntry(k, e)
	_, err = s.txExec(ctx, tx, `INSERT INTO audit_log(seq, at, device_id, clerk_id, action,
		record_type, record_id, prev_hash, hash, key_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		e.Seq, e.At.UTC().Format(time.RFC3339Nano), e.DeviceID, e.ClerkID, e.Action,
		e.RecordType, e.RecordID, e.PrevHash, e.Hash, e.KeyID)
	if err != nil {
		return fmt.Errorf("audit: append %s: %w", e.Action, err)
	}
	return nil
}

// audit appends one agent-keyed entry in its own transaction (for events
// with no session, such as a failed unlock).
func (s *Store) audit(ctx context.Context, clerkID, action, recordType, recordID string) error {
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		return s.appendAudit(ctx, tx, AuditEntry{At: s.now(), DeviceID: s.deviceID, ClerkID: clerkID,
			Action: action, RecordType: recordType, RecordID: recordID})
	})
}

// audit appends one device-keyed entry in its own transaction.
func (ss *Session) audit(ctx context.Context, action, recordType, recordID string) error {
	return ss.st.writeTx(ctx, func(tx *sql.Tx) error {
		return ss.appendAudit(ctx, tx, AuditEntry{At: ss.st.now(), DeviceID: ss.st.deviceID, ClerkID: ss.clerk.ID,
			Action: action, RecordType: recordType, RecordID: recordID})
	})
}

// AuditHead returns the newest entry's position and MAC (zero for an
// empty log).
func (s *Store) AuditHead(ctx context.Context) (AuditHead, error) {
	var h AuditHead
	err := s.r.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&h.Count, &h.Hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return AuditHead{}, fmt.Errorf("store: audit head: %w", err)
	}
	return h, nil
}

// AuditEntries calls fn for every entry in order, streaming.
func (s *Store) AuditEntries(ctx context.Context, fn func(AuditEntry) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, at, device_id, clerk_id, action, record_type,
		record_id, prev_hash, hash, key_id FROM audit_log ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("audit: read: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEntry
		var at string
		if err := rows.Scan(&e.Seq, &at, &e.DeviceID, &e.ClerkID, &e.Action, &e.RecordType,
			&e.RecordID, &e.PrevHash, &e.Hash, &e.KeyID); err != nil {
			return fmt.Errorf("audit: read: %w", err)
		}
		if e.At, err = time.Parse(time.RFC3339Nano, at); err != nil {
			// A malformed time is itself tampering; keep the zero time so the
			// MAC check names this entry.
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

// AuditSummary is what a verification found.
type AuditSummary struct {
	Entries int64 // entries verified (every link and sequence number)
	// Unchecked counts device-keyed entries whose MAC was not checked
	// because no clerk's password was given.
	Unchecked int64
	// Legacy counts entries written before the chain was keyed (plain
	// SHA-256). A store used since then that shows only such entries has
	// had its chain rewritten.
	Legacy int64
	Head   AuditHead
}

// AuditCheck says how CheckAudit verifies.
type AuditCheck struct {
	// Username and Password of a clerk: with them the device-keyed
	// entries are checked too. Checking writes nothing, not even an
	// unlock entry.
	Username string
	Password []byte
	// Anchor, if set, is a head the server knew (`syncd admin devices`):
	// the chain must reach it and hold the same MAC there.
	Anchor *AuditHead
}

// VerifyAudit walks the whole chain without the device key and returns
// the number of entries. It checks the sequence, every link and the MACs
// of the agent's and legacy entries; device-keyed entries are checked by
// Session.VerifyAudit or CheckAudit. If the chain does not hold it returns
// an *AuditBreak (wrapping ErrAuditBroken) naming the first broken entry.
func (s *Store) VerifyAudit(ctx context.Context) (int64, error) {
	sum, err := s.verifyAudit(ctx, nil, nil)
	return sum.Entries, err
}

// VerifyAudit walks the whole chain with the device key: every entry's MAC
// is checked.
func (ss *Session) VerifyAudit(ctx context.Context) (int64, error) {
	k, err := ss.auditKey()
	if err != nil {
		return 0, fmt.Errorf("store: verify audit: %w", err)
	}
	sum, err := ss.st.verifyAudit(ctx, &k, nil)
	return sum.Entries, err
}

// CheckAudit verifies the chain as c says. A wrong clerk name or password
// is ErrWrongPassword; a chain that does not hold is an *AuditBreak.
func (s *Store) CheckAudit(ctx context.Context, c AuditCheck) (AuditSummary, error) {
	var dev *auditKey
	if c.Username != "" {
		var wrapped string
		err := s.r.QueryRowContext(ctx, `SELECT wrapped_key FROM clerk WHERE username = ?`, c.Username).Scan(&wrapped)
		if errors.Is(err, sql.ErrNoRows) {
			return AuditSummary{}, ErrWrongPassword
		}
		if err != nil {
			return AuditSummary{}, fmt.Errorf("store: check audit: %w", err)
		}
		dk, err := unwrap(wrapped, c.Password)
		if err != nil {
			return AuditSummary{}, err
		}
		k, err := deviceAuditKey(dk)
		dk.Zero()
		if err != nil {
			return AuditSummary{}, fmt.Errorf("store: check audit: %w", err)
		}
		dev = &k
	}
	return s.verifyAudit(ctx, dev, c.Anchor)
}

// verifyAudit walks the chain; dev nil leaves device-keyed MACs unchecked.
func (s *Store) verifyAudit(ctx context.Context, dev *auditKey, anchor *AuditHead) (AuditSummary, error) {
	var agent *auditKey
	var b []byte
	err := s.r.QueryRowContext(ctx, `SELECT mac_key FROM audit_key WHERE id = ?`, AuditKeyAgent).Scan(&b)
	switch {
	case err == nil:
		k, err := keyFromBytes(AuditKeyAgent, b)
		if err != nil {
			return AuditSummary{}, fmt.Errorf("store: verify audit: %w", err)
		}
		agent = &k
	case !errors.Is(err, sql.ErrNoRows):
		return AuditSummary{}, fmt.Errorf("store: verify audit: %w", err)
	}
	var sum AuditSummary
	var anchorHash string
	keyed := false // a keyed entry was seen: no legacy entry may follow
	want := AuditEntry{Seq: 0, Hash: genesisHash}
	err = s.AuditEntries(ctx, func(e AuditEntry) error {
		if e.Seq != want.Seq+1 {
			return &AuditBreak{Seq: e.Seq, Reason: fmt.Sprintf("sequence gap after entry %d (entries deleted or inserted)", want.Seq)}
		}
		if e.PrevHash != want.Hash {
			return &AuditBreak{Seq: e.Seq, Reason: "does not chain onto the entry before it"}
		}
		if br := checkEntry(e, keyed, dev, agent); br != nil {
			return br
		}
		if e.KeyID == AuditKeyLegacy {
			sum.Legacy++
		} else {
			keyed = true
		}
		if e.KeyID == AuditKeyDevice && dev == nil {
			sum.Unchecked++
		}
		if anchor != nil && e.Seq == anchor.Count {
			anchorHash = e.Hash
		}
		want = e
		sum.Entries++
		return nil
	})
	sum.Head = AuditHead{Count: want.Seq, Hash: want.Hash}
	if err != nil || anchor == nil || anchor.Count == 0 {
		return sum, err
	}
	if sum.Entries < anchor.Count {
		return sum, &AuditBreak{Seq: sum.Entries + 1, Reason: fmt.Sprintf(
			"missing: the chain ends at entry %d, the server knew %d (entries cut from the end)", sum.Entries, anchor.Count)}
	}
	if !crypto.EqualMACHex(anchorHash, anchor.Hash) {
		return sum, &AuditBreak{Seq: anchor.Count, Reason: "differs from the head the server knew (chain rewritten)"}
	}
	return sum, nil
}

// checkEntry checks an entry's MAC with the key it names; nil if it holds
// (or is device-keyed and dev is nil).
func checkEntry(e AuditEntry, keyed bool, dev, agent *auditKey) *AuditBreak {
	var k *auditKey
	switch e.KeyID {
	case AuditKeyLegacy:
		if keyed {
			return &AuditBreak{Seq: e.Seq, Reason: "unkeyed entry after keyed ones (entry rewritten)"}
		}
		if !crypto.EqualMACHex(hashEntry(e), e.Hash) {
			return &AuditBreak{Seq: e.Seq, Reason: "content does not match its hash (entry modified)"}
		}
		return nil
	case AuditKeyDevice:
		if k = dev; k == nil {
			return nil
		}
	case AuditKeyAgent:
		if k = agent; k == nil {
			return &AuditBreak{Seq: e.Seq, Reason: "names the agent's key, which this store does not have"}
		}
	default:
		return &AuditBreak{Seq: e.Seq, Reason: fmt.Sprintf("unknown key %q", e.KeyID)}
	}
	if !crypto.EqualMACHex(macEntry(*k, e), e.Hash) {
		return &AuditBreak{Seq: e.Seq, Reason: "content does not match its MAC (entry modified)"}
	}
	return nil
}

// stateAuditKnown (in sync_state) is the audit chain position the server
// acknowledged last (PushResponse.AuditKnown).
const stateAuditKnown = "audit_known"

// pushAuditHead is the chain head sent with a push: the newest entry and
// this chain's MAC at the position the server acknowledged last.
func (s *Store) pushAuditHead(ctx context.Context) (*syncproto.AuditHead, error) {
	h, err := s.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	out := &syncproto.AuditHead{Count: h.Count, Hash: h.Hash}
	var v string
	err = s.r.QueryRowContext(ctx, `SELECT value FROM sync_state WHERE key = ?`, stateAuditKnown).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit: known head: %w", err)
	}
	known, err := strconv.ParseInt(v, 10, 64)
	if err != nil || known <= 0 {
		return out, nil // unreadable: the server then tells it again
	}
	out.KnownCount = known
	err = s.r.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE seq = ?`, known).Scan(&out.KnownHash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) { // no row: the chain no longer reaches it
		return nil, fmt.Errorf("audit: known head: %w", err)
	}
	return out, nil
}

// setAuditKnown records the position the server acknowledged, in the
// transaction that records its answer.
func (s *Store) setAuditKnown(ctx context.Context, tx *sql.Tx, known int64) error {
	if known <= 0 {
		return nil
	}
	return s.setSyncState(ctx, tx, map[string]string{stateAuditKnown: strconv.FormatInt(known, 10)})
}

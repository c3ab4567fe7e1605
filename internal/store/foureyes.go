package store

// Four-eyes sign-off. Whether a second clerk must confirm every case
// before it is sealed is the tenant's policy, set at the town hall (`syncd
// admin policy`) and pulled by the agent into meta; no clerk can change it
// on the laptop. The store enforces it when a case is sealed: the second
// clerk gives their own password to ConfirmFourEyes, which checks it
// against their wrapped copy of the data key and records the confirmation
// in this session only; SealCase then seals with it, in one transaction.
// The server checks the seal again at push, by its own policy.
//
// Offline: a laptop uses the last policy it pulled (none pulled yet: off).
// A seal made before the laptop learned that the policy was switched on is
// refused by the server (syncproto.ReasonFourEyes). The case stays on the
// laptop, readable and unshredded, and is set back to signed (as the
// server has it); once a second clerk has confirmed it, SealCase seals it
// again and the refusal is settled.

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Meta keys of the tenant's policy, written by the agent from the pull.
const (
	metaPolicyFourEyes = "policy.four_eyes" // "on" or "off"; absent: never pulled
	metaPolicySetAt    = "policy.set_at"    // RFC 3339, when the town hall set it
)

var (
	// ErrFourEyes: the tenant's policy asks for a second clerk's
	// confirmation (ConfirmFourEyes in this session) before a case is
	// sealed, and there is none; or confirmed_by was written by hand.
	ErrFourEyes = errors.New("store: a second clerk must confirm the case before it is sealed")
	// ErrSameClerk: the confirming clerk is who seals the case or who
	// witnessed the citizen's signature.
	ErrSameClerk = errors.New("store: the confirming clerk must be another person than who witnessed the signature and seals")
)

// Policy is the tenant's policy as this laptop last pulled it.
type Policy struct {
	FourEyes bool
	Known    bool      // pulled from the town hall at least once
	SetAt    time.Time // when the town hall set it (zero: never)
}

// Policy returns the policy this laptop last pulled; before the first
// pull it is unknown and four-eyes is off.
func (s *Store) Policy(ctx context.Context) (Policy, error) {
	p, err := s.policy(ctx, s.r)
	if err != nil {
		return Policy{}, fmt.Errorf("store: policy: %w", err)
	}
	return p, nil
}

func (s *Store) policy(ctx context.Context, q querier) (Policy, error) {
	var fe, at string
	err := q.QueryRowContext(ctx, `SELECT (SELECT value FROM meta WHERE key = ?), (SELECT value FROM meta WHERE key = ?)`,
		metaPolicyFourEyes, metaPolicySetAt).Scan(&nullString{&fe}, &nullString{&at})
	if err != nil {
		return Policy{}, fmt.Errorf("read policy: %w", err)
	}
	// Anything but "off" counts as on: a damaged value fails closed.
	p := Policy{Known: fe != "", FourEyes: fe != "" && fe != "off"}
	p.SetAt, _ = time.Parse(time.RFC3339Nano, at)
	return p, nil
}

// SetPolicy keeps the policy the town hall sent with a pull. The agent
// calls it; a change is written to the audit log.
func (s *Store) SetPolicy(ctx context.Context, p syncproto.Policy) error {
	fe := "off"
	if p.FourEyes {
		fe = "on"
	}
	same := func(cur Policy) bool {
		var at string
		if !cur.SetAt.IsZero() {
			at = cur.SetAt.UTC().Format(time.RFC3339)
		}
		return cur.Known && cur.FourEyes == p.FourEyes && at == p.SetAt
	}
	// Every pull page brings the policy; most times it is the one kept,
	// and a read spares the write lock.
	if cur, err := s.policy(ctx, s.r); err == nil && same(cur) {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		cur, err := s.policy(ctx, tx)
		if err != nil {
			return err
		}
		if same(cur) {
			return nil
		}
		for k, v := range map[string]string{metaPolicyFourEyes: fe, metaPolicySetAt: p.SetAt} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO meta(key, value) VALUES (?, ?)
				ON CONFLICT(key) DO UPDATE SET value = excluded.value`, k, v); err != nil {
				return fmt.Errorf("write %s: %w", k, err)
			}
		}
		if cur.Known && cur.FourEyes == p.FourEyes {
			return nil // the same policy, set again
		}
		return s.appendAudit(ctx, tx, AuditEntry{At: s.now(), DeviceID: s.deviceID, ClerkID: agentClerk,
			Action: "policy.four_eyes_" + fe, RecordType: "policy", RecordID: "four_eyes"})
	})
	if err != nil {
		return fmt.Errorf("store: set policy: %w", err)
	}
	return nil
}

// ConfirmFourEyes lets a second clerk confirm a signed case with their own
// password: it must open their copy of this laptop's data key. The
// confirmation holds for this session and this case until it is sealed
// (SealCase); it is not written to the case before. The clerk who unlocked
// the session and the clerk who witnessed the signature cannot confirm
// (ErrSameClerk); a wrong name or password gives ErrWrongPassword.
func (ss *Session) ConfirmFourEyes(ctx context.Context, caseID, username string, password []byte) (domain.Clerk, error) {
	const op = "store: four-eyes confirmation"
	dk, err := ss.dataKey()
	if err != nil {
		return domain.Clerk{}, err
	}
	c, _, err := ss.Case(ctx, caseID)
	if err != nil {
		return domain.Clerk{}, fmt.Errorf("%s: %w", op, err)
	}
	if c.Status != domain.StatusSigned {
		return domain.Clerk{}, fmt.Errorf("%s: case %s is %s: %w", op, caseID, c.Status, domain.ErrTransition)
	}
	var other domain.Clerk
	var wrapped string
	err = ss.st.r.QueryRowContext(ctx, `SELECT id, username, display_name, wrapped_key FROM clerk WHERE username = ?`,
		username).Scan(&other.ID, &other.Username, &other.DisplayName, &wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		if aerr := ss.st.audit(ctx, "", "case.four_eyes_failed", string(domain.TypeCase), caseID); aerr != nil {
			return domain.Clerk{}, fmt.Errorf("%s: %w", op, aerr)
		}
		return domain.Clerk{}, ErrWrongPassword
	}
	if err != nil {
		return domain.Clerk{}, fmt.Errorf("%s: %w", op, err)
	}
	if other.ID == ss.clerk.ID || other.ID == c.SignedBy {
		return domain.Clerk{}, ErrSameClerk
	}
	odk, err := unwrap(wrapped, password)
	if err != nil {
		if errors.Is(err, ErrWrongPassword) {
			if aerr := ss.st.audit(ctx, other.ID, "case.four_eyes_failed", string(domain.TypeCase), caseID); aerr != nil {
				return domain.Clerk{}, fmt.Errorf("%s: %w", op, aerr)
			}
		}
		return domain.Clerk{}, err
	}
	same := subtle.ConstantTimeCompare(odk[:], dk[:]) == 1
	odk.Zero()
	if !same {
		return domain.Clerk{}, fmt.Errorf("%s: clerk %s holds another laptop's key", op, other.ID)
	}
	if err := ss.st.audit(ctx, other.ID, "case.four_eyes_confirmed", string(domain.TypeCase), caseID); err != nil {
		return domain.Clerk{}, fmt.Errorf("%s: %w", op, err)
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.locked {
		return domain.Clerk{}, ErrLocked
	}
	if ss.confirmed == nil {
		ss.confirmed = map[string]domain.Clerk{}
	}
	ss.confirmed[caseID] = other
	return other, nil
}

// FourEyesConfirmation returns the second clerk who confirmed a case in
// this session, if one did.
func (ss *Session) FourEyesConfirmation(caseID string) (domain.Clerk, bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	c, ok := ss.confirmed[caseID]
	return c, ok && !ss.locked
}

// SealCase seals a signed case for the town hall, with the checks of the
// tenant's policy: with four-eyes on it needs this session's confirmation
// of the case by a second clerk (ErrFourEyes), whom it records as
// confirmed_by. An earlier seal of the case that the town hall refused for
// want of a confirmation is settled with it.
func (ss *Session) SealCase(ctx context.Context, id string, baseVersion int64) (int64, error) {
	var out Record
	err := ss.st.writeTx(ctx, func(tx *sql.Tx) error {
		if err := ss.settleRefusedSeals(ctx, tx, id); err != nil {
			return err
		}
		var err error
		out, err = ss.applyTx(ctx, tx, &mutation{op: OpUpdate, id: id, baseVersion: baseVersion, action: "case.seal",
			set: domain.Fields{"status": string(domain.StatusSealed), "sealed_at": fmtTime(ss.st.now()), "sealed_by": ss.clerk.ID}})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: seal case %s: %w", id, err)
	}
	return out.Version, nil
}

// checkFourEyes runs in applyTx for every write of a case: confirmed_by
// is only ever this session's confirmation, and a seal needs one when the
// policy asks for it. It adds confirmed_by to a seal that has one.
func (ss *Session) checkFourEyes(ctx context.Context, tx *sql.Tx, m *mutation, old domain.Fields) error {
	conf, has := ss.FourEyesConfirmation(m.id)
	if v, ok := m.set["confirmed_by"]; ok && v != "" && v != old["confirmed_by"] && (!has || v != conf.ID) {
		return fmt.Errorf("%w: confirmed_by is set by a confirmation only", ErrFourEyes)
	}
	if m.set["status"] != string(domain.StatusSealed) || old["status"] == string(domain.StatusSealed) {
		return nil
	}
	if has {
		if conf.ID == ss.clerk.ID || conf.ID == old["signed_by"] {
			return ErrSameClerk
		}
		set := m.set.Clone()
		set["confirmed_by"] = conf.ID
		m.set = set
		return nil
	}
	p, err := ss.st.policy(ctx, tx)
	if err != nil {
		return err
	}
	if p.FourEyes {
		return ErrFourEyes
	}
	return nil
}

// undoRefusedSeal runs in AckPush for a change the server refused: if it
// sealed a case and was refused for want of a four-eyes confirmation, the
// case is set back on this laptop to how the server has it (signed), so
// that the clerks can confirm it and seal it again. Only fields the seal
// set and nobody changed since are set back.
func (s *Store) undoRefusedSeal(ctx context.Context, tx *sql.Tx, ch syncproto.Change, reason string) error {
	if ch.RecordType != string(domain.TypeCase) || ch.Plain["status"].New != string(domain.StatusSealed) ||
		!strings.HasPrefix(reason, syncproto.ReasonFourEyes) {
		return nil
	}
	var plain string
	err := s.txQueryRow(ctx, tx, `SELECT plain FROM record WHERE id = ? AND type = 'case'`, ch.RecordID).Scan(&plain)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read case %s: %w", ch.RecordID, err)
	}
	var f domain.Fields
	if err := json.Unmarshal([]byte(plain), &f); err != nil {
		return fmt.Errorf("case %s: %w", ch.RecordID, err)
	}
	if f["status"] != string(domain.StatusSealed) {
		return nil
	}
	for k, c := range ch.Plain {
		if f[k] != c.New {
			continue
		}
		if c.Old == "" {
			delete(f, k)
		} else {
			f[k] = c.Old
		}
	}
	b, _ := json.Marshal(f) // map[string]string cannot fail
	if _, err := s.txExec(ctx, tx, `UPDATE record SET plain = ?, updated_at = ? WHERE id = ?`,
		string(b), fmtTime(s.now()), ch.RecordID); err != nil {
		return fmt.Errorf("reopen case %s: %w", ch.RecordID, err)
	}
	return s.appendAudit(ctx, tx, AuditEntry{At: s.now(), DeviceID: s.deviceID, ClerkID: agentClerk,
		Action: "case.seal_refused", RecordType: string(domain.TypeCase), RecordID: ch.RecordID})
}

// settleRefusedSeals marks the case's seals that the server refused for
// want of a confirmation as taken note of: the case is being sealed again.
func (ss *Session) settleRefusedSeals(ctx context.Context, tx *sql.Tx, id string) error {
	if _, err := ss.st.txExec(ctx, tx, `UPDATE change_log SET rejected_seen_at = ?, rejected_seen_by = ?
		WHERE record_id = ? AND rejected_seen_at IS NULL AND substr(rejected, 1, ?) = ?`,
		fmtTime(ss.st.now()), ss.clerk.ID, id, len(syncproto.ReasonFourEyes), syncproto.ReasonFourEyes); err != nil {
		return fmt.Errorf("settle refused seals of %s: %w", id, err)
	}
	return nil
}

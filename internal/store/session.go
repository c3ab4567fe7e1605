package store

import (
	"context"
	"crypto/rsa"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
)

// Session is a clerk's unlocked view of the store: it holds the device data
// key in memory until Lock. It is safe for concurrent use.
type Session struct {
	st    *Store
	clerk domain.Clerk

	mu     sync.Mutex
	dk     crypto.DataKey
	locked bool
	keys   map[string]crypto.ContentKey // unwrapped record keys, by key id
	pages  map[string]crypto.ContentKey // opened pull page keys, by page id
	devKey *rsa.PrivateKey              // the device's private key, once opened
	seal   *sealState                   // this session's committed seal key for the server
	txSeal *sealState                   // a seal made in the write transaction txOf, not yet committed
	txOf   *sql.Tx
	// confirmed holds the second clerks who confirmed cases in this
	// session (four-eyes), by case id.
	confirmed map[string]domain.Clerk
}

// WithKDFParams sets the password key derivation parameters used when a
// password is set (tests use cheap ones; the default is argon2id as RFC 9106
// recommends).
func WithKDFParams(p func() crypto.KDFParams) Option { return func(s *Store) { s.kdf = p } }

func (s *Store) kdfParams() crypto.KDFParams {
	if s.kdf != nil {
		return s.kdf()
	}
	return crypto.DefaultKDFParams()
}

// SetUp reports whether some clerk can unlock this laptop.
func (s *Store) SetUp(ctx context.Context) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM clerk`).Scan(&n); err != nil {
		return false, fmt.Errorf("store: count clerks: %w", err)
	}
	return n > 0, nil
}

// Clerks lists the clerks who can unlock this laptop (no secrets).
func (s *Store) Clerks(ctx context.Context) ([]domain.Clerk, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, username, display_name FROM clerk ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("store: list clerks: %w", err)
	}
	defer rows.Close()
	var out []domain.Clerk
	for rows.Next() {
		var c domain.Clerk
		if err := rows.Scan(&c.ID, &c.Username, &c.DisplayName); err != nil {
			return nil, fmt.Errorf("store: list clerks: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Setup makes the device data key and the first clerk who can unlock it.
// It fails with ErrAlreadySetUp on a laptop that has clerks.
func (s *Store) Setup(ctx context.Context, username, displayName string, password []byte) (*Session, error) {
	if err := checkCredentials(username, password); err != nil {
		return nil, err
	}
	dk, err := crypto.NewDataKey()
	if err != nil {
		return nil, fmt.Errorf("store: setup: %w", err)
	}
	wrapped, err := s.wrap(dk, password)
	if err != nil {
		return nil, fmt.Errorf("store: setup: %w", err)
	}
	clerk := domain.Clerk{ID: domain.NewID(), Username: username, DisplayName: displayName}
	ss := s.newSession(clerk, dk)
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM clerk`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrAlreadySetUp
		}
		return ss.insertClerk(ctx, tx, clerk, wrapped, "clerk.setup")
	})
	if err != nil {
		ss.Lock()
		return nil, fmt.Errorf("store: setup: %w", err)
	}
	return ss, nil
}

// MinPassword is the shortest password a clerk may choose, in bytes.
const MinPassword = 8

func checkCredentials(username string, password []byte) error {
	if strings.TrimSpace(username) == "" || len(username) > 64 {
		return ErrClerkName
	}
	if len(password) < MinPassword {
		return fmt.Errorf("%w: at least %d characters", ErrShortPassword, MinPassword)
	}
	return nil
}

func (s *Store) wrap(dk crypto.DataKey, password []byte) (string, error) {
	w, err := crypto.WrapWithPassword(dk, password, s.kdfParams())
	if err != nil {
		return "", fmt.Errorf("wrap data key: %w", err)
	}
	b, err := json.Marshal(w)
	if err != nil {
		return "", fmt.Errorf("encode wrapped key: %w", err)
	}
	return string(b), nil
}

// insertClerk adds clerk c, whose password wraps the data key as wrapped;
// the session's clerk is the actor of the audit entry (c itself at setup).
func (ss *Session) insertClerk(ctx context.Context, tx *sql.Tx, c domain.Clerk, wrapped, action string) error {
	s := ss.st
	now := s.now().UTC().Format(time.RFC3339Nano)
	_, err := tx.ExecContext(ctx, `INSERT INTO clerk(id, username, display_name, wrapped_key, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)`, c.ID, c.Username, c.DisplayName, wrapped, now, now)
	if err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return ErrClerkExists
		}
		return fmt.Errorf("insert clerk: %w", err)
	}
	return ss.appendAudit(ctx, tx, AuditEntry{At: s.now(), DeviceID: s.deviceID, ClerkID: ss.clerk.ID,
		Action: action, RecordType: "clerk", RecordID: c.ID})
}

// Unlock opens the device data key with a clerk's password. A wrong name or
// password returns ErrWrongPassword and changes nothing but the audit log.
func (s *Store) Unlock(ctx context.Context, username string, password []byte) (*Session, error) {
	var c domain.Clerk
	var wrapped string
	err := s.r.QueryRowContext(ctx, `SELECT id, username, display_name, wrapped_key FROM clerk WHERE username = ?`,
		username).Scan(&c.ID, &c.Username, &c.DisplayName, &wrapped)
	if errors.Is(err, sql.ErrNoRows) {
		if ok, serr := s.SetUp(ctx); serr == nil && !ok {
			return nil, ErrNotSetUp
		}
		if aerr := s.audit(ctx, "", "session.unlock_failed", "clerk", ""); aerr != nil {
			return nil, fmt.Errorf("store: unlock: %w", aerr)
		}
		return nil, ErrWrongPassword
	}
	if err != nil {
		return nil, fmt.Errorf("store: unlock: %w", err)
	}
	dk, err := unwrap(wrapped, password)
	if err != nil {
		if errors.Is(err, ErrWrongPassword) {
			if aerr := s.audit(ctx, c.ID, "session.unlock_failed", "clerk", c.ID); aerr != nil {
				return nil, fmt.Errorf("store: unlock: %w", aerr)
			}
		}
		return nil, err
	}
	ss := s.newSession(c, dk)
	if err := ss.audit(ctx, "session.unlock", "clerk", c.ID); err != nil {
		ss.Lock()
		return nil, fmt.Errorf("store: unlock: %w", err)
	}
	// Best effort, and no reason to keep a clerk out: what fails here is
	// tried again at the next unlock.
	_, _ = ss.copySharedAttachments(ctx)
	return ss, nil
}

func unwrap(wrapped string, password []byte) (crypto.DataKey, error) {
	var w crypto.WrappedKey
	if err := json.Unmarshal([]byte(wrapped), &w); err != nil {
		return crypto.DataKey{}, fmt.Errorf("store: unlock: stored key unreadable: %w", err)
	}
	dk, err := crypto.UnwrapWithPassword(w, password)
	if errors.Is(err, crypto.ErrWrongPassword) {
		return crypto.DataKey{}, ErrWrongPassword
	}
	if err != nil {
		return crypto.DataKey{}, fmt.Errorf("store: unlock: %w", err)
	}
	return dk, nil
}

func (s *Store) newSession(c domain.Clerk, dk crypto.DataKey) *Session {
	return &Session{st: s, clerk: c, dk: dk, keys: map[string]crypto.ContentKey{}, pages: map[string]crypto.ContentKey{}}
}

// Clerk returns the clerk who unlocked the session.
func (ss *Session) Clerk() domain.Clerk { return ss.clerk }

// Store returns the store the session belongs to.
func (ss *Session) Store() *Store { return ss.st }

// Lock forgets the data key and every record key; the session is unusable
// afterwards. The clerk unlocks again with the password.
func (ss *Session) Lock() {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.dk.Zero()
	for id, k := range ss.keys {
		k.Zero()
		delete(ss.keys, id)
	}
	for id, k := range ss.pages {
		k.Zero()
		delete(ss.pages, id)
	}
	if ss.seal != nil {
		ss.seal.key.Zero()
		ss.seal = nil
	}
	ss.devKey = nil
	ss.locked = true
}

// dataKey returns the data key or ErrLocked.
func (ss *Session) dataKey() (crypto.DataKey, error) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.locked {
		return crypto.DataKey{}, ErrLocked
	}
	return ss.dk, nil
}

// AddClerk lets another clerk unlock this laptop with their own password:
// the same data key, wrapped once more.
func (ss *Session) AddClerk(ctx context.Context, username, displayName string, password []byte) (domain.Clerk, error) {
	if err := checkCredentials(username, password); err != nil {
		return domain.Clerk{}, err
	}
	dk, err := ss.dataKey()
	if err != nil {
		return domain.Clerk{}, err
	}
	wrapped, err := ss.st.wrap(dk, password)
	if err != nil {
		return domain.Clerk{}, fmt.Errorf("store: add clerk: %w", err)
	}
	c := domain.Clerk{ID: domain.NewID(), Username: username, DisplayName: displayName}
	if err := ss.st.writeTx(ctx, func(tx *sql.Tx) error {
		return ss.insertClerk(ctx, tx, c, wrapped, "clerk.add")
	}); err != nil {
		return domain.Clerk{}, fmt.Errorf("store: add clerk: %w", err)
	}
	return c, nil
}

// ChangePassword re-wraps the data key under a new password of this
// session's clerk. The data itself is not touched. The old password must be
// right (ErrWrongPassword otherwise, and nothing changes).
func (ss *Session) ChangePassword(ctx context.Context, oldPassword, newPassword []byte) error {
	if err := checkCredentials(ss.clerk.Username, newPassword); err != nil {
		return err
	}
	var stored string
	if err := ss.st.r.QueryRowContext(ctx, `SELECT wrapped_key FROM clerk WHERE id = ?`, ss.clerk.ID).Scan(&stored); err != nil {
		return fmt.Errorf("store: change password: %w", err)
	}
	if _, err := unwrap(stored, oldPassword); err != nil {
		return err
	}
	dk, err := ss.dataKey()
	if err != nil {
		return err
	}
	wrapped, err := ss.st.wrap(dk, newPassword)
	if err != nil {
		return fmt.Errorf("store: change password: %w", err)
	}
	return ss.st.writeTx(ctx, func(tx *sql.Tx) error {
		// Only if the stored key is still the one checked above: a password
		// changed meanwhile in the other process must not be overwritten.
		res, err := tx.ExecContext(ctx, `UPDATE clerk SET wrapped_key = ?, updated_at = ? WHERE id = ? AND wrapped_key = ?`,
			wrapped, ss.st.now().UTC().Format(time.RFC3339Nano), ss.clerk.ID, stored)
		if err != nil {
			return fmt.Errorf("store: change password: %w", err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("store: change password: %w", ErrStale)
		}
		return ss.appendAudit(ctx, tx, AuditEntry{At: ss.st.now(), DeviceID: ss.st.deviceID,
			ClerkID: ss.clerk.ID, Action: "clerk.password_changed", RecordType: "clerk", RecordID: ss.clerk.ID})
	})
}

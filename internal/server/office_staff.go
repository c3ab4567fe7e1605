package server

// This file manages the town hall's staff accounts: passwords hashed with
// argon2id (crypto.HashPassword), checked in the same time whether or not
// the user exists.

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"

	"github.com/buergerkoffer/kit/internal/crypto"
)

// ErrInvalidStaff: a user name, role or password that cannot be used.
var ErrInvalidStaff = errors.New("server: invalid staff account")

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)

// ValidUsername reports whether u can be a staff user name: 2-63 lower
// case letters, digits, '.', '_' or '-'.
func ValidUsername(u string) bool { return usernameRE.MatchString(u) }

// MinStaffPassword is the shortest staff password, in bytes.
const MinStaffPassword = 10

// staffKDF returns the parameters of new password hashes (tests make them
// cheap with SetStaffKDF).
var (
	staffKDFMu sync.Mutex
	staffKDF   = crypto.DefaultKDFParams
)

// SetStaffKDF sets how new staff passwords are hashed (tests only: cheap
// parameters) and returns the previous setting.
func SetStaffKDF(f func() crypto.KDFParams) func() crypto.KDFParams {
	staffKDFMu.Lock()
	defer staffKDFMu.Unlock()
	old := staffKDF
	staffKDF = f
	return old
}

func hashStaffPassword(password []byte) (string, error) {
	staffKDFMu.Lock()
	p := staffKDF()
	staffKDFMu.Unlock()
	return crypto.HashPassword(password, p)
}

// AddStaff creates a staff member of a tenant. ErrExists if the user name
// is taken (in any tenant), ErrInvalidStaff for a bad name, role or
// password, ErrNotFound for an unknown tenant.
func (s *Server) AddStaff(ctx context.Context, tenant, username, role string, password []byte) error {
	switch {
	case !ValidUsername(username):
		return fmt.Errorf("%w: user name must be 2-63 of a-z 0-9 . _ -", ErrInvalidStaff)
	case !ValidRole(role):
		return fmt.Errorf("%w: role must be %s, %s or %s", ErrInvalidStaff, RoleCaseworker, RolePlanning, RoleAdmin)
	case len(password) < MinStaffPassword:
		return fmt.Errorf("%w: password shorter than %d characters", ErrInvalidStaff, MinStaffPassword)
	}
	if _, err := s.st.TenantKey(ctx, tenant); err != nil {
		return fmt.Errorf("server: add staff: tenant %s: %w", tenant, err)
	}
	h, err := hashStaffPassword(password)
	if err != nil {
		return fmt.Errorf("server: add staff: %w", err)
	}
	if err := s.st.AddStaff(ctx, Staff{Username: username, Tenant: tenant, Role: role, PasswordHash: h,
		CreatedAt: s.now()}); err != nil {
		return fmt.Errorf("server: add staff %s: %w", username, err)
	}
	s.log.Info("staff member added", "tenant", tenant, "user", username, "role", role)
	return nil
}

// SetStaffPassword sets a new password for a tenant's staff member.
func (s *Server) SetStaffPassword(ctx context.Context, tenant, username string, password []byte) error {
	if len(password) < MinStaffPassword {
		return fmt.Errorf("%w: password shorter than %d characters", ErrInvalidStaff, MinStaffPassword)
	}
	h, err := hashStaffPassword(password)
	if err != nil {
		return fmt.Errorf("server: set password: %w", err)
	}
	if err := s.st.SetStaffPassword(ctx, tenant, username, h); err != nil {
		return fmt.Errorf("server: set password of %s: %w", username, err)
	}
	return nil
}

// dummyHash is checked against when a user does not exist, so that the
// answer takes as long as for one who does.
var (
	dummyOnce sync.Once
	dummyHash string
)

// CheckStaffPassword returns the active staff member with this user name
// and password; ok is false for an unknown user, a disabled one or a
// wrong password alike, after the same work.
func (s *Server) CheckStaffPassword(ctx context.Context, username string, password []byte) (st Staff, ok bool, err error) {
	st, err = s.st.StaffByName(ctx, username)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return Staff{}, false, fmt.Errorf("server: sign-in: %w", err)
	}
	hash := st.PasswordHash
	if err != nil {
		dummyOnce.Do(func() { dummyHash, _ = hashStaffPassword([]byte("no such user, no such password")) })
		hash = dummyHash
	}
	match, verr := crypto.VerifyPassword(hash, password)
	if err != nil || verr != nil || !match || !st.DisabledAt.IsZero() {
		return Staff{}, false, nil
	}
	return st, true, nil
}

package server

// This file holds what an operator does: tenants and their keys,
// enrolment codes, devices and their revocation.

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
)

var tenantID = regexp.MustCompile(`^[a-z0-9-]{2,40}$`)

// ErrInvalid is returned for an argument the server refuses (a malformed
// tenant id, a non-positive TTL, a malformed central change).
var ErrInvalid = errors.New("server: invalid argument")

// CreateTenant adds a tenant and makes its RSA-3072 key pair; the private
// key is kept wrapped under the master key. ErrExists if the id is taken.
func (s *Server) CreateTenant(ctx context.Context, id, name string) error {
	if !tenantID.MatchString(id) {
		return fmt.Errorf("server: create tenant %q: %w: id must match [a-z0-9-]{2,40}", id, ErrInvalid)
	}
	now := s.now()
	k, err := s.newTenantKey(id, now)
	if err != nil {
		return fmt.Errorf("server: create tenant %s: %w", id, err)
	}
	if err := s.st.CreateTenant(ctx, Tenant{ID: id, Name: name, CreatedAt: now}, k); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.log.Info("tenant created", "tenant", id)
	return nil
}

// RotateTenantKey makes a new key pair for a tenant and returns its kid.
// New seals are made for it: the server announces it with every pull, and
// laptops enrolled from now on get it at enrolment. The old key pairs are
// kept, as what was sealed for them must still open. ErrNotFound for an
// unknown tenant.
func (s *Server) RotateTenantKey(ctx context.Context, tenant string) (string, error) {
	cur, err := s.st.TenantKey(ctx, tenant)
	if err != nil {
		return "", fmt.Errorf("server: rotate key of tenant %s: %w", tenant, err)
	}
	// The newest key is the one made last, even if the clock went back.
	now := s.now()
	if !now.After(cur.CreatedAt) {
		now = cur.CreatedAt.Add(time.Microsecond)
	}
	k, err := s.newTenantKey(tenant, now)
	if err != nil {
		return "", fmt.Errorf("server: rotate key of tenant %s: %w", tenant, err)
	}
	if err := s.st.AddTenantKey(ctx, k); err != nil {
		return "", fmt.Errorf("server: rotate key of tenant %s: %w", tenant, err)
	}
	s.log.Info("tenant key rotated", "tenant", tenant, "kid", k.KeyID, "previous", cur.KeyID)
	return k.KeyID, nil
}

// newTenantKey makes a key pair for tenant, its private key wrapped under
// the master key.
func (s *Server) newTenantKey(tenant string, now time.Time) (TenantKey, error) {
	priv, err := s.genKey()
	if err != nil {
		return TenantKey{}, err
	}
	pub, err := crypto.MarshalPublicKeyPEM(&priv.PublicKey)
	if err != nil {
		return TenantKey{}, err
	}
	kid, err := crypto.KeyID(&priv.PublicKey)
	if err != nil {
		return TenantKey{}, err
	}
	der, err := crypto.MarshalPrivateKeyDER(priv)
	if err != nil {
		return TenantKey{}, err
	}
	wrapped, err := crypto.WrapKey(s.master, der, tenantKeyAAD(tenant, kid))
	clear(der)
	if err != nil {
		return TenantKey{}, err
	}
	return TenantKey{Tenant: tenant, KeyID: kid, PublicPEM: string(pub), PrivateWrapped: wrapped, CreatedAt: now}, nil
}

// Tenants lists the tenants by id.
func (s *Server) Tenants(ctx context.Context) ([]Tenant, error) {
	ts, err := s.st.Tenants(ctx)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return ts, nil
}

// crockford is Crockford's base32 alphabet (no I, L, O, U).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// codeChars is the length of an enrolment code: 12 characters, 60 bits.
const codeChars = 12

// IssueEnrolment makes a one-time enrolment code for a laptop of tenant,
// valid for ttl, like "K7Q2-M9XD-4HRT" (Crockford base32, 60 random
// bits). Only its hash is stored.
func (s *Server) IssueEnrolment(ctx context.Context, tenant string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		return "", fmt.Errorf("server: issue enrolment: %w: ttl %s", ErrInvalid, ttl)
	}
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("server: issue enrolment: %w", err)
	}
	v := binary.BigEndian.Uint64(b[:])
	var sb strings.Builder
	for i := range codeChars {
		if i > 0 && i%4 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(crockford[v&31])
		v >>= 5
	}
	code := sb.String()
	norm, _ := normaliseCode(code)
	now := s.now()
	if err := s.st.AddEnrolment(ctx, Enrolment{CodeHash: crypto.HashToken(norm), Tenant: tenant, CreatedAt: now,
		ExpiresAt: now.Add(ttl)}); err != nil {
		return "", fmt.Errorf("server: %w", err)
	}
	s.log.Info("enrolment code issued", "tenant", tenant, "expires", now.Add(ttl).UTC().Format(time.RFC3339))
	return code, nil
}

// normaliseCode reads a code as a person may type it: any case, with or
// without dashes and spaces, O for 0 and I or L for 1.
func normaliseCode(code string) (string, bool) {
	var sb strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if !strings.ContainsRune(crockford, r) {
			return "", false
		}
		sb.WriteRune(r)
	}
	if sb.Len() != codeChars {
		return "", false
	}
	return sb.String(), true
}

// Devices lists a tenant's laptops, revoked ones included, oldest first.
func (s *Server) Devices(ctx context.Context, tenant string) ([]Device, error) {
	ds, err := s.st.Devices(ctx, tenant)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	return ds, nil
}

// Revoke revokes a device: its token stops working with the next request
// (authentication is never cached).
func (s *Server) Revoke(ctx context.Context, deviceID string) error {
	if err := s.st.Revoke(ctx, deviceID, s.now()); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.log.Info("device revoked", "device", deviceID)
	return nil
}

package crypto

// This file wraps the device data key under a key derived from a clerk's
// password, once per clerk. Unlocking the app is UnwrapWithPassword.

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/argon2"
)

// KDFArgon2id names argon2id (RFC 9106) in KDFParams.Alg. It is the only
// password-based key derivation the package accepts.
const KDFArgon2id = "argon2id"

// Bounds on KDF parameters. The upper bounds stop a tampered key file from
// making an unlock allocate gigabytes or run for minutes; the salt bounds
// follow RFC 9106 (at least 128 bits).
const (
	minSaltSize     = 16
	maxSaltSize     = 64
	maxKDFTime      = 16
	maxKDFMemoryKiB = 1 << 20 // 1 GiB
	maxKDFThreads   = 16
)

var (
	// ErrWrongPassword is returned by UnwrapWithPassword when the password
	// does not unwrap the key. A tampered WrappedKey whose parameters are
	// still in range gives the same error: the two cannot be told apart.
	ErrWrongPassword = errors.New("crypto: wrong password")

	// ErrEmptyPassword is returned when a key would be wrapped under an
	// empty password.
	ErrEmptyPassword = errors.New("crypto: empty password")

	// ErrKDFParams is returned for an unknown algorithm or parameters out of
	// range.
	ErrKDFParams = errors.New("crypto: invalid KDF parameters")
)

// KDFParams are the parameters of the password-based key derivation. They
// are stored with the wrapped key and are not secret.
type KDFParams struct {
	Alg       string `json:"alg"`        // always KDFArgon2id
	Time      uint32 `json:"time"`       // passes over memory
	MemoryKiB uint32 `json:"memory_kib"` // memory in KiB
	Threads   uint8  `json:"threads"`    // lanes (parallelism)
	Salt      []byte `json:"salt"`       // random, 16 bytes by default
}

// DefaultKDFParams returns the second recommended option of RFC 9106
// (section 4): argon2id, 3 passes, 64 MiB, 4 lanes, with a fresh random
// 16-byte salt. BenchmarkUnwrapWithPasswordDefault measures what an unlock
// costs.
func DefaultKDFParams() KDFParams {
	return KDFParams{Alg: KDFArgon2id, Time: 3, MemoryKiB: 64 * 1024, Threads: 4, Salt: newSalt()}
}

// TestKDFParams returns cheap parameters (1 pass, 1 MiB) for tests only.
// They offer no protection against password guessing; production code must
// use DefaultKDFParams.
func TestKDFParams() KDFParams {
	return KDFParams{Alg: KDFArgon2id, Time: 1, MemoryKiB: 1024, Threads: 1, Salt: newSalt()}
}

func newSalt() []byte {
	salt := make([]byte, minSaltSize)
	rand.Read(salt) // never fails (Go 1.24+); it crashes the program instead
	return salt
}

// validate checks p against the algorithm and the bounds.
func (p KDFParams) validate() error {
	switch {
	case p.Alg != KDFArgon2id:
		return fmt.Errorf("%w: algorithm %q", ErrKDFParams, p.Alg)
	case p.Time < 1 || p.Time > maxKDFTime:
		return fmt.Errorf("%w: time %d", ErrKDFParams, p.Time)
	case p.Threads < 1 || p.Threads > maxKDFThreads:
		return fmt.Errorf("%w: threads %d", ErrKDFParams, p.Threads)
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxKDFMemoryKiB:
		return fmt.Errorf("%w: memory %d KiB", ErrKDFParams, p.MemoryKiB)
	case len(p.Salt) < minSaltSize || len(p.Salt) > maxSaltSize:
		return fmt.Errorf("%w: salt of %d bytes", ErrKDFParams, len(p.Salt))
	}
	return nil
}

// aad encodes the parameters canonically for the GCM additional data, so
// that altering any of them makes the unwrap fail.
func (p KDFParams) aad() []byte {
	b := make([]byte, 0, 1+len(p.Alg)+4+4+1+1+len(p.Salt))
	b = append(b, byte(len(p.Alg)))
	b = append(b, p.Alg...)
	b = binary.BigEndian.AppendUint32(b, p.Time)
	b = binary.BigEndian.AppendUint32(b, p.MemoryKiB)
	b = append(b, p.Threads, byte(len(p.Salt)))
	return append(b, p.Salt...)
}

// deriveKEK runs argon2id. p must be valid.
func (p KDFParams) deriveKEK(password []byte) []byte {
	return argon2.IDKey(password, p.Salt, p.Time, p.MemoryKiB, p.Threads, KeySize)
}

// WrappedKey is a data key wrapped under a password. It is stored as JSON,
// one per clerk and device:
//
//	{"kdf":{"alg":"argon2id","time":3,"memory_kib":65536,"threads":4,
//	        "salt":"<base64>"},"ciphertext":"<base64>"}
//
// Ciphertext is the usual blob (0x01 || nonce || ciphertext || tag) of the
// 32-byte data key under the derived key, with the KDF parameters as AAD.
type WrappedKey struct {
	KDF        KDFParams `json:"kdf"`
	Ciphertext []byte    `json:"ciphertext"`
}

// WrapWithPassword wraps dk under a key derived from password with the
// parameters p (normally DefaultKDFParams). If p has no salt, a fresh one is
// drawn; a salt should serve one wrap only, so do not reuse the parameters
// of an earlier WrappedKey.
//
// To change a password, unwrap with the old one and wrap the same data key
// with the new one (ChangePassword does both). Only the wrapped key changes;
// the data encrypted under the data key is not re-encrypted.
func WrapWithPassword(dk DataKey, password []byte, p KDFParams) (WrappedKey, error) {
	if len(password) == 0 {
		return WrappedKey{}, fmt.Errorf("crypto: wrap with password: %w", ErrEmptyPassword)
	}
	if len(p.Salt) == 0 {
		p.Salt = newSalt()
	} else {
		p.Salt = append([]byte(nil), p.Salt...) // do not alias the caller's slice
	}
	if err := p.validate(); err != nil {
		return WrappedKey{}, fmt.Errorf("crypto: wrap with password: %w", err)
	}
	kek := p.deriveKEK(password)
	defer clear(kek)
	ct, err := seal(kek, labelPassword, dk[:], p.aad())
	if err != nil {
		return WrappedKey{}, fmt.Errorf("crypto: wrap with password: %w", err)
	}
	return WrappedKey{KDF: p, Ciphertext: ct}, nil
}

// UnwrapWithPassword returns the data key wrapped in w. It returns
// ErrWrongPassword if the password does not fit (or w was altered), and
// ErrKDFParams if the stored parameters are out of range.
func UnwrapWithPassword(w WrappedKey, password []byte) (DataKey, error) {
	if err := w.KDF.validate(); err != nil {
		return DataKey{}, fmt.Errorf("crypto: unwrap with password: %w", err)
	}
	kek := w.KDF.deriveKEK(password)
	defer clear(kek)
	pt, err := open(kek, labelPassword, w.Ciphertext, w.KDF.aad())
	if err != nil || len(pt) != KeySize {
		clear(pt)
		return DataKey{}, fmt.Errorf("crypto: unwrap with password: %w", ErrWrongPassword)
	}
	var dk DataKey
	copy(dk[:], pt)
	clear(pt)
	return dk, nil
}

// ChangePassword unwraps w with oldPassword and wraps the same data key
// under newPassword with the cost parameters of p (normally
// DefaultKDFParams) and a fresh salt; the salt of p is ignored. The data key,
// and so all data encrypted under it, stays the same.
func ChangePassword(w WrappedKey, oldPassword, newPassword []byte, p KDFParams) (WrappedKey, error) {
	dk, err := UnwrapWithPassword(w, oldPassword)
	if err != nil {
		return WrappedKey{}, err
	}
	defer dk.Zero()
	p.Salt = nil
	return WrapWithPassword(dk, newPassword, p)
}

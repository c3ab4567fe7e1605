package crypto

// This file hashes the passwords of the town hall's staff (`syncd
// office`) with the same argon2id derivation and parameter checks that
// wrap a clerk's data key, stored as a PHC string:
//
//	$argon2id$v=19$m=65536,t=3,p=4$<salt b64>$<hash b64>

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

var phcB64 = base64.RawStdEncoding

// HashPassword derives a password hash with p (normally
// DefaultKDFParams) and returns it as a PHC string.
func HashPassword(password []byte, p KDFParams) (string, error) {
	if len(password) == 0 {
		return "", ErrEmptyPassword
	}
	if len(p.Salt) == 0 {
		p.Salt = newSalt()
	}
	if err := p.validate(); err != nil {
		return "", err
	}
	h := p.deriveKEK(password)
	defer clear(h)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		phcB64.EncodeToString(p.Salt), phcB64.EncodeToString(h)), nil
}

// VerifyPassword reports whether password matches a HashPassword string,
// comparing in constant time. A malformed hash or parameters out of range
// give ErrKDFParams.
func VerifyPassword(hash string, password []byte) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != KDFArgon2id || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return false, fmt.Errorf("%w: not an argon2id hash", ErrKDFParams)
	}
	p := KDFParams{Alg: KDFArgon2id}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Time, &threads); err != nil || threads > 255 {
		return false, fmt.Errorf("%w: parameters", ErrKDFParams)
	}
	p.Threads = uint8(threads)
	var err error
	if p.Salt, err = phcB64.DecodeString(parts[4]); err != nil {
		return false, fmt.Errorf("%w: salt", ErrKDFParams)
	}
	want, err := phcB64.DecodeString(parts[5])
	if err != nil || len(want) != KeySize {
		return false, fmt.Errorf("%w: hash", ErrKDFParams)
	}
	if err := p.validate(); err != nil {
		return false, err
	}
	got := p.deriveKEK(password)
	defer clear(got)
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

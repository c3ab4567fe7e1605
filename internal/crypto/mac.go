package crypto

// This file keys the audit chain: HMAC-SHA256 (FIPS 198-1, RFC 2104) under
// a key derived from the device data key with HKDF-SHA256 (RFC 5869), or
// under a random key of its own for what `syncd agent` writes.

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// labelAuditMAC is the HKDF info of the audit MAC key: a key for this one
// use, so that a MAC never reveals or reuses the data key itself.
const labelAuditMAC = "buergerkoffer/audit-mac/v1"

// MACKey is a 256-bit HMAC-SHA256 key.
type MACKey [KeySize]byte

// AuditMACKey derives the audit MAC key from the device data key. Every
// clerk of a device derives the same one, as they unwrap the same data key.
func AuditMACKey(dk DataKey) (MACKey, error) {
	b, err := hkdf.Key(sha256.New, dk[:], nil, labelAuditMAC, KeySize)
	if err != nil {
		return MACKey{}, fmt.Errorf("crypto: audit mac key: %w", err)
	}
	var k MACKey
	copy(k[:], b)
	clear(b)
	return k, nil
}

// NewMACKey returns a fresh random MAC key.
func NewMACKey() (MACKey, error) {
	var k MACKey
	if _, err := rand.Read(k[:]); err != nil {
		return MACKey{}, fmt.Errorf("crypto: new mac key: %w", err)
	}
	return k, nil
}

// Zero overwrites the key with zeros (see DataKey.Zero for its limits).
func (k *MACKey) Zero() { clear(k[:]) }

// MACHex returns the hex HMAC-SHA256 of msg under key.
func MACHex(key MACKey, msg []byte) string {
	m := hmac.New(sha256.New, key[:])
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// EqualMACHex compares two hex MACs in constant time.
func EqualMACHex(a, b string) bool { return hmac.Equal([]byte(a), []byte(b)) }

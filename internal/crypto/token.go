package crypto

// This file holds the hash helpers: content addresses for attachments and
// the bearer tokens devices authenticate with.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
)

// b64url is the unpadded base64url encoding JOSE uses.
var b64url = base64.RawURLEncoding

// tokenSize is the number of random bytes in a device token (256 bits).
const tokenSize = 32

// SHA256Hex returns the SHA-256 of b in lower-case hex: the content address
// of an attachment.
func SHA256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// NewToken returns a new device authentication token: 32 random bytes,
// base64url without padding (43 characters). The device keeps the token;
// the server stores only HashToken of it.
func NewToken() (string, error) {
	b := make([]byte, tokenSize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("crypto: new token: %w", err)
	}
	return b64url.EncodeToString(b), nil
}

// HashToken returns the SHA-256 hex of token, the form the server stores.
// A token carries 256 random bits, so guessing it from the hash is
// infeasible and no slow password KDF is needed; a fast hash also keeps
// per-request authentication cheap.
func HashToken(token string) string {
	return SHA256Hex([]byte(token))
}

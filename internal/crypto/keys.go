package crypto

// This file makes and encodes the RSA key pairs that seal data between a
// device and its server: a server key pair per tenant, a device key pair per
// enrolment. Public keys travel as PEM (PKIX); a device private key is kept
// as PKCS#8 DER wrapped under the device data key (WrapKey).

import (
	stdcrypto "crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// RSABits is the modulus size of the key pairs the package generates.
const RSABits = 3072

// MinRSABits is the smallest modulus the package accepts for sealing or
// parsing, following BSI TR-02102-1 (at least 3000 bits).
const MinRSABits = 3000

// maxRSABits bounds the modulus the package accepts, so that a crafted
// public key cannot make every operation slow.
const maxRSABits = 8192

// PEM block types.
const (
	pemPublicKey  = "PUBLIC KEY"
	pemPrivateKey = "PRIVATE KEY"
)

// ErrKey is returned for a key that cannot be parsed, is not an RSA key, or
// has a modulus outside MinRSABits..8192.
var ErrKey = errors.New("crypto: invalid key")

// GenerateKeyPair returns a new RSA-3072 key pair.
func GenerateKeyPair() (*rsa.PrivateKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, RSABits)
	if err != nil {
		return nil, fmt.Errorf("crypto: generate key pair: %w", err)
	}
	return priv, nil
}

// checkRSA reports whether pub is usable.
func checkRSA(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil {
		return fmt.Errorf("%w: no key", ErrKey)
	}
	if bits := pub.N.BitLen(); bits < MinRSABits || bits > maxRSABits {
		return fmt.Errorf("%w: %d-bit RSA modulus", ErrKey, bits)
	}
	return nil
}

// MarshalPublicKeyDER encodes pub as PKIX (SubjectPublicKeyInfo) DER.
func MarshalPublicKeyDER(pub *rsa.PublicKey) ([]byte, error) {
	if err := checkRSA(pub); err != nil {
		return nil, fmt.Errorf("crypto: marshal public key: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("crypto: marshal public key: %w", err)
	}
	return der, nil
}

// ParsePublicKeyDER decodes a PKIX DER RSA public key.
func ParsePublicKeyDER(der []byte) (*rsa.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("crypto: parse public key: %w", ErrKey)
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("crypto: parse public key: %w: not RSA", ErrKey)
	}
	if err := checkRSA(pub); err != nil {
		return nil, fmt.Errorf("crypto: parse public key: %w", err)
	}
	return pub, nil
}

// MarshalPublicKeyPEM encodes pub as a PEM "PUBLIC KEY" block.
func MarshalPublicKeyPEM(pub *rsa.PublicKey) ([]byte, error) {
	der, err := MarshalPublicKeyDER(pub)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: der}), nil
}

// ParsePublicKeyPEM decodes the first PEM "PUBLIC KEY" block of b.
func ParsePublicKeyPEM(b []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != pemPublicKey {
		return nil, fmt.Errorf("crypto: parse public key: %w: no PEM %q block", ErrKey, pemPublicKey)
	}
	return ParsePublicKeyDER(block.Bytes)
}

// MarshalPrivateKeyDER encodes priv as PKCS#8 DER. The result is secret:
// wrap it (WrapKey) before it is stored.
func MarshalPrivateKeyDER(priv *rsa.PrivateKey) ([]byte, error) {
	if priv == nil {
		return nil, fmt.Errorf("crypto: marshal private key: %w: no key", ErrKey)
	}
	if err := checkRSA(&priv.PublicKey); err != nil {
		return nil, fmt.Errorf("crypto: marshal private key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("crypto: marshal private key: %w", err)
	}
	return der, nil
}

// ParsePrivateKeyDER decodes a PKCS#8 DER RSA private key.
func ParsePrivateKeyDER(der []byte) (*rsa.PrivateKey, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("crypto: parse private key: %w", ErrKey)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("crypto: parse private key: %w: not RSA", ErrKey)
	}
	if err := checkRSA(&priv.PublicKey); err != nil {
		return nil, fmt.Errorf("crypto: parse private key: %w", err)
	}
	return priv, nil
}

// MarshalPrivateKeyPEM encodes priv as an unencrypted PEM "PRIVATE KEY"
// (PKCS#8) block, for the server's key file. Devices never write their
// private key this way; they wrap the DER form.
func MarshalPrivateKeyPEM(priv *rsa.PrivateKey) ([]byte, error) {
	der, err := MarshalPrivateKeyDER(priv)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// ParsePrivateKeyPEM decodes the first PEM "PRIVATE KEY" block of b.
func ParsePrivateKeyPEM(b []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(b)
	if block == nil || block.Type != pemPrivateKey {
		return nil, fmt.Errorf("crypto: parse private key: %w: no PEM %q block", ErrKey, pemPrivateKey)
	}
	return ParsePrivateKeyDER(block.Bytes)
}

// KeyID returns the JWK thumbprint (RFC 7638, SHA-256, base64url) of pub.
// It is the "kid" the kit puts into a JWE header, so that the opener can
// pick the right private key after a key change.
func KeyID(pub *rsa.PublicKey) (string, error) {
	if err := checkRSA(pub); err != nil {
		return "", fmt.Errorf("crypto: key id: %w", err)
	}
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(stdcrypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("crypto: key id: %w", err)
	}
	return b64url.EncodeToString(tp), nil
}

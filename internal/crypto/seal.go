package crypto

// This file seals data for the other side of a sync: the device seals for
// the server's public key, the server for the device's. Seal and Open make
// one compact JWE per message. For many values the content-key scheme below
// splits what a JWE does internally, so that N values share one RSA
// operation (one per case, batch or page, never per field).

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// The one recipient algorithm and the one content encryption the kit
// uses, as FIT-Connect does.
const (
	keyAlgorithm      = jose.RSA_OAEP_256
	contentEncryption = jose.A256GCM
)

// contentTypeKey is the "cty" header of a JWE whose plaintext is a
// ContentKey, so that a sealed key is never taken for a sealed message.
const contentTypeKey jose.ContentType = "buergerkoffer-content-key"

// ErrOpen is returned when a JWE cannot be opened: it is malformed, uses
// another algorithm, was sealed for another key, or was altered.
var ErrOpen = errors.New("crypto: cannot open sealed message")

// Seal encrypts plaintext for recipient as a compact JWE with alg
// RSA-OAEP-256, enc A256GCM and the header kid (see KeyID). Each call costs
// one RSA operation; for many values use SealKey and SealValue.
func Seal(recipient *rsa.PublicKey, plaintext []byte, kid string) (string, error) {
	s, err := sealJWE(recipient, plaintext, kid, nil)
	if err != nil {
		return "", fmt.Errorf("crypto: seal: %w", err)
	}
	return s, nil
}

// Open decrypts a compact JWE made by Seal. It accepts only RSA-OAEP-256
// with A256GCM and no compression, and returns ErrOpen on any failure.
func Open(priv *rsa.PrivateKey, compact string) ([]byte, error) {
	pt, _, err := openJWE(priv, compact)
	if err != nil {
		return nil, fmt.Errorf("crypto: open: %w", err)
	}
	return pt, nil
}

func sealJWE(recipient *rsa.PublicKey, plaintext []byte, kid string, opts *jose.EncrypterOptions) (string, error) {
	if err := checkRSA(recipient); err != nil {
		return "", err
	}
	enc, err := jose.NewEncrypter(contentEncryption,
		jose.Recipient{Algorithm: keyAlgorithm, Key: recipient, KeyID: kid}, opts)
	if err != nil {
		return "", err
	}
	obj, err := enc.Encrypt(plaintext)
	if err != nil {
		return "", err
	}
	return obj.CompactSerialize()
}

// openJWE parses and decrypts compact and returns the plaintext and the
// header. Details of a failure are dropped: they would only help an
// attacker probe the decryption.
func openJWE(priv *rsa.PrivateKey, compact string) ([]byte, jose.Header, error) {
	if priv == nil {
		return nil, jose.Header{}, fmt.Errorf("%w: no key", ErrKey)
	}
	obj, err := jose.ParseEncryptedCompact(compact,
		[]jose.KeyAlgorithm{keyAlgorithm}, []jose.ContentEncryption{contentEncryption})
	if err != nil {
		return nil, jose.Header{}, ErrOpen
	}
	// The kit never compresses; refusing "zip" rules out decompression
	// bombs and compression side channels.
	if _, ok := obj.Header.ExtraHeaders[jose.HeaderKey("zip")]; ok {
		return nil, jose.Header{}, ErrOpen
	}
	pt, err := obj.Decrypt(priv)
	if err != nil {
		return nil, jose.Header{}, ErrOpen
	}
	return pt, obj.Header, nil
}

// ContentKey is a 256-bit AES key that seals the values of one case, batch
// or page for the other side.
//
// The scheme is what a JWE does internally, split in two: the content key
// is sealed once for the recipient's RSA key (SealKey, a compact JWE whose
// plaintext is the key), and each value is encrypted under it with
// AES-256-GCM (SealValue), bound to its place by the AAD. The recipient
// opens the key once (OpenKey) and then every value (OpenValue).
type ContentKey [KeySize]byte

// NewContentKey returns a fresh random content key.
func NewContentKey() (ContentKey, error) {
	var k ContentKey
	if _, err := rand.Read(k[:]); err != nil {
		return ContentKey{}, fmt.Errorf("crypto: new content key: %w", err)
	}
	return k, nil
}

// Zero overwrites the key with zeros; see DataKey.Zero for its limits.
func (k *ContentKey) Zero() { clear(k[:]) }

// SealKey seals ck for recipient: a compact JWE (RSA-OAEP-256, A256GCM,
// header kid and cty "buergerkoffer-content-key") whose plaintext is the
// key. It costs one RSA operation.
func SealKey(recipient *rsa.PublicKey, ck ContentKey, kid string) (string, error) {
	opts := (&jose.EncrypterOptions{}).WithContentType(contentTypeKey)
	s, err := sealJWE(recipient, ck[:], kid, opts)
	if err != nil {
		return "", fmt.Errorf("crypto: seal key: %w", err)
	}
	return s, nil
}

// OpenKey opens a content key sealed by SealKey. It returns ErrOpen if the
// JWE cannot be opened or does not hold a content key.
func OpenKey(priv *rsa.PrivateKey, compact string) (ContentKey, error) {
	pt, hdr, err := openJWE(priv, compact)
	if err != nil {
		return ContentKey{}, fmt.Errorf("crypto: open key: %w", err)
	}
	defer clear(pt)
	if cty, _ := hdr.ExtraHeaders[jose.HeaderContentType].(string); cty != string(contentTypeKey) || len(pt) != KeySize {
		return ContentKey{}, fmt.Errorf("crypto: open key: %w: not a content key", ErrOpen)
	}
	var ck ContentKey
	copy(ck[:], pt)
	return ck, nil
}

// SealValue encrypts one value under ck with AES-256-GCM. The aad binds the
// value to its place (for example change id and field name), so it cannot
// be moved to another. The result has the blob layout of Encrypt.
func SealValue(ck ContentKey, plaintext, aad []byte) ([]byte, error) {
	return seal(ck[:], labelValue, plaintext, aad)
}

// OpenValue reverses SealValue. It returns ErrDecrypt on any failure.
func OpenValue(ck ContentKey, blob, aad []byte) ([]byte, error) {
	return open(ck[:], labelValue, blob, aad)
}

// SealedKeyID returns the header kid of a compact JWE without opening it,
// so that the recipient can pick which of its keys to open it with. A
// JWE that does not parse as one Seal or SealKey make returns ErrOpen.
func SealedKeyID(compact string) (string, error) {
	obj, err := jose.ParseEncryptedCompact(compact,
		[]jose.KeyAlgorithm{keyAlgorithm}, []jose.ContentEncryption{contentEncryption})
	if err != nil {
		return "", fmt.Errorf("crypto: key id of sealed message: %w", ErrOpen)
	}
	return obj.Header.KeyID, nil
}

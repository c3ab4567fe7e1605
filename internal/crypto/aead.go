package crypto

// This file holds the symmetric core: the data key and AES-256-GCM with a
// random nonce, which every other construction of the package reuses.

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// KeySize is the size in bytes of every symmetric key of the package
// (AES-256).
const KeySize = 32

// blobVersion is the first byte of every symmetric ciphertext. A new layout
// or algorithm gets a new version; Decrypt rejects versions it does not know.
const blobVersion byte = 0x01

// Sizes of the blob layout.
const (
	nonceSize    = 12
	tagSize      = 16
	blobOverhead = 1 + nonceSize + tagSize
)

// Labels separate the uses of AES-GCM; each is put into the additional data.
const (
	labelData     = "buergerkoffer/data/v1"
	labelKeyWrap  = "buergerkoffer/key-wrap/v1"
	labelPassword = "buergerkoffer/password-wrap/v1"
	labelValue    = "buergerkoffer/sealed-value/v1"
)

// ErrDecrypt is returned when a ciphertext is malformed, was made under
// another key or another AAD, or was altered. The cases are deliberately not
// told apart.
var ErrDecrypt = errors.New("crypto: decryption failed")

// DataKey is a 256-bit AES key: the device data key, or any key the
// device data key wraps.
type DataKey [KeySize]byte

// NewDataKey returns a fresh random data key.
func NewDataKey() (DataKey, error) {
	var k DataKey
	if _, err := rand.Read(k[:]); err != nil {
		return DataKey{}, fmt.Errorf("crypto: new data key: %w", err)
	}
	return k, nil
}

// Zero overwrites the key with zeros. Call it when the key is no longer
// needed (the app locks). It clears this copy only: Go may have copied the
// array elsewhere (it is passed by value), so Zero limits exposure but does
// not guarantee that no copy remains in memory.
func (k *DataKey) Zero() { clear(k[:]) }

// Encrypt encrypts plaintext under key with AES-256-GCM and a random nonce.
// The aad is authenticated, not encrypted: the store passes the table,
// column and record id, so a ciphertext copied into another row fails to
// decrypt. The result is 0x01 || nonce || ciphertext || tag.
//
// Random 96-bit nonces are safe for about 2^32 encryptions under one key
// (NIST SP 800-38D), far more than one device writes.
func Encrypt(key DataKey, plaintext, aad []byte) ([]byte, error) {
	return seal(key[:], labelData, plaintext, aad)
}

// Decrypt reverses Encrypt. It returns ErrDecrypt for a wrong key, a
// different aad, an altered or truncated blob; it never panics on
// malformed input.
func Decrypt(key DataKey, blob, aad []byte) ([]byte, error) {
	return open(key[:], labelData, blob, aad)
}

// WrapKey encrypts a key (the device private key in PKCS#8 DER, a content
// key) under kek, the device data key. The aad names what is wrapped, for
// example "device-key" or a case id, so a wrapped key cannot be swapped for
// another. Deleting the result destroys the key (crypto-shredding).
func WrapKey(kek DataKey, key, aad []byte) ([]byte, error) {
	return seal(kek[:], labelKeyWrap, key, aad)
}

// UnwrapKey reverses WrapKey. It returns ErrDecrypt on any failure.
func UnwrapKey(kek DataKey, wrapped, aad []byte) ([]byte, error) {
	return open(kek[:], labelKeyWrap, wrapped, aad)
}

// additionalData joins the label of a use with the caller's aad. The label
// contains no zero byte, so the zero separator keeps the join unambiguous.
// The version byte is included so that the header, too, is authenticated.
func additionalData(label string, aad []byte) []byte {
	ad := make([]byte, 0, 1+len(label)+1+len(aad))
	ad = append(ad, blobVersion)
	ad = append(ad, label...)
	ad = append(ad, 0)
	return append(ad, aad...)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	// The AEAD draws the nonce from crypto/rand and prepends it.
	return cipher.NewGCMWithRandomNonce(block)
}

// seal is the one place that encrypts with AES-GCM.
func seal(key []byte, label string, plaintext, aad []byte) ([]byte, error) {
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("crypto: encrypt: %w", err)
	}
	dst := make([]byte, 1, blobOverhead+len(plaintext))
	dst[0] = blobVersion
	return aead.Seal(dst, nil, plaintext, additionalData(label, aad)), nil
}

// open is the one place that decrypts with AES-GCM.
func open(key []byte, label string, blob, aad []byte) ([]byte, error) {
	if len(blob) < blobOverhead || blob[0] != blobVersion {
		return nil, ErrDecrypt
	}
	aead, err := newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("crypto: decrypt: %w", err)
	}
	plaintext, err := aead.Open(nil, nil, blob[1:], additionalData(label, aad))
	if err != nil {
		return nil, ErrDecrypt
	}
	return plaintext, nil
}

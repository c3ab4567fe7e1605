// Package crypto owns every cryptographic operation of the kit. No other
// package calls crypto/aes, crypto/rsa, argon2 or go-jose directly.
//
// Only established algorithms are used (BSI IT-Grundschutz CON.1):
// AES-256-GCM for data at rest and for bulk sealing, argon2id (RFC 9106) to
// derive a key from a clerk's password, RSA-3072 with OAEP/SHA-256 for the
// one asymmetric operation per case, batch or page, SHA-256 for content
// addresses and token hashes, and HMAC-SHA256 (under a key HKDF-SHA256
// derives from the data key, or a random one of the agent's) for the audit
// chain. Every random value comes from crypto/rand.
//
// The keys of a device, from the outside in:
//
//   - A clerk's password derives (argon2id) a key-encryption key that wraps
//     the device data key: WrapWithPassword, UnwrapWithPassword. Unlocking the
//     app means unwrapping it; changing a password re-wraps it.
//   - The device data key (DataKey) encrypts personal data at rest (Encrypt,
//     Decrypt) and wraps the device private key and per-case content keys
//     (WrapKey, UnwrapKey). Destroying a wrapped key destroys what it
//     protects (BSI CON.6.A12, crypto-shredding).
//   - Values for the server are sealed under a ContentKey (SealValue) that is
//     sealed once for the server's RSA public key (SealKey), so one RSA
//     operation covers a whole case or batch. Seal and Open make a complete
//     compact JWE (RSA-OAEP-256, A256GCM) of a single message.
//
// All symmetric ciphertexts share one layout, a version byte followed by the
// nonce and the GCM output:
//
//	0x01 || nonce (12 bytes) || ciphertext || tag (16 bytes)
//
// Each use (data, key wrapping, password wrapping, sealed values) puts its
// own label into the GCM additional data ahead of the caller's, so a
// ciphertext made for one use never decrypts as another, and a ciphertext
// bound to one record (its AAD) never decrypts for another.
//
// Errors never carry key material, passwords or plaintext.
package crypto

// Package fitconnect is the sender side of FITKO's FIT-Connect Submission API v1.
//
// It owns everything a sending system must get right on the wire:
//   - OAuth 2.0 client credentials (token cached, renewed on expiry and once on a 401);
//   - the destination check (active, offers the service) and the strict check of its
//     encryption key (RSA >= 4096 bits, key_ops wrapKey, alg RSA-OAEP-256, x5c chain to the
//     administration PKI's trust anchor, leaf certificate equal to the JWK);
//   - end-to-end encryption as compact JWE (RSA-OAEP-256 + A256GCM, kid set, no compression);
//   - the submission flow (create with announced attachments, upload, submit, read back);
//   - FITKO's metadata document with SHA-512 hashes, validated against the embedded
//     metadata schema before anything leaves the process;
//   - the event log: every security event token (SET, PS512) is verified by its issuer,
//     the submission service against its JWKS and the receiving authority against the
//     destination's signature key, and checked against the submission and case;
//   - the HMAC-SHA512 check of callbacks.
//
// The client never retries a request except to renew the access token; retries and backoff
// belong to the caller (the hand-off worker). Errors never carry personal data: payloads,
// file names and token contents stay out of every error text.
package fitconnect

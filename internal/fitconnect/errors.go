package fitconnect

import (
	"errors"
	"fmt"
	"net/http"
)

// ProblemError is an answer of the Submission API or the token endpoint that was not a
// success: the RFC 7807 problem details where the server sent them, the status always.
type ProblemError struct {
	Status                        int
	Type, Title, Detail, Instance string
}

func (e *ProblemError) Error() string {
	msg := fmt.Sprintf("fitconnect: HTTP %d", e.Status)
	if e.Title != "" {
		msg += ": " + e.Title
	}
	if e.Type != "" && e.Type != "about:blank" {
		msg += " (" + e.Type + ")"
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Temporary reports whether trying again later may succeed (5xx, 429).
func (e *ProblemError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests
}

// Sentinel errors; every refusal wraps one of them.
var (
	ErrKeyRefused          = errors.New("fitconnect: key refused")
	ErrDestinationInactive = errors.New("fitconnect: destination is not active")
	ErrServiceNotOffered   = errors.New("fitconnect: destination does not offer the service")
	// ErrMetadataVersion: the destination does not take the metadata
	// version we send (MetadataVersion).
	ErrMetadataVersion = errors.New("fitconnect: destination does not take our metadata version")
	ErrEventRefused    = errors.New("fitconnect: event refused")
	ErrCallbackRefused = errors.New("fitconnect: callback refused")
	ErrMetadataInvalid = errors.New("fitconnect: metadata invalid")
)

// reason is a refusal of a kind: errors.Is matches both the reason and its kind.
type reason struct {
	kind error
	text string
}

func (r *reason) Error() string { return r.kind.Error() + ": " + r.text }
func (r *reason) Unwrap() error { return r.kind }

// Why a key is refused (each wraps ErrKeyRefused).
var (
	ErrKeyMalformed = error(&reason{ErrKeyRefused, "malformed JWK"})
	ErrKeyTooShort  = error(&reason{ErrKeyRefused, "RSA key shorter than 4096 bits"})
	ErrKeyOps       = error(&reason{ErrKeyRefused, "key_ops lack the required operation"})
	ErrKeyAlg       = error(&reason{ErrKeyRefused, "wrong alg"})
	ErrKeyChain     = error(&reason{ErrKeyRefused, "x5c chain does not validate to a trust anchor"})
	ErrKeyMismatch  = error(&reason{ErrKeyRefused, "x5c leaf certificate does not hold the JWK's public key"})
)

// Why an event is refused (each wraps ErrEventRefused).
var (
	ErrEventMalformed = error(&reason{ErrEventRefused, "malformed token"})
	ErrEventHeader    = error(&reason{ErrEventRefused, "header not typ secevent+jwt, alg PS512 with kid"})
	ErrEventIssuer    = error(&reason{ErrEventRefused, "unknown issuer"})
	ErrEventKey       = error(&reason{ErrEventRefused, "no acceptable signature key"})
	ErrEventSignature = error(&reason{ErrEventRefused, "signature does not verify"})
	ErrEventClaims    = error(&reason{ErrEventRefused, "claims do not match the submission"})
)

// Why a callback is refused (each wraps ErrCallbackRefused).
var (
	ErrCallbackMAC   = error(&reason{ErrCallbackRefused, "HMAC does not match"})
	ErrCallbackStale = error(&reason{ErrCallbackRefused, "timestamp outside the accepted window"})
)

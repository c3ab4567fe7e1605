package agent

// The errors the agent tells apart: what the server said (HTTPError), what
// the network did, what the local store did. The loop picks its next step
// from them, and the app shows last_error in words a clerk understands.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/store"
)

// Errors a caller can test with errors.Is.
var (
	// ErrTruncated: a pull stream ended without its End line. What was
	// applied before stays; the next pull resumes at the checkpoint.
	ErrTruncated = errors.New("agent: pull stream ended without end line")
	// ErrProtocol: the server answered something the protocol does not
	// allow (a malformed body, results that do not match the request).
	ErrProtocol = errors.New("agent: server broke the sync protocol")
	// ErrTooLarge: a request is over a limit of the protocol, found before
	// sending it (the server answers 413 for the same).
	ErrTooLarge = errors.New("agent: request over the protocol's limit")
	// ErrInsecureURL: the server address is http:// for a host other
	// than this machine, where the device token would cross the network
	// in clear. Plain HTTP is for loopback only (tests, the demo).
	ErrInsecureURL = errors.New("agent: plain http:// is allowed for this machine only (127.0.0.0/8, ::1, localhost); use https://")
	// errStalled cancels an attempt that moved no byte for the client's
	// Timeout; it is a network error and is retried.
	errStalled = errors.New("agent: connection stalled")
)

// HTTPError is a non-2xx answer of the server.
type HTTPError struct {
	Status  int    // the HTTP status code
	Message string // the server's error text (syncproto.Error), if any
	// RetryAfter is the server's Retry-After, if it sent one (429, 503).
	RetryAfter time.Duration
	// Update says, for a 426, who needs the update (UpdateLaptop,
	// UpdateServer), as the server said it.
	Update string
}

func (e *HTTPError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("server: %d", e.Status)
	}
	return fmt.Sprintf("server: %d: %s", e.Status, e.Message)
}

// StatusOf returns the HTTP status of the server's answer inside err, or 0
// when err holds none.
func StatusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// IsUnauthorized reports whether the server refused the token (401): the
// device was revoked, or never enrolled with this server. Retrying does
// not help; the agent stops syncing until the laptop is enrolled again.
func IsUnauthorized(err error) bool { return StatusOf(err) == 401 }

// IsForbidden reports whether the server refused the tenant (403).
func IsForbidden(err error) bool { return StatusOf(err) == 403 }

// IsTooLarge reports whether a request was over a limit, found by the
// server (413) or before sending (ErrTooLarge).
func IsTooLarge(err error) bool { return StatusOf(err) == 413 || errors.Is(err, ErrTooLarge) }

// IsCertificate reports whether the server's TLS certificate was refused:
// not signed by the pinned CA, expired, or for another name.
func IsCertificate(err error) bool {
	var (
		uae *x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
		cve *tls.CertificateVerificationError
	)
	return errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie) || errors.As(err, &cve)
}

// IsNetwork reports whether err means the server could not be reached or
// the connection broke: no answer at all, as opposed to an answer that
// says no. The agent then probes /v1/health until the network is back.
func IsNetwork(err error) bool {
	if err == nil || StatusOf(err) != 0 || IsCertificate(err) || errors.Is(err, ErrProtocol) || isLocal(err) {
		return false
	}
	if errors.Is(err, ErrTruncated) || errors.Is(err, errStalled) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return true
	}
	var (
		ue *url.Error
		ne net.Error
		oe *net.OpError
	)
	return errors.As(err, &ue) || errors.As(err, &ne) || errors.As(err, &oe)
}

// enrolError marks a failed enrolment. A clerk acts on it differently
// from a failed sync: nothing is retried by itself, and an enrolment whose
// answer was lost may have used up the code.
type enrolError struct{ err error }

func (e *enrolError) Error() string { return e.err.Error() }
func (e *enrolError) Unwrap() error { return e.err }

// notSent reports whether err happened before the request reached the
// server (no such host, connection refused), so that a code is unused.
func notSent(err error) bool {
	var (
		dns *net.DNSError
		oe  *net.OpError
	)
	return errors.As(err, &dns) || (errors.As(err, &oe) && oe.Op == "dial")
}

// describeEnrol says what a failed enrolment means for the clerk, "" when
// Describe's words for a sync fit it as well.
func describeEnrol(err error) string {
	const newCode = "bitte bei der IT einen neuen Code anfordern"
	switch st := StatusOf(err); {
	case st == 429:
		wait := "eine Minute"
		if ra := retryAfter(err); ra > 0 {
			wait = fmt.Sprintf("%d Sekunden", int((ra+time.Second-1)/time.Second))
		}
		return "Zu viele Anmeldeversuche mit falschem Code – bitte " + wait + " warten und es dann erneut versuchen"
	case st == 401:
		return "Der Code ist unbekannt, schon benutzt oder abgelaufen – " + newCode
	case st >= 500:
		return fmt.Sprintf("Anmeldung am Server fehlgeschlagen (%d) – %s", st, newCode)
	case st != 0 || IsCertificate(err):
		return ""
	case notSent(err):
		return "Keine Verbindung zum Server – der Code ist noch gültig, bitte später erneut versuchen"
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return "Anmeldung abgebrochen – der Code ist womöglich verbraucht; " + newCode
	}
	return "Die Antwort des Servers ging verloren – der Code ist womöglich verbraucht; " + newCode
}

// localError marks a failure of the local store, so that it is not taken
// for the server's.
type localError struct {
	op  string
	err error
}

func (e *localError) Error() string { return "agent: local store: " + e.op + ": " + e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

func local(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("agent: %s: %w", op, err)
	}
	return &localError{op: op, err: err}
}

func isEnrol(err error) bool {
	var ee *enrolError
	return errors.As(err, &ee)
}

func isLocal(err error) bool {
	var le *localError
	return errors.As(err, &le)
}

// Describe says in plain German what went wrong, for the app's
// last_error; "" for nil. It never repeats the server's or the store's
// text, which a clerk cannot act on (the log has it).
func Describe(err error) string {
	switch {
	case err == nil:
		return ""
	case isEnrol(err) && describeEnrol(err) != "":
		return describeEnrol(err)
	case errors.Is(err, ErrInsecureURL):
		return "Unverschlüsselte Serveradresse (http://) – bitte die https://-Adresse von der IT verwenden"
	case errors.Is(err, store.ErrNotEnrolled):
		return "Gerät ist noch nicht beim Server angemeldet – bitte an die IT wenden"
	case IsUpdateRequired(err) && UpdateOf(err) == UpdateServer:
		return "Bitte Bürgerkoffer aktualisieren: der Server des Rathauses ist älter als dieser Laptop – bitte die IT verständigen. Die Änderungen bleiben hier gespeichert."
	case IsUpdateRequired(err):
		return "Bitte Bürgerkoffer aktualisieren: dieser Laptop ist älter als der Server des Rathauses – bitte die IT verständigen. Die Änderungen bleiben hier gespeichert."
	case IsUnauthorized(err):
		return "Gerät ist gesperrt – bitte an die IT wenden"
	case IsForbidden(err):
		return "Kein Zugriff auf die Daten dieser Kommune – bitte an die IT wenden"
	case IsTooLarge(err):
		return "Daten zu groß für den Server (413) – bitte an die IT wenden"
	case StatusOf(err) == 429:
		return "Server ist ausgelastet (429) – neuer Versuch folgt automatisch"
	case StatusOf(err) >= 500:
		return fmt.Sprintf("Server antwortet nicht (%d)", StatusOf(err))
	case StatusOf(err) != 0:
		return fmt.Sprintf("Server lehnt die Anfrage ab (%d) – bitte an die IT wenden", StatusOf(err))
	case IsCertificate(err):
		return "Zertifikat des Servers ist nicht vertrauenswürdig – bitte an die IT wenden"
	case errors.Is(err, ErrProtocol):
		return "Server antwortet fehlerhaft – bitte an die IT wenden"
	case isLocal(err):
		return "Fehler in der lokalen Datenbank – bitte an die IT wenden"
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return "Synchronisierung abgebrochen"
	case IsNetwork(err):
		return "Keine Verbindung zum Server"
	}
	return "Synchronisierung fehlgeschlagen"
}

// retryAfter returns the Retry-After the server sent with err, or 0.
func retryAfter(err error) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.RetryAfter
	}
	return 0
}

// errorMessage extracts the text of an error body: syncproto.Error's
// field when it is JSON, else the start of the text.
func errorMessage(body []byte, jsonMsg string) string {
	if jsonMsg != "" {
		return jsonMsg
	}
	s := strings.TrimSpace(string(body))
	if len(s) > 200 {
		s = s[:200]
	}
	return strings.ToValidUTF8(s, "")
}

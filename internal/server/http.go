package server

// This file is the HTTP surface (see package syncproto for the protocol):
// routing, authentication, error bodies, health, enrolment and push.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// seenEvery is how often a device's last_seen_at is written at most.
const seenEvery = time.Minute

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/health", s.handleHealth)
	mux.HandleFunc("/v1/ready", s.handleReady)
	mux.HandleFunc("/metrics", s.metrics.handler(s.metricsToken, s.tenantIDs))
	mux.HandleFunc("/v1/enrol", s.handleEnrol)
	mux.HandleFunc("/v1/tenants/{tenant}/push", compressAnswers(s.authed(http.MethodPost, s.handlePush)))
	mux.HandleFunc("/v1/tenants/{tenant}/pull", compressAnswers(s.authed(http.MethodGet, s.handlePull)))
	mux.HandleFunc("/v1/tenants/{tenant}/records/{record}/attachments/{sha}",
		s.authed(http.MethodHead+","+http.MethodPatch+","+http.MethodGet, s.handleAttachment))
	mux.HandleFunc("/v1/tenants/{tenant}/attachments/{sha}",
		s.authed(http.MethodHead+","+http.MethodPatch+","+http.MethodGet, s.handleLegacyAttachment))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no such endpoint")
	})
	return s.metrics.instrument(s.protocolGate(decodeRequests(mux)))
}

// writeError writes a syncproto.Error body.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(syncproto.Error{Error: msg}) // a struct of one string cannot fail
	w.Write(append(b, '\n'))
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(b, '\n'))
}

// fail answers an error of the server's own making: 500, logged; or, for
// a database that is away (ErrUnavailable), 503 with Retry-After, which
// the agent retries. The error texts of this package carry ids, never
// personal values.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away (an agent killed or cut off mid-push):
		// its transaction was rolled back, whatever error that surfaced
		// as ("context canceled", "Rows are closed"). Nothing to alarm
		// an operator about; the agent sends the batch again.
		s.log.Info("request abandoned by the client", "method", r.Method, "path", r.URL.Path)
		return
	}
	if errors.Is(err, ErrUnavailable) {
		s.log.Warn("request refused: database unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		s.unavailable(w)
		return
	}
	s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

func allowed(w http.ResponseWriter, r *http.Request, methods string) bool {
	for _, m := range strings.Split(methods, ",") {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.ReplaceAll(methods, ",", ", "))
	writeError(w, http.StatusMethodNotAllowed, "method not allowed")
	return false
}

// authed wraps a handler of a tenant's endpoint: the method must be one of
// methods, the bearer token that of a device that is not revoked (401),
// and the tenant the device's (403). The device is looked up on every
// request, so a revocation takes effect at once.
func (s *Server) authed(methods string, h func(http.ResponseWriter, *http.Request, Device)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !allowed(w, r, methods) {
			return
		}
		auth := r.Header.Get("Authorization")
		scheme, token, ok := strings.Cut(auth, " ")
		token = strings.TrimSpace(token)
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="syncd"`)
			writeError(w, http.StatusUnauthorized, "device token required")
			return
		}
		dev, err := s.st.DeviceByToken(r.Context(), crypto.HashToken(token))
		if errors.Is(err, ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="syncd", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "unknown or revoked token")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if r.PathValue("tenant") != dev.Tenant {
			writeError(w, http.StatusForbidden, "not this device's tenant")
			return
		}
		s.touch(r.Context(), dev.ID)
		s.metrics.active.seen(dev)
		s.noteVersion(r, dev)
		h(w, r, dev)
	}
}

// touch writes a device's last_seen_at, at most once per seenEvery.
func (s *Server) touch(ctx context.Context, id string) {
	now := s.now()
	s.seenMu.Lock()
	last, ok := s.seen[id]
	if ok && now.Sub(last) < seenEvery && now.After(last) {
		s.seenMu.Unlock()
		return
	}
	s.seen[id] = now
	s.seenMu.Unlock()
	err := s.st.Update(ctx, "", func(tx Tx) error { return tx.TouchDevice(ctx, id, now) })
	if err != nil {
		// Not written (a database that is away, a client gone): the
		// device's next request tries again.
		s.seenMu.Lock()
		if s.seen[id] == now {
			delete(s.seen, id)
		}
		s.seenMu.Unlock()
	}
	if err != nil && ctx.Err() == nil {
		s.log.Warn("note device seen", "device", id, "err", err)
	}
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if !allowed(w, r, http.MethodGet) {
		return
	}
	writeJSON(w, syncproto.Health{Status: "ok", Protocol: syncproto.Version, Time: s.now().UTC().Format(time.RFC3339)})
}

// decodeBody reads a JSON body of at most syncproto.MaxBodyBytes into v.
// It answers 413 or 400 itself and returns false when it did.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	return decodeJSON(w, http.MaxBytesReader(w, r.Body, syncproto.MaxBodyBytes), v)
}

// decodeJSON reads one JSON value from body (limited by the caller) into
// v, answering 413 or 400 if it cannot.
func decodeJSON(w http.ResponseWriter, body io.Reader, v any) bool {
	dec := json.NewDecoder(body)
	err := dec.Decode(v)
	if err == nil {
		// One JSON value and nothing after it.
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("data after the JSON body")
		}
	}
	var tooBig *http.MaxBytesError
	var coding *syncproto.CodingError
	switch {
	case errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "body too large")
		return false
	case errors.As(err, &coding):
		writeError(w, http.StatusBadRequest, "compressed body is corrupt or cut short ("+coding.Coding+")")
		return false
	case err != nil:
		writeError(w, http.StatusBadRequest, "malformed JSON body")
		return false
	}
	return true
}

// handleEnrol redeems an enrolment code. An address that sent too many
// wrong codes is answered 429 (enrollimit.go), and a code is looked up by
// a read before the write transaction that redeems it.
func (s *Server) handleEnrol(w http.ResponseWriter, r *http.Request) {
	if !allowed(w, r, http.MethodPost) {
		return
	}
	addr := clientAddr(r.RemoteAddr)
	if wait := s.enrolLimit.wait(addr, s.now()); wait > 0 {
		s.metrics.enrolments.WithLabelValues(enrolThrottled).Inc()
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		writeError(w, http.StatusTooManyRequests, "too many wrong enrolment codes from this address; wait, then ask for a new code")
		return
	}
	var req syncproto.EnrolRequest
	if !decodeBody(w, r, &req) {
		return
	}
	code, ok := normaliseCode(req.Code)
	if !ok {
		s.wrongCode(w, addr)
		return
	}
	// The code first, by a read: a wrong one is answered, and counted,
	// whatever else the request holds, and takes no write transaction.
	open, err := s.st.EnrolmentOpen(r.Context(), crypto.HashToken(code), s.now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !open {
		s.wrongCode(w, addr)
		return
	}
	if len(req.Name) > maxTextLen || len(req.LocalID) > maxTextLen {
		writeError(w, http.StatusBadRequest, "name or local id too long")
		return
	}
	pub, err := crypto.ParsePublicKeyPEM([]byte(req.PublicKey))
	if err != nil {
		writeError(w, http.StatusBadRequest, "device public key: not an RSA public key of 3072 bits or more")
		return
	}
	kid, err := crypto.KeyID(pub)
	if err != nil {
		writeError(w, http.StatusBadRequest, "device public key unusable")
		return
	}
	token, err := crypto.NewToken()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dev := Device{ID: domain.NewID(), Name: req.Name, LocalID: req.LocalID, PublicKeyPEM: req.PublicKey, KeyID: kid,
		EnrolledAt: s.now()}
	tenant, err := s.st.Redeem(r.Context(), crypto.HashToken(code), crypto.HashToken(token), dev)
	if errors.Is(err, ErrNotFound) { // used by another request since the read
		s.wrongCode(w, addr)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tk, err := s.st.TenantKey(r.Context(), tenant)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.log.Info("device enrolled", "tenant", tenant, "device", dev.ID)
	s.metrics.enrolments.WithLabelValues(enrolEnrolled).Inc()
	writeJSON(w, syncproto.EnrolResponse{Tenant: tenant, DeviceID: dev.ID, Token: token,
		ServerPublicKey: tk.PublicPEM, ServerKeyID: tk.KeyID})
}

// wrongCode answers a wrong enrolment code and counts it against addr.
func (s *Server) wrongCode(w http.ResponseWriter, addr string) {
	s.metrics.enrolments.WithLabelValues(enrolRefused).Inc()
	if s.enrolLimit.failed(addr, s.now()) {
		s.log.Warn("enrolment throttled: too many wrong codes", "addr", addr, "per", enrolWindow.String(),
			"failures", enrolFailures)
	}
	writeError(w, http.StatusUnauthorized, "unknown, used or expired enrolment code")
}

func (s *Server) handlePush(w http.ResponseWriter, r *http.Request, dev Device) {
	var req syncproto.PushRequest
	if !decodePush(w, r, &req) {
		return
	}
	if len(req.Changes) > syncproto.MaxPushChanges {
		writeError(w, http.StatusRequestEntityTooLarge, "too many changes in one push")
		return
	}
	if err := validatePush(&req); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	resp, err := s.push(r.Context(), dev, &req)
	var bad *badRequest
	if errors.As(err, &bad) {
		writeError(w, http.StatusBadRequest, bad.msg)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.metrics.pushed(dev.Tenant, resp.Results)
	if s.compactAnswers(r) {
		writeJSON(w, syncproto.CompactAnswer(&resp))
		return
	}
	writeJSON(w, resp)
}

package handoff

// This file is the callback endpoint: the submission service announces new
// events of a case; the worker then polls that case's event log at once
// instead of at its next pass. The callback is authenticated by
// fitconnect.VerifyCallback (HMAC-SHA512 over "timestamp.body", constant
// time, no older than 5 minutes); it carries no answer itself, so a forged
// one could at most cause a poll, and a refused one causes nothing.

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

// maxCallbackBody bounds a callback's body.
const maxCallbackBody = 64 << 10

// Callback is the HTTP handler of the callback endpoint.
type Callback struct {
	Worker *Worker
	Secret []byte
	Now    func() time.Time // default time.Now
}

// ServeHTTP verifies a callback and pokes the worker: 204 when taken, 400
// for a stale or malformed one, 401 for a wrong HMAC.
func (cb Callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxCallbackBody))
	if err != nil {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	now := time.Now
	if cb.Now != nil {
		now = cb.Now
	}
	err = fitconnect.VerifyCallback(cb.Secret, r.Header.Get("callback-timestamp"), r.Header.Get("callback-authentication"),
		body, now())
	if err != nil {
		status := http.StatusUnauthorized
		if errors.Is(err, fitconnect.ErrCallbackStale) {
			status = http.StatusBadRequest
		}
		cb.Worker.log.Warn("callback refused", "status", status, "err", err)
		http.Error(w, http.StatusText(status), status)
		return
	}
	ids, err := callbackCases(body)
	if err != nil {
		http.Error(w, "body is not a callback", http.StatusBadRequest)
		return
	}
	cb.Worker.log.Info("callback", "fitconnect_cases", len(ids))
	for _, id := range ids {
		cb.Worker.Poke(id)
	}
	w.WriteHeader(http.StatusNoContent)
}

// callbackCases are the FIT-Connect case ids a callback names: the
// submissions' caseId (FITKO's shape of a notification), or a caseId of
// its own; none means "poll every submitted case".
func callbackCases(body []byte) ([]string, error) {
	var msg struct {
		CaseID      string `json:"caseId"`
		Submissions []struct {
			CaseID string `json:"caseId"`
		} `json:"submissions"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		return nil, err
	}
	var ids []string
	if msg.CaseID != "" {
		ids = append(ids, msg.CaseID)
	}
	for _, s := range msg.Submissions {
		if s.CaseID != "" {
			ids = append(ids, s.CaseID)
		}
	}
	if len(ids) == 0 {
		ids = []string{""}
	}
	return ids, nil
}

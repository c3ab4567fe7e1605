package fitconnecttest

// Callbacks: after each new event the service POSTs a notification to the URL set with SetCallback,
// authenticated as FIT-Connect documents it: header callback-timestamp (Unix seconds) and header
// callback-authentication, the hex HMAC-SHA512 with the callback secret over "<timestamp>.<body>".
// FITKO documents the body for new submissions (type …/callbacks/new-submissions); for a sender's case the
// double uses the same shape with type CallbackTypeNewEvents, which is this double's choice.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha512"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// CallbackTypeNewEvents is the type of the notifications this double sends.
const CallbackTypeNewEvents = "https://schema.fitko.de/fit-connect/submission-api/callbacks/new-events"

type callbackTarget struct {
	url    string
	secret []byte
}

// CallbackResult is one callback delivery.
type CallbackResult struct {
	CaseID string
	Status int   // HTTP status of the answer; 0 when there was none
	Err    error // transport error
}

// SetCallback makes the service notify url of every new event; an empty url stops the notifications.
func (s *Service) SetCallback(url string, secret []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if url == "" {
		s.callback = nil
		return
	}
	s.callback = &callbackTarget{url: url, secret: bytes.Clone(secret)}
}

// CallbackResults returns the deliveries so far.
func (s *Service) CallbackResults() []CallbackResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.callbacks)
}

// SignCallback is the callback-authentication value for a timestamp and body: hex HMAC-SHA512 over
// "<timestamp>.<body>".
func SignCallback(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha512.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// CallbackRequest builds a signed callback POST as the service sends it, for tests that forge their own
// (a wrong secret, a stale timestamp).
func CallbackRequest(ctx context.Context, url string, secret []byte, at time.Time, body []byte) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("make callback request: %w", err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("callback-timestamp", ts)
	req.Header.Set("callback-authentication", SignCallback(secret, ts, body))
	return req, nil
}

// notify sends the callback for a new event of sub's case in the background; Close waits for it.
func (s *Service) notify(sub *submission) {
	s.mu.Lock()
	target := s.callback
	if target == nil || s.closed {
		s.mu.Unlock()
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	body, _ := json.Marshal(map[string]any{
		"type": CallbackTypeNewEvents,
		"submissions": []map[string]string{
			{"destinationId": s.destinationID, "submissionId": sub.id, "caseId": sub.caseID},
		},
	})
	go func() {
		defer s.wg.Done()
		res := s.deliver(target, body)
		res.CaseID = sub.caseID
		s.mu.Lock()
		s.callbacks = append(s.callbacks, res)
		s.mu.Unlock()
	}()
}

func (s *Service) deliver(target *callbackTarget, body []byte) CallbackResult {
	ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
	defer cancel()
	req, err := CallbackRequest(ctx, target.url, target.secret, s.now(), body)
	if err != nil {
		return CallbackResult{Err: err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return CallbackResult{Err: fmt.Errorf("deliver callback: %w", err)}
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return CallbackResult{Status: resp.StatusCode}
}

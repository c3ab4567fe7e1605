package handoff_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/fitconnect/fitconnecttest"
	"github.com/buergerkoffer/kit/internal/handoff"
	"github.com/buergerkoffer/kit/internal/server"
)

// The callback endpoint: the service's signed notification makes the
// running worker poll the case at once (its regular poll is an hour
// away); a wrong HMAC (401) or a stale timestamp (400) makes it do
// nothing.
func TestCallback_PollsOnlyWhenAuthentic(t *testing.T) {
	e := newEnv(t, fitconnecttest.Options{})
	first, second := e.seal("meldebescheinigung"), e.seal("meldebescheinigung")
	e.sync()
	e.route()
	w := e.worker(nil)
	secret := []byte("callback-secret-of-the-test")
	ts := httptest.NewServer(handoff.Callback{Worker: w, Secret: secret})
	t.Cleanup(ts.Close)

	ctx, cancel := context.WithCancel(e.ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Run(ctx, time.Hour)
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	waitFor(t, "both cases submitted", func() bool {
		return e.step(first) == server.StepSubmitted && e.step(second) == server.StepSubmitted
	})

	// The service's own notification.
	e.fc.SetCallback(ts.URL, secret)
	if err := e.fc.Accept(e.hcase(first).SubmissionID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first case accepted", func() bool {
		return e.status(first).Fields["status"] == string(domain.StatusAccepted)
	})

	// Forged notifications of the second case's answer do nothing.
	e.fc.SetCallback("", nil)
	sub := e.hcase(second)
	if err := e.fc.Accept(sub.SubmissionID); err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"type":"` + fitconnecttest.CallbackTypeNewEvents + `","submissions":[{"caseId":"` + sub.FitConnectCaseID + `"}]}`)
	for _, c := range []struct {
		name   string
		secret []byte
		at     time.Time
		want   int
	}{
		{"wrong HMAC", []byte("not-the-secret"), time.Now(), http.StatusUnauthorized},
		{"stale timestamp", secret, time.Now().Add(-6 * time.Minute), http.StatusBadRequest},
	} {
		if got := postCallback(t, ts.URL, c.secret, c.at, body); got != c.want {
			t.Errorf("%s: answered %d, want %d", c.name, got, c.want)
		}
	}
	time.Sleep(500 * time.Millisecond)
	if s := e.status(second).Fields["status"]; s != string(domain.StatusSubmitted) {
		t.Fatalf("a refused callback led to the answer being taken: %s", s)
	}
	if got := postCallback(t, ts.URL, secret, time.Now(), body); got != http.StatusNoContent {
		t.Fatalf("authentic callback answered %d", got)
	}
	waitFor(t, "the second case accepted", func() bool {
		return e.status(second).Fields["status"] == string(domain.StatusAccepted)
	})
}

func postCallback(t *testing.T, url string, secret []byte, at time.Time, body []byte) int {
	t.Helper()
	req, err := fitconnecttest.CallbackRequest(t.Context(), url, secret, at, body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// step is a case's step, "" before the worker found it.
func (e *env) step(id string) string {
	c, err := e.srv.Handoff().HandoffCase(e.ctx, tenant, id)
	if err != nil {
		return ""
	}
	return c.Step
}

package fitconnect_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/fitconnect"
)

func TestNew_RefusesIncompleteConfig(t *testing.T) {
	pool := newCA(t, "x").pool
	good := fitconnect.Config{SubmissionAPI: "https://submission.example", TokenURL: "https://auth.example/token",
		ClientID: "a", ClientSecret: "b", TrustAnchors: pool}
	if _, err := fitconnect.New(good); err != nil {
		t.Fatalf("good config refused: %v", err)
	}
	for name, mutate := range map[string]func(*fitconnect.Config){
		"no trust anchors": func(c *fitconnect.Config) { c.TrustAnchors = nil },
		"no secret":        func(c *fitconnect.Config) { c.ClientSecret = "" },
		"with /v1":         func(c *fitconnect.Config) { c.SubmissionAPI += "/v1" },
		"not a URL":        func(c *fitconnect.Config) { c.SubmissionAPI = "submission.example" },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := fitconnect.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestToken_CachedAndRenewedAfterExpiry(t *testing.T) {
	f := newFake(t)
	f.tokenLifetime = 5 * time.Minute
	c := f.client(t, newCA(t, "x").pool)
	ctx := context.Background()
	for range 3 {
		if _, err := c.Destination(ctx, f.destID()); err != nil {
			t.Fatal(err)
		}
	}
	if f.tokensIssued != 1 {
		t.Fatalf("tokens issued for 3 calls within the lifetime = %d, want 1", f.tokensIssued)
	}
	f.clock.Advance(5*time.Minute + time.Second)
	if _, err := c.Destination(ctx, f.destID()); err != nil {
		t.Fatalf("call after expiry: %v", err)
	}
	if f.tokensIssued != 2 {
		t.Fatalf("tokens issued after expiry = %d, want 2", f.tokensIssued)
	}
}

func TestToken_RenewedOnceOn401(t *testing.T) {
	f := newFake(t)
	c := f.client(t, newCA(t, "x").pool)
	ctx := context.Background()
	if _, err := c.Destination(ctx, f.destID()); err != nil {
		t.Fatal(err)
	}
	clear(f.tokens) // the server forgets the token before it expires
	if _, err := c.Destination(ctx, f.destID()); err != nil {
		t.Fatalf("call after revocation: %v", err)
	}
	if f.tokensIssued != 2 {
		t.Fatalf("tokens issued = %d, want 2", f.tokensIssued)
	}

	f.tokenLifetime = -time.Second // every token is dead on arrival: the API always answers 401
	clear(f.tokens)
	before := f.apiCalls
	_, err := c.Destination(ctx, f.destID())
	var p *fitconnect.ProblemError
	if !errors.As(err, &p) || p.Status != http.StatusUnauthorized {
		t.Fatalf("err = %v, want a 401 problem", err)
	}
	if got := f.apiCalls - before; got != 2 {
		t.Fatalf("API attempts with a refused token = %d, want exactly 2 (one renewal, no retry loop)", got)
	}
}

func TestToken_EndpointRefusalIsTyped(t *testing.T) {
	f := newFake(t)
	c := f.client(t, newCA(t, "x").pool)
	for _, tc := range []struct {
		status    int
		temporary bool
	}{{http.StatusServiceUnavailable, true}, {http.StatusUnauthorized, false}} {
		f.tokenFailure = tc.status
		_, err := c.Destination(context.Background(), f.destID())
		var p *fitconnect.ProblemError
		if !errors.As(err, &p) || p.Status != tc.status || p.Temporary() != tc.temporary {
			t.Fatalf("token endpoint %d: err = %v, want problem with Temporary()=%v", tc.status, err, tc.temporary)
		}
		if strings.Contains(err.Error(), testSecret) {
			t.Fatalf("error text carries the client secret: %v", err)
		}
	}
}

func TestProblemDetails_BecomeTypedErrors(t *testing.T) {
	f := newFake(t)
	c := f.client(t, newCA(t, "x").pool)
	path := "GET /v1/destinations/" + f.destID()
	cases := []struct {
		name      string
		fail      failure
		want      fitconnect.ProblemError
		temporary bool
	}{
		{"problem+json 422", failure{422, "application/problem+json",
			`{"type":"https://schema.fitko.de/fit-connect/submission-api/problems/x","title":"Unprocessable","status":422,"detail":"d","instance":"/i"}`},
			fitconnect.ProblemError{Status: 422, Type: "https://schema.fitko.de/fit-connect/submission-api/problems/x",
				Title: "Unprocessable", Detail: "d", Instance: "/i"}, false},
		{"503 problem", failure{503, "application/problem+json", `{"type":"about:blank","title":"Service Unavailable"}`},
			fitconnect.ProblemError{Status: 503, Type: "about:blank", Title: "Service Unavailable"}, true},
		{"429 no body", failure{429, "text/plain", "slow down"},
			fitconnect.ProblemError{Status: 429, Title: "Too Many Requests"}, true},
		{"500 html", failure{500, "text/html", "<h1>oops</h1>"},
			fitconnect.ProblemError{Status: 500, Title: "Internal Server Error"}, true},
		{"404 broken json", failure{404, "application/problem+json", `{"type":`},
			fitconnect.ProblemError{Status: 404, Title: "Not Found"}, false},
	}
	for _, tc := range cases {
		f.fail[path] = tc.fail
		_, err := c.Destination(context.Background(), f.destID())
		var p *fitconnect.ProblemError
		if !errors.As(err, &p) {
			t.Fatalf("%s: err = %v, want *ProblemError", tc.name, err)
		}
		if *p != tc.want || p.Temporary() != tc.temporary {
			t.Errorf("%s: got %+v temporary=%v, want %+v temporary=%v", tc.name, *p, p.Temporary(), tc.want, tc.temporary)
		}
	}
}

func TestNetworkError_IsWrappedNotProblem(t *testing.T) {
	f := newFake(t)
	c := f.client(t, newCA(t, "x").pool)
	if _, err := c.Destination(context.Background(), f.destID()); err != nil {
		t.Fatal(err)
	}
	f.srv.Close()
	_, err := c.Destination(context.Background(), f.destID())
	var p *fitconnect.ProblemError
	if err == nil || errors.As(err, &p) {
		t.Fatalf("err = %v, want a network error that is not a problem", err)
	}
}

func TestSubmissionFlow(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	r, err := w.c.Recipient(ctx, w.f.destID(), testService)
	if err != nil {
		t.Fatal(err)
	}
	att := []string{"3b241101-e2bb-4255-8caf-4136c566a962", "6fa459ea-ee8a-4ca4-894e-db77e160355e"}
	created, err := w.c.CreateSubmission(ctx, r.DestinationID, testService, att)
	if err != nil {
		t.Fatal(err)
	}
	sub := w.f.submissions[created.SubmissionID]
	if sub == nil || sub.caseID != created.CaseID || strings.Join(sub.announced, ",") != strings.Join(att, ",") ||
		sub.serviceType["identifier"] != testLeiKa || sub.serviceType["name"] != testService.Name {
		t.Fatalf("service saw %+v for %+v", sub, created)
	}

	jwe, err := r.Encrypt([]byte("attachment bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.c.UploadAttachment(ctx, created.SubmissionID, att[0], jwe); err != nil {
		t.Fatal(err)
	}
	// Submitting with an attachment missing is the service's 4xx problem, not retried.
	err = w.c.Submit(ctx, created.SubmissionID, jwe, jwe)
	var p *fitconnect.ProblemError
	if !errors.As(err, &p) || p.Status != 422 || p.Temporary() {
		t.Fatalf("premature submit: err = %v, want 422 problem", err)
	}
	got, err := w.c.Submission(ctx, created.SubmissionID)
	if err != nil || got.Submitted || got.CaseID != created.CaseID || len(got.Attachments) != 2 {
		t.Fatalf("before submit: %+v, %v", got, err)
	}

	if err := w.c.UploadAttachment(ctx, created.SubmissionID, att[1], jwe); err != nil {
		t.Fatal(err)
	}
	if err := w.c.Submit(ctx, created.SubmissionID, jwe, jwe); err != nil {
		t.Fatal(err)
	}
	got, err = w.c.Submission(ctx, created.SubmissionID)
	if err != nil || !got.Submitted || got.DestinationID != w.f.destID() {
		t.Fatalf("after submit: %+v, %v", got, err)
	}
	for id, ct := range sub.contentTypes {
		if ct != "application/jose" {
			t.Errorf("attachment %s uploaded as %q, want application/jose", id, ct)
		}
	}
}

func TestLoadTrustAnchors(t *testing.T) {
	dir := t.TempDir()
	ca := newCA(t, "Verwaltungs-PKI")
	good := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.root.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool, err := fitconnect.LoadTrustAnchors(good)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.inter.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Fatalf("loaded pool does not anchor the PKI: %v", err)
	}
	bad := filepath.Join(dir, "bad.pem")
	_ = os.WriteFile(bad, []byte("not a certificate"), 0o600)
	for _, f := range []string{bad, filepath.Join(dir, "missing.pem")} {
		if _, err := fitconnect.LoadTrustAnchors(f); err == nil {
			t.Errorf("%s: accepted", filepath.Base(f))
		}
	}
}

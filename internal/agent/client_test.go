package agent_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

func newClient(t *testing.T, url string, mod ...func(*agent.ClientConfig)) *agent.Client {
	t.Helper()
	cfg := agent.ClientConfig{BaseURL: url, Token: testToken, RetryCount: 3, RetryWait: time.Millisecond,
		RetryMaxWait: 10 * time.Millisecond, Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := agent.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func changes(ids ...string) syncproto.PushRequest {
	req := syncproto.PushRequest{}
	for _, id := range ids {
		req.Changes = append(req.Changes, syncproto.Change{ID: id, RecordID: "r-" + id, RecordType: "case", Op: "create"})
	}
	return req
}

func TestClient_PushIsIdempotent(t *testing.T) {
	f := newFakeServer(t)
	c := newClient(t, f.URL())
	ctx := context.Background()
	req := changes("a", "b")
	first, err := c.Push(ctx, testTenant, req)
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.Push(ctx, testTenant, req)
	if err != nil {
		t.Fatal(err)
	}
	for i := range req.Changes {
		if first.Results[i].Status != syncproto.StatusApplied || second.Results[i].Status != syncproto.StatusDuplicate ||
			first.Results[i].Seq != second.Results[i].Seq {
			t.Errorf("change %d: first %+v, second %+v", i, first.Results[i], second.Results[i])
		}
	}
}

func TestClient_RetriesServerErrorsThenSucceeds(t *testing.T) {
	for _, status := range []int{503, 500, 429} {
		f := newFakeServer(t)
		f.set(func(f *fakeServer) { f.fail["push"] = []int{status, status} })
		c := newClient(t, f.URL())
		if _, err := c.Push(context.Background(), testTenant, changes("a")); err != nil {
			t.Fatalf("%d: %v", status, err)
		}
		if got := f.hit("push"); got != 3 {
			t.Errorf("%d: %d pushes, want 3", status, got)
		}
	}
}

func TestClient_GivesUpAfterRetryCount(t *testing.T) {
	f := newFakeServer(t)
	f.set(func(f *fakeServer) { f.fail["push"] = []int{503, 503, 503, 503, 503} })
	c := newClient(t, f.URL(), func(c *agent.ClientConfig) { c.RetryCount = 2 })
	_, err := c.Push(context.Background(), testTenant, changes("a"))
	if agent.StatusOf(err) != 503 {
		t.Fatalf("err %v, want a 503", err)
	}
	var he *agent.HTTPError
	if !errors.As(err, &he) || he.Message != "injected failure" {
		t.Errorf("err %#v: want the server's message", err)
	}
	if got := f.hit("push"); got != 3 {
		t.Errorf("%d pushes, want 3 (1 + 2 retries)", got)
	}
	if got := agent.Describe(err); got != "Server antwortet nicht (503)" {
		t.Errorf("describe: %q", got)
	}
}

func TestClient_RespectsRetryAfter(t *testing.T) {
	f := newFakeServer(t)
	f.set(func(f *fakeServer) { f.fail["push"] = []int{503}; f.retryAfter = "1" })
	c := newClient(t, f.URL(), func(c *agent.ClientConfig) { c.RetryMaxWait = 5 * time.Second })
	start := time.Now()
	if _, err := c.Push(context.Background(), testTenant, changes("a")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v, want the server's Retry-After of 1s", d)
	}
}

func TestClient_DoesNotRetryClientErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 409, 413} {
		f := newFakeServer(t)
		f.set(func(f *fakeServer) { f.fail["push"] = []int{status, status} })
		c := newClient(t, f.URL())
		_, err := c.Push(context.Background(), testTenant, changes("a"))
		if agent.StatusOf(err) != status {
			t.Errorf("%d: err %v", status, err)
		}
		if got := f.hit("push"); got != 1 {
			t.Errorf("%d: %d pushes, want 1 (no retry)", status, got)
		}
		if agent.IsNetwork(err) {
			t.Errorf("%d: taken for a network error", status)
		}
	}
}

func TestClient_UnauthorizedAndForbiddenAreTyped(t *testing.T) {
	f := newFakeServer(t)
	bad := newClient(t, f.URL(), func(c *agent.ClientConfig) { c.Token = "revoked" })
	_, err := bad.Push(context.Background(), testTenant, changes("a"))
	var he *agent.HTTPError
	if !errors.As(err, &he) || he.Status != 401 || !agent.IsUnauthorized(err) || agent.IsForbidden(err) {
		t.Fatalf("err %v, want a 401 HTTPError", err)
	}
	if got := agent.Describe(err); got != "Gerät ist gesperrt – bitte an die IT wenden" {
		t.Errorf("describe: %q", got)
	}
	good := newClient(t, f.URL())
	err = good.Pull(context.Background(), "beispielheim", 0, 10, func(syncproto.PullLine) error { return nil })
	if !agent.IsForbidden(err) || agent.IsUnauthorized(err) {
		t.Errorf("other tenant: %v, want 403", err)
	}
	if f.hit("push") != 1 || f.hit("pull") != 1 {
		t.Errorf("retried: %v", f.hits)
	}
}

// closeFirst is a listener that closes its first connection unanswered.
type closeFirst struct {
	net.Listener
	n atomic.Int32
}

func (l *closeFirst) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.n.Add(1) == 1 {
			c.Close()
			continue
		}
		return c, nil
	}
}

func TestClient_RetriesNetworkErrors(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_ = json.NewEncoder(w).Encode(syncproto.Health{Status: "ok"})
	}))
	l := &closeFirst{Listener: srv.Listener}
	srv.Listener = l
	srv.Start()
	defer srv.Close()
	c := newClient(t, srv.URL)
	h, err := c.Health(context.Background())
	if err != nil || h.Status != "ok" {
		t.Fatalf("health %+v, %v", h, err)
	}
	if l.n.Load() < 2 || hits.Load() != 1 {
		t.Errorf("%d connections, %d answers: want the first closed and a retry", l.n.Load(), hits.Load())
	}

	// Without retries the closed connection is a network error.
	l.n.Store(0)
	c.Close()
	once := newClient(t, srv.URL, func(c *agent.ClientConfig) { c.RetryCount = -1 })
	_, err = once.Health(context.Background())
	if !agent.IsNetwork(err) || agent.Describe(err) != "Keine Verbindung zum Server" {
		t.Errorf("err %v (%q), want a network error", err, agent.Describe(err))
	}
}

func TestClient_StalledConnectionTimesOutAndRetries(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			select { // a server that hangs
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
			return
		}
		_ = json.NewEncoder(w).Encode(syncproto.Health{Status: "ok"})
	}))
	defer srv.Close()
	c := newClient(t, srv.URL, func(c *agent.ClientConfig) { c.Timeout = 200 * time.Millisecond })
	start := time.Now()
	if _, err := c.Health(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second || hits.Load() != 2 {
		t.Errorf("took %v with %d requests", d, hits.Load())
	}
}

func TestClient_PullStreamsAPage(t *testing.T) {
	f := newFakeServer(t)
	f.addRemote(5)
	c := newClient(t, f.URL())
	var lines []syncproto.PullLine
	err := c.Pull(context.Background(), testTenant, 1, 3, func(l syncproto.PullLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 5 || lines[0].Page == nil || lines[1].Entry.Seq != 2 || lines[3].Entry.Seq != 4 || lines[4].End == nil {
		t.Fatalf("lines %+v", lines)
	}
	if end := lines[4].End; end.LastSeq != 4 || !end.More || end.HeadSeq != 5 {
		t.Errorf("end %+v", end)
	}
}

func TestClient_TruncatedPullIsAnError(t *testing.T) {
	f := newFakeServer(t)
	f.addRemote(10)
	f.set(func(f *fakeServer) { f.cutPullAt = 4 })
	c := newClient(t, f.URL())
	var entries int
	err := c.Pull(context.Background(), testTenant, 0, 100, func(l syncproto.PullLine) error {
		if l.Entry != nil {
			entries++
		}
		return nil
	})
	if !errors.Is(err, agent.ErrTruncated) || !agent.IsNetwork(err) {
		t.Fatalf("err %v, want ErrTruncated", err)
	}
	if entries != 4 {
		t.Errorf("%d entries before the cut, want 4", entries)
	}
}

func TestClient_PullRejectsSeqsGoingBack(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"page":{"id":"p","jwe":"j"}}`+"\n"+`{"entry":{"seq":3}}`+"\n"+`{"entry":{"seq":2}}`+"\n"+
			`{"end":{"last_seq":3}}`+"\n")
	}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	err := c.Pull(context.Background(), testTenant, 0, 10, func(syncproto.PullLine) error { return nil })
	if !errors.Is(err, agent.ErrProtocol) {
		t.Errorf("err %v, want ErrProtocol", err)
	}
}

func TestClient_PushChecksResultCount(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"results":[{"id":"a","status":"applied"}]}`)
	}))
	defer srv.Close()
	c := newClient(t, srv.URL)
	if _, err := c.Push(context.Background(), testTenant, changes("a", "b")); !errors.Is(err, agent.ErrProtocol) {
		t.Errorf("err %v, want ErrProtocol", err)
	}
}

func sealedBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i>>11)
	}
	return b
}

func TestClient_UploadResumesAfterCutConnection(t *testing.T) {
	const size, cut = 5_000_000, 4_000_000
	f := newFakeServer(t)
	f.set(func(f *fakeServer) { f.cutUploadAt = cut })
	data := sealedBytes(size)
	c := newClient(t, f.URL())
	if err := c.UploadAttachment(context.Background(), testTenant, "rec-a", "sha-a", data); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u := f.uploads["rec-a/sha-a"]
	if u == nil || !u.complete || !bytes.Equal(u.data, data) {
		t.Fatalf("server holds an incomplete or wrong upload")
	}
	resumed := false
	for _, off := range f.patchOffs {
		resumed = resumed || off == cut
	}
	if !resumed {
		t.Errorf("no PATCH at the server's offset %d: %v", cut, f.patchOffs)
	}
	// Only what the server did not have was sent again: no PATCH went
	// out blindly at the old offset after the cut.
	if f.received != size || f.conflicts != 0 {
		t.Errorf("server read %d bytes (want %d), %d PATCHes at a wrong offset", f.received, size, f.conflicts)
	}
}

func TestClient_UploadResumesInTheNextAttempt(t *testing.T) {
	const size, cut = 5_000_000, 4_000_000
	f := newFakeServer(t)
	// The PATCHes are cut at 4 MB, and a client without retries gives up.
	f.set(func(f *fakeServer) { f.cutUploadAt = cut })
	data := sealedBytes(size)
	c := newClient(t, f.URL(), func(c *agent.ClientConfig) { c.RetryCount = -1 })
	err := c.UploadAttachment(context.Background(), testTenant, "rec-b", "sha-b", data)
	if !agent.IsNetwork(err) {
		t.Fatalf("first attempt: %v, want it to end with the cut", err)
	}
	f.mu.Lock()
	f.patchOffs = nil
	f.mu.Unlock()
	if err := c.UploadAttachment(context.Background(), testTenant, "rec-b", "sha-b", data); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.patchOffs) == 0 || f.patchOffs[0] != cut {
		t.Errorf("second attempt's PATCHes at %v, want it to start at %d", f.patchOffs, cut)
	}
	if u := f.uploads["rec-b/sha-b"]; u == nil || !u.complete || !bytes.Equal(u.data, data) {
		t.Errorf("upload incomplete")
	}
}

func TestClient_UploadRetriesServerErrorsFromTheServersOffset(t *testing.T) {
	f := newFakeServer(t)
	f.set(func(f *fakeServer) { f.fail["patch"] = []int{503, 429} })
	c := newClient(t, f.URL())
	data := sealedBytes(2_500_000)
	if err := c.UploadAttachment(context.Background(), testTenant, "rec-d", "sha-d", data); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if u := f.uploads["rec-d/sha-d"]; u == nil || !u.complete || f.conflicts != 0 || f.hits["patch"] != 5 {
		t.Errorf("%d PATCHes, %d conflicts: want 2 refused and 3 chunks", f.hits["patch"], f.conflicts)
	}
}

func TestClient_UploadOfWhatTheServerHasSendsNothing(t *testing.T) {
	f := newFakeServer(t)
	c := newClient(t, f.URL())
	data := sealedBytes(1000)
	for range 2 {
		if err := c.UploadAttachment(context.Background(), testTenant, "rec-c", "sha-c", data); err != nil {
			t.Fatal(err)
		}
	}
	if got := f.hit("patch"); got != 1 {
		t.Errorf("%d PATCHes, want 1", got)
	}
}

func TestClient_EnrolAndHealth(t *testing.T) {
	f := newFakeServer(t)
	c := newClient(t, f.URL(), func(c *agent.ClientConfig) { c.Token = "" })
	res, err := c.Enrol(context.Background(), syncproto.EnrolRequest{Code: "good-code", Name: "Koffer 3"})
	if err != nil || res.Token != testToken || res.Tenant != testTenant {
		t.Fatalf("enrol %+v, %v", res, err)
	}
	if _, err := c.Enrol(context.Background(), syncproto.EnrolRequest{Code: "used"}); !agent.IsUnauthorized(err) {
		t.Errorf("bad code: %v", err)
	}
	if h, err := c.Health(context.Background()); err != nil || h.Status != "ok" {
		t.Errorf("health %+v, %v", h, err)
	}
}

// otherCA makes a CA certificate that signed nothing the server has.
func otherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

func TestClient_PinsTheCA(t *testing.T) {
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(syncproto.Health{Status: "ok"})
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	serverCA := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	pinned := newClient(t, srv.URL, func(c *agent.ClientConfig) { c.CAPEM = serverCA })
	if _, err := pinned.Health(context.Background()); err != nil {
		t.Fatalf("pinned to the server's CA: %v", err)
	}

	conns.Store(0)
	other := newClient(t, srv.URL, func(c *agent.ClientConfig) { c.CAPEM = otherCA(t) })
	_, err := other.Health(context.Background())
	if err == nil || !agent.IsCertificate(err) {
		t.Fatalf("pinned to another CA: %v, want a certificate error", err)
	}
	if got := agent.Describe(err); got != "Zertifikat des Servers ist nicht vertrauenswürdig – bitte an die IT wenden" {
		t.Errorf("describe: %q", got)
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections: a refused certificate must not be retried", n)
	}

	// Without a pin the system pool is used, which does not know the
	// test server's CA either.
	system := newClient(t, srv.URL)
	if _, err := system.Health(context.Background()); !agent.IsCertificate(err) {
		t.Errorf("system pool: %v, want a certificate error", err)
	}

	if _, err := agent.NewClient(agent.ClientConfig{BaseURL: srv.URL, CAPEM: "not pem"}); err == nil {
		t.Error("a CA that is not PEM was accepted")
	}
}

func TestNewClient_RejectsBadURLs(t *testing.T) {
	for _, u := range []string{"", "ftp://x", "localhost:8080", "https://"} {
		if _, err := agent.NewClient(agent.ClientConfig{BaseURL: u}); err == nil {
			t.Errorf("%q accepted", u)
		}
	}
}

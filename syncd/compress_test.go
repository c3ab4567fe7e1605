package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// codingProxy is an HTTP proxy between laptops and `syncd serve` that
// notes the content codings of push and pull requests and answers, and may
// spoil compressed push bodies on their way.
type codingProxy struct {
	url string
	mu  sync.Mutex
	// seen: "push request", "push answer", "pull answer" -> codings.
	seen    map[string][]string
	corrupt func([]byte) []byte // applied to compressed push bodies, when set
}

func newCodingProxy(t *testing.T, target string) *codingProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &codingProxy{seen: map[string][]string{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(u)
			kind := endpoint(r.In.URL.Path)
			if kind != "push" {
				return
			}
			p.note("push request", r.In.Header.Get("Content-Encoding"))
			p.mu.Lock()
			spoil := p.corrupt
			p.mu.Unlock()
			if spoil != nil && r.In.Header.Get("Content-Encoding") != "" {
				b, _ := io.ReadAll(r.Out.Body)
				b = spoil(b)
				r.Out.Body = io.NopCloser(bytes.NewReader(b))
				r.Out.ContentLength = int64(len(b))
			}
		},
		ModifyResponse: func(resp *http.Response) error {
			if kind := endpoint(resp.Request.URL.Path); kind != "" {
				p.note(kind+" answer", resp.Header.Get("Content-Encoding"))
			}
			return nil
		},
		FlushInterval: -1,
		ErrorLog:      nil,
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	p.url = "http://" + ln.Addr().String()
	return p
}

func endpoint(path string) string {
	switch {
	case strings.HasSuffix(path, "/push"):
		return "push"
	case strings.HasSuffix(path, "/pull"):
		return "pull"
	}
	return ""
}

func (p *codingProxy) note(kind, coding string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen[kind] = append(p.seen[kind], coding)
}

// codings returns the distinct codings seen for kind ("" for identity).
func (p *codingProxy) codings(kind string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, c := range p.seen[kind] {
		if !containsStr(out, c) {
			out = append(out, c)
		}
	}
	return out
}

func containsStr(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Agents push and pull in zstd by default, and what they exchange is the
// same as uncompressed: two laptops converge with the server.
func TestCompress_PushAndPullRoundTrip(t *testing.T) {
	k := startKit(t)
	p := newCodingProxy(t, k.url)
	a, b := k.laptopVia("a", "musterstadt", p.url), k.laptopVia("b", "musterstadt", p.url)
	for range 30 {
		if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
	}
	if rep := a.sync(); rep.Pushed != 30 {
		t.Fatalf("a pushed %d, want 30", rep.Pushed)
	}
	if rep := b.sync(); rep.Pulled < 30 {
		t.Fatalf("b pulled %d, want 30 or more", rep.Pulled)
	}
	for kind, want := range map[string]string{"push request": "zstd", "push answer": "zstd", "pull answer": "zstd"} {
		if got := p.codings(kind); len(got) != 1 || got[0] != want {
			t.Errorf("%s in codings %q, want only %q", kind, got, want)
		}
	}
	want := k.export("musterstadt")
	if a.export() != want || b.export() != want {
		t.Error("a laptop differs from the server after a compressed sync")
	}
}

// An agent from before the codings sends no Accept-Encoding and a
// revision-1 body: it gets identity answers, with the ids in the push
// results. One that asks for gzip only gets gzip.
func TestCompress_OldAgentGetsIdentity(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
		t.Fatal(err)
	}
	body, req := a.pushBody() // revision 1, as json.Marshal of the request
	token := a.enrolment().Token
	resp := k.send(http.MethodPost, "/v1/tenants/musterstadt/push", token, body, nil)
	if ce := resp.Header.Get("Content-Encoding"); resp.StatusCode != http.StatusOK || ce != "" {
		t.Fatalf("old agent's push: %d in coding %q", resp.StatusCode, ce)
	}
	var res syncproto.PushResponse
	if err := json.Unmarshal(resp.body, &res); err != nil || len(res.Results) != len(req.Changes) {
		t.Fatalf("old agent's push answer %s: %v", resp.body, err)
	}
	for i, r := range res.Results {
		if r.ID != req.Changes[i].ID || r.Status != syncproto.StatusApplied {
			t.Errorf("result %d: %+v, want applied with the change's id", i, r)
		}
	}

	pull := "/v1/tenants/musterstadt/pull?after=0"
	resp = k.send(http.MethodGet, pull, token, nil, nil)
	if ce := resp.Header.Get("Content-Encoding"); resp.StatusCode != http.StatusOK || ce != "" ||
		!bytes.HasPrefix(resp.body, []byte(`{"page":`)) {
		t.Fatalf("old agent's pull: %d in coding %q", resp.StatusCode, ce)
	}
	plain := resp.body

	resp = k.send(http.MethodGet, pull, token, nil, map[string]string{"Accept-Encoding": "gzip"})
	if ce := resp.Header.Get("Content-Encoding"); ce != "gzip" {
		t.Fatalf("pull asking for gzip: coding %q", ce)
	}
	dec, err := syncproto.NewDecoder(bytes.NewReader(resp.body), "gzip")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(dec)
	dec.Close()
	if err != nil {
		t.Fatal(err)
	}
	// The page keys differ from pull to pull; the entries do not.
	if lines(got) != lines(plain) || !bytes.Contains(got, []byte(req.Changes[0].ID)) {
		t.Errorf("gzip pull of %d lines differs from the identity pull of %d", lines(got), lines(plain))
	}
}

func lines(b []byte) int { return bytes.Count(b, []byte("\n")) }

type rawAnswer struct {
	*http.Response
	body []byte
}

// send makes one request with the laptop's token and headers, without Go's
// transparent gzip (the headers are the test's).
func (k *kit) send(method, path, token string, body []byte, hdr map[string]string) rawAnswer {
	k.t.Helper()
	req, err := http.NewRequestWithContext(k.ctx, method, k.url+path, bytes.NewReader(body))
	if err != nil {
		k.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	for h, v := range hdr {
		req.Header.Set(h, v)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		k.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		k.t.Fatal(err)
	}
	return rawAnswer{resp, b}
}

// A small compressed body that decodes past the body limit is refused
// 413, in either coding, and nothing of it is applied.
func TestCompress_ZipBombIs413(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	token := a.enrolment().Token
	// A valid JSON start, then more whitespace than any body may hold.
	bomb := append([]byte(`{"changes":[`), bytes.Repeat([]byte(" "), syncproto.MaxBodyBytes+1)...)
	bomb = append(bomb, "]}"...)
	before := k.export("musterstadt")
	for _, coding := range []string{"zstd", "gzip"} {
		z, err := syncproto.Compress(bomb, coding)
		if err != nil {
			t.Fatal(err)
		}
		if len(z) > 64<<10 {
			t.Fatalf("%s bomb is %d bytes, not a bomb", coding, len(z))
		}
		resp := k.send(http.MethodPost, "/v1/tenants/musterstadt/push", token, z, map[string]string{"Content-Encoding": coding})
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Errorf("%s bomb of %d bytes: %d %s, want 413", coding, len(z), resp.StatusCode, resp.body)
		}
	}
	resp := k.send(http.MethodPost, "/v1/tenants/musterstadt/push", token, []byte("{}"), map[string]string{"Content-Encoding": "br"})
	if resp.StatusCode != http.StatusUnsupportedMediaType || !syncproto.Accepts(resp.Header.Get("Accept-Encoding"), "zstd") {
		t.Errorf("push in br: %d, Accept-Encoding %q; want 415 naming zstd", resp.StatusCode, resp.Header.Get("Accept-Encoding"))
	}
	if k.export("musterstadt") != before {
		t.Error("the server changed after refused bodies")
	}
}

// A compressed push body spoilt on the way (a byte flipped, or cut short)
// is refused 400 with a clear reason; the laptop's outbox keeps its
// changes, and the next sync on a sound link pushes them.
func TestCompress_CorruptBodyIs400AndOutboxKeeps(t *testing.T) {
	k := startKit(t)
	a := k.laptop("a", "musterstadt")
	for range 20 {
		if _, err := a.ss.CreateCase(k.ctx, anmeldung()); err != nil {
			t.Fatal(err)
		}
	}
	body, _ := a.pushBody()
	z, err := syncproto.Compress(body, "zstd")
	if err != nil {
		t.Fatal(err)
	}
	token := a.enrolment().Token
	flipped := bytes.Clone(z)
	flipped[len(flipped)/2] ^= 0xff
	for name, b := range map[string][]byte{"flipped": flipped, "cut short": z[:len(z)/2]} {
		resp := k.send(http.MethodPost, "/v1/tenants/musterstadt/push", token, b, map[string]string{"Content-Encoding": "zstd"})
		var e syncproto.Error
		json.Unmarshal(resp.body, &e)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, "compressed body") {
			t.Errorf("%s zstd body: %d %q, want 400 naming the compressed body", name, resp.StatusCode, e.Error)
		}
	}

	// The same through the agent: a link that spoils its compressed push.
	p := newCodingProxy(t, k.url)
	p.corrupt = func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b }
	pending, _, err := a.st.Pending(k.ctx)
	if err != nil {
		t.Fatal(err)
	}
	c, err := agent.NewClient(agent.ClientConfig{BaseURL: p.url, Token: token, RetryCount: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health(k.ctx); err != nil { // learns that the server takes zstd
		t.Fatal(err)
	}
	req, err := a.st.NextPush(k.ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(k.ctx, "musterstadt", req); agent.StatusOf(err) != http.StatusBadRequest {
		t.Fatalf("push over a spoiling link: %v, want 400", err)
	}
	if got := p.codings("push request"); len(got) != 1 || got[0] != "zstd" {
		t.Fatalf("the agent sent its push in %q, want zstd", got)
	}
	if n, _, _ := a.st.Pending(k.ctx); n != pending {
		t.Fatalf("%d changes pending after the refused push, want %d", n, pending)
	}
	if rep := a.sync(); rep.Pushed != 20 {
		t.Errorf("the next sync pushed %d, want 20", rep.Pushed)
	}
	if a.export() != k.export("musterstadt") {
		t.Error("laptop differs from the server")
	}
}

// A server from before the codings (no Accept-Encoding on its answers, no
// protocol headers) never gets a compressed body, and the agent still
// syncs with it.
func TestCompress_OldServerGetsNoCompressedBody(t *testing.T) {
	r := &release{t: t, db: t.TempDir() + "/central.db"}
	srv, err := server.Open(context.Background(), server.Config{DBPath: r.db, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := ensureTenant(context.Background(), srv, "musterstadt", "Stadt Musterstadt"); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var compressed []string
	inner := legacyServer(srv.Handler())
	h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if ce := req.Header.Get("Content-Encoding"); ce != "" {
			mu.Lock()
			compressed = append(compressed, req.URL.Path+" in "+ce)
			mu.Unlock()
		}
		inner.ServeHTTP(&noAcceptEncoding{ResponseWriter: w}, req)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	r.addr = ln.Addr().String()
	l := r.laptop(t.TempDir())
	for range 20 {
		if _, err := l.ss.CreateCase(context.Background(), anmeldung()); err != nil {
			t.Fatal(err)
		}
	}
	if rep, err := l.sync(syncproto.Revisions(), "v2.0.0"); err != nil || rep.Pushed != 20 {
		t.Fatalf("sync with an old server: %+v, %v", rep, err)
	}
	if len(compressed) > 0 {
		t.Errorf("the old server got compressed bodies: %v", compressed)
	}
}

// noAcceptEncoding drops the server's Accept-Encoding from its answers,
// as a server from before the codings sent none.
type noAcceptEncoding struct {
	http.ResponseWriter
	wrote bool
}

func (n *noAcceptEncoding) WriteHeader(code int) {
	if !n.wrote {
		n.wrote = true
		n.Header().Del("Accept-Encoding")
	}
	n.ResponseWriter.WriteHeader(code)
}

func (n *noAcceptEncoding) Write(b []byte) (int, error) {
	if !n.wrote {
		n.WriteHeader(http.StatusOK)
	}
	return n.ResponseWriter.Write(b)
}

func (n *noAcceptEncoding) Unwrap() http.ResponseWriter { return n.ResponseWriter }

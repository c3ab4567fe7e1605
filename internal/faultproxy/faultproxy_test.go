package faultproxy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/faultproxy"
)

// backend is a real local HTTP server: GET /big answers 1 MB, GET /small
// a few bytes, POST /count remembers each body it gets.
type backend struct {
	*httptest.Server
	mu    sync.Mutex
	posts []string
}

var big = bytes.Repeat([]byte("0123456789abcdef"), 1<<16)

func startBackend(t *testing.T) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write(big)
		case "/small":
			io.WriteString(w, "ok")
		case "/count":
			body, _ := io.ReadAll(r.Body)
			b.mu.Lock()
			b.posts = append(b.posts, string(body))
			b.mu.Unlock()
			io.WriteString(w, "counted")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(b.Close)
	return b
}

func (b *backend) postCount() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.posts...)
}

func start(t *testing.T, b *backend) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(context.Background(), b.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// client makes one connection per request, so that each request meets
// the faults of a new connection.
func client() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

func get(url string) ([]byte, error) {
	resp, err := client().Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return body, err
}

func TestProxy_ForwardsAndCounts(t *testing.T) {
	b := startBackend(t)
	p := start(t, b)
	body, err := get(p.URL() + "/big")
	if err != nil || !bytes.Equal(body, big) {
		t.Fatalf("got %d bytes, %v; want %d", len(body), err, len(big))
	}
	st := p.Stats()
	if st.Conns != 1 || st.BytesDown < int64(len(big)) || st.BytesUp == 0 {
		t.Errorf("stats %+v", st)
	}
	if st.Refused+st.Dropped+st.Delayed+st.Cut+st.Stalled+st.Duplicated+st.Down != 0 {
		t.Errorf("faults without asking: %+v", st)
	}
}

func TestProxy_Refuse(t *testing.T) {
	b := startBackend(t)
	p := start(t, b)
	p.Set(faultproxy.Faults{Refuse: 1})
	if _, err := get(p.URL() + "/small"); err == nil {
		t.Fatal("request through a refusing proxy succeeded")
	}
	if st := p.Stats(); st.Refused != 1 || st.BytesUp != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestProxy_Drop(t *testing.T) {
	b := startBackend(t)
	p := start(t, b)
	p.Set(faultproxy.Faults{Seed: 1, Drop: 1, DropMaxBytes: 4000})
	body, err := get(p.URL() + "/big")
	if err == nil {
		t.Fatalf("got %d bytes through a dropped connection", len(body))
	}
	st := p.Stats()
	if st.Dropped != 1 || st.BytesUp+st.BytesDown > 4000 {
		t.Errorf("stats %+v", st)
	}
}

func TestProxy_CutResponse(t *testing.T) {
	b := startBackend(t)
	p := start(t, b)
	p.Set(faultproxy.Faults{Seed: 2, Cut: 1, CutMaxBytes: 20000})
	body, err := get(p.URL() + "/big")
	if err == nil || len(body) >= len(big) {
		t.Fatalf("got %d of %d bytes, err %v; want a cut answer", len(body), len(big), err)
	}
	st := p.Stats()
	if st.Cut != 1 || st.BytesDown > 20000 || st.BytesDown == 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestProxy_Delay(t *testing.T) {
	b := startBackend(t)
	p := start(t, b)
	p.Set(faultproxy.Faults{Delay: 1, DelayMin: 40 * time.Millisecond, DelayMax: 60 * time.Millisecond})
	t0 := time.Now()
	if _, err := get(p.URL() + "/small"); err != nil {
		t.Fatal(err)
	}
	// At least one read each way, each delayed by 40 ms or more.
	if d := time.Since(t0); d < 80*time.Millisecond {
		t.Errorf("request took %v through a delaying proxy", d)
	}
	if st := p.Stats(); st.Delayed != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestProxy_Stall(t *testing.T) {
	b := startBackend(t)
	p := start(t, b)
	p.Set(faultproxy.Faults{Stall: 1, StallFor: 300 * time.Millisecond})
	t0 := time.Now()
	_, err := get(p.URL() + "/small")
	if err == nil {
		t.Fatal("request through a stalled connection succeeded")
	}
	if d := time.Since(t0); d < 300*time.Millisecond {
		t.Errorf("stalled connection ended after %v, want 300ms", d)
	}
	if st := p.Stats(); st.Stalled != 1 || st.BytesDown != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestProxy_DuplicateAppliesPostTwice(t *testing.T) {
	b := startBackend(t)
	p := start(t, b)
	p.Set(faultproxy.Faults{Duplicate: 1})
	resp, err := client().Post(p.URL()+"/count", "text/plain", strings.NewReader("push 1"))
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != "counted" {
		t.Errorf("client got %q, want the original answer", got)
	}
	waitFor(t, func() bool { return len(b.postCount()) == 2 && p.Stats().Duplicated == 1 })
	if posts := b.postCount(); posts[0] != "push 1" || posts[1] != "push 1" {
		t.Errorf("server got %q", posts)
	}
}

func TestProxy_DownThenUp(t *testing.T) {
	b := startBackend(t)
	p := start(t, b)
	p.Set(faultproxy.Faults{Down: true})
	for range 3 {
		if _, err := get(p.URL() + "/small"); err == nil {
			t.Fatal("request while down succeeded")
		}
	}
	if st := p.Stats(); st.Down != 3 || st.BytesUp != 0 {
		t.Errorf("stats while down %+v", st)
	}
	p.Set(faultproxy.Faults{})
	if body, err := get(p.URL() + "/small"); err != nil || string(body) != "ok" {
		t.Errorf("after up: %q, %v", body, err)
	}
}

func TestProxy_DownCutsOpenConnections(t *testing.T) {
	b := startBackend(t)
	p := start(t, b)
	p.Set(faultproxy.Faults{Delay: 1, DelayMin: 20 * time.Millisecond, DelayMax: 20 * time.Millisecond})
	errc := make(chan error, 1)
	go func() {
		_, err := get(p.URL() + "/big") // 32+ delayed reads: over half a second
		errc <- err
	}()
	waitFor(t, func() bool { return p.Stats().BytesDown > 0 })
	p.Set(faultproxy.Faults{Down: true})
	if err := <-errc; err == nil {
		t.Error("a transfer survived the network going down")
	}
}

func TestProxy_SameSeedSameFaults(t *testing.T) {
	b := startBackend(t)
	run := func() []bool {
		p := start(t, b)
		p.Set(faultproxy.Faults{Seed: 42, Refuse: 0.5})
		var ok []bool
		for range 20 {
			_, err := get(p.URL() + "/small")
			ok = append(ok, err == nil)
		}
		return ok
	}
	first, second := run(), run()
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Errorf("same seed, different faults:\n%v\n%v", first, second)
	}
	if !strings.Contains(fmt.Sprint(first), "true") || !strings.Contains(fmt.Sprint(first), "false") {
		t.Errorf("refuse 0.5 over 20 connections: %v", first)
	}
}

func TestProxy_CloseLeavesNoGoroutines(t *testing.T) {
	b := startBackend(t)
	before := runtime.NumGoroutine()
	p, err := faultproxy.Start(context.Background(), b.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	// A stalled request, a duplicated one and an idle keep-alive
	// connection are in flight when the proxy closes.
	p.Set(faultproxy.Faults{Stall: 1, StallFor: time.Minute})
	hc := &http.Client{Timeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() {
		_, err := hc.Get(p.URL() + "/small")
		errc <- err
	}()
	waitFor(t, func() bool { return p.Stats().Stalled == 1 })
	p.Set(faultproxy.Faults{Duplicate: 1})
	resp, err := hc.Post(p.URL()+"/count", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	t0 := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
	if err := <-errc; err == nil {
		t.Error("stalled request succeeded")
	}
	hc.CloseIdleConnections()
	b.CloseClientConnections()
	waitFor(t, func() bool { return runtime.NumGoroutine() <= before })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("condition not met in 5s; goroutines:\n%s", buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

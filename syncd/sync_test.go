package main

// End-to-end tests of the sync: a real `syncd serve` on loopback (run in
// this process through the same entry point as the binary), real field
// stores on disk, the real agent.

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/store"
)

type kit struct {
	t      *testing.T
	ctx    context.Context
	dir    string
	url    string
	srvDB  string // the server's database: SQLite file or PostgreSQL URL (serverdb_test.go)
	srvKey string // its master key file
	// serveLog is what `syncd serve` wrote to stderr; serveExited is
	// closed when it returned.
	serveLog    *lockedBuffer
	serveExited chan struct{}
}

// lineWriter hands the first line written to it to a channel.
type lineWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	first chan string
	sent  bool
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		if line, err := bufio.NewReader(bytes.NewReader(w.buf.Bytes())).ReadString('\n'); err == nil {
			w.sent = true
			w.first <- line
		}
	}
	return len(p), nil
}

// startKit runs `syncd serve` with tenant "musterstadt" and a second
// tenant "beispielheim", on SQLite or, with BK_TEST_SERVER_DB=postgres,
// on PostgreSQL.
func startKit(t *testing.T) *kit {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	k := &kit{t: t, ctx: ctx, dir: t.TempDir(), serveLog: &lockedBuffer{}, serveExited: make(chan struct{})}
	k.srvDB, k.srvKey = newServerDB(t, k.dir)
	out := &lineWriter{first: make(chan string, 1)}
	errOut := k.serveLog
	done := make(chan int, 1)
	go func() {
		defer close(k.serveExited)
		done <- run(ctx, append(append([]string{"serve"}, k.dbArgs()...), "--listen", "127.0.0.1:0",
			"--tenant", "musterstadt", "--tenant-name", "Stadt Musterstadt"), out, errOut)
	}()
	select {
	case line := <-out.first:
		i := strings.Index(line, "http://")
		if i < 0 {
			t.Fatalf("serve said %q", line)
		}
		k.url = strings.TrimSpace(line[i:])
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	k.admin("tenant-add", "beispielheim", "Gemeinde Beispielheim")
	return k
}

// admin runs `syncd admin` on the server's database and returns its output.
func (k *kit) admin(args ...string) string {
	k.t.Helper()
	var out, errOut bytes.Buffer
	full := append(append([]string{"admin", args[0]}, k.dbArgs()...), args[1:]...)
	if code := run(k.ctx, full, &out, &errOut); code != 0 {
		k.t.Fatalf("syncd %s: exit %d: %s", strings.Join(full, " "), code, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

type laptop struct {
	k    *kit
	path string
	st   *store.Store
	ss   *store.Session
}

// laptop sets up a field store with a clerk and enrols it for tenant
// through `syncd agent enroll`.
func (k *kit) laptop(name, tenant string) *laptop {
	k.t.Helper()
	return k.laptopVia(name, tenant, k.url)
}

// laptopVia enrols a laptop that reaches the server at url (a proxy).
func (k *kit) laptopVia(name, tenant, url string) *laptop {
	k.t.Helper()
	return k.laptopClock(name, tenant, url, 0)
}

// laptopClock enrols a laptop whose clock is off by offset.
func (k *kit) laptopClock(name, tenant, url string, offset time.Duration) *laptop {
	k.t.Helper()
	l := &laptop{k: k, path: filepath.Join(k.dir, name+".db")}
	var err error
	clock := func() time.Time { return time.Now().Add(offset) }
	if l.st, err = store.Open(k.ctx, l.path, store.WithKDFParams(crypto.TestKDFParams), store.WithClock(clock)); err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(func() { l.st.Close() })
	if l.ss, err = l.st.Setup(k.ctx, "clerk-"+name, "Clerk "+name, []byte("Feldtag-2026!")); err != nil {
		k.t.Fatal(err)
	}
	if _, err := l.ss.DeviceKey(k.ctx); err != nil {
		k.t.Fatal(err)
	}
	code := k.admin("enrol", "--tenant", tenant)
	var out, errOut bytes.Buffer
	if c := run(k.ctx, []string{"agent", "enroll", "--db", l.path, "--server", url, "--code", code, "--name", name},
		&out, &errOut); c != 0 {
		k.t.Fatalf("enroll %s: exit %d: %s", name, c, errOut.String())
	}
	return l
}

// sync runs one full sync of the laptop's agent.
func (l *laptop) sync() agent.Report {
	l.k.t.Helper()
	a, err := agent.New(agent.Config{}, l.st)
	if err != nil {
		l.k.t.Fatal(err)
	}
	rep, err := a.SyncOnce(l.k.ctx)
	if err != nil {
		l.k.t.Fatalf("sync %s: %v", filepath.Base(l.path), err)
	}
	return rep
}

func (l *laptop) export() string {
	l.k.t.Helper()
	var b bytes.Buffer
	if err := l.st.Export(l.k.ctx, &b); err != nil {
		l.k.t.Fatal(err)
	}
	return b.String()
}

func (k *kit) export(tenant string) string {
	k.t.Helper()
	var out, errOut bytes.Buffer
	if code := run(k.ctx, append(append([]string{"export"}, k.dbArgs()...), "--tenant", tenant), &out, &errOut); code != 0 {
		k.t.Fatalf("export: exit %d: %s", code, errOut.String())
	}
	return out.String()
}

func (l *laptop) enrolment() store.Enrolment {
	e, err := l.st.Enrolment(l.k.ctx)
	if err != nil {
		l.k.t.Fatal(err)
	}
	return e
}

// raw sends a request with the laptop's token (or none) and returns the
// status code.
func (k *kit) raw(method, path, token string, body io.Reader) int {
	k.t.Helper()
	req, err := http.NewRequestWithContext(k.ctx, method, k.url+path, body)
	if err != nil {
		k.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		k.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

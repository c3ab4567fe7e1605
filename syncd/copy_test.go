//go:build unix

package main

// `syncd admin copy` end to end: a town's server database moves from
// SQLite to PostgreSQL and back to SQLite, with `syncd serve` on each in
// turn, while real laptops (field stores and the real agent) reach the
// server by one address that is pointed at the new server after each move
// (the same DNS name). They carry on without enrolling again and without
// pulling again.

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/pgtest"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// switchProxy forwards TCP to a server that can be changed: the DNS name
// the laptops were enrolled with, pointed at the new service after a
// move. up counts the bytes sent to the server.
type switchProxy struct {
	ln     net.Listener
	target atomic.Value // string
	up     atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]bool // open, closed at the end of the test
}

func newSwitchProxy(t *testing.T, target string) *switchProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &switchProxy{ln: ln, conns: map[net.Conn]bool{}}
	p.target.Store(target)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.closeAll()
		wg.Wait()
	})
	return p
}

func (p *switchProxy) URL() string { return "http://" + p.ln.Addr().String() }

// point sends connections to url's server from now on; those open to the
// old one are cut, as stopping it would.
func (p *switchProxy) point(url string) {
	p.target.Store(strings.TrimPrefix(url, "http://"))
	p.closeAll()
}

func (p *switchProxy) closeAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		c.Close()
	}
}

func (p *switchProxy) serve(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target.Load().(string))
	if err != nil {
		return
	}
	defer s.Close()
	p.mu.Lock()
	p.conns[c], p.conns[s] = true, true
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		delete(p.conns, s)
		p.mu.Unlock()
	}()
	done := make(chan struct{}, 2)
	go func() {
		n, _ := io.Copy(s, c)
		p.up.Add(n)
		s.(*net.TCPConn).CloseWrite()
		done <- struct{}{}
	}()
	go func() {
		io.Copy(c, s)
		c.(*net.TCPConn).CloseWrite()
		done <- struct{}{}
	}()
	<-done
	<-done
}

// serveOn runs `syncd serve` on db and returns its URL and a function
// that stops it.
func serveOn(t *testing.T, db, key string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{first: make(chan string, 1)}
	var errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", db, "--master-key", key, "--listen", "127.0.0.1:0"}, out, &errOut)
	}()
	var url string
	select {
	case line := <-out.first:
		i := strings.Index(line, "http://")
		if i < 0 {
			t.Fatalf("serve said %q", line)
		}
		url = strings.TrimSpace(line[i:])
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(15 * time.Second):
				t.Error("serve did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return url, stop
}

// pgURL returns a new database in a throwaway PostgreSQL cluster of the
// test's own (this package has no TestMain to share one).
func pgURL(t *testing.T) string {
	t.Helper()
	c, err := pgtest.Start()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	u, err := c.CreateDB(context.Background())
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return u
}

// syncd runs a syncd command and returns its output; it fails the test
// unless the exit code is want.
func (k *kit) syncd(want int, args ...string) string {
	k.t.Helper()
	var out, errOut bytes.Buffer
	if code := run(k.ctx, args, &out, &errOut); code != want {
		k.t.Fatalf("syncd %s: exit %d, want %d: %s%s", strings.Join(args, " "), code, want, out.String(), errOut.String())
	}
	return out.String() + errOut.String()
}

// enrolWith sets up a field store and enrols it with code; it returns the
// agent's exit code.
func (k *kit) enrolWith(name, url, code string) (*laptop, int) {
	k.t.Helper()
	l := &laptop{k: k, path: filepath.Join(k.dir, name+".db")}
	var err error
	if l.st, err = store.Open(k.ctx, l.path, store.WithKDFParams(crypto.TestKDFParams)); err != nil {
		k.t.Fatal(err)
	}
	k.t.Cleanup(func() { l.st.Close() })
	if l.ss, err = l.st.Setup(k.ctx, "clerk-"+name, "Clerk "+name, []byte("Feldtag-2026!")); err != nil {
		k.t.Fatal(err)
	}
	if _, err := l.ss.DeviceKey(k.ctx); err != nil {
		k.t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	c := run(k.ctx, []string{"agent", "enroll", "--db", l.path, "--server", url, "--code", code, "--name", name}, &out, &errOut)
	return l, c
}

// move is the state carried from one database to the next.
type move struct {
	k        *kit
	px       *switchProxy
	key      string
	a, e     *laptop // a leaves an unfinished upload; e is idle and synced
	revoked  *laptop
	code     string
	rec, sha string // a's unfinished upload
	sealed   []byte
	n        int
}

// prepare leaves, on the server at url, what a move must carry over: an
// unused enrolment code and an unfinished upload (1 MiB of a's 2.5 MiB
// attachment, sent by hand as if the connection had dropped).
func (m *move) prepare(db, url string) {
	t := m.k.t
	t.Helper()
	m.n++
	m.code = strings.TrimSpace(m.k.syncd(0, "admin", "enrol", "--db", db, "--master-key", m.key, "--tenant", "musterstadt"))
	c, err := m.a.ss.CreateCase(m.k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 5<<19)
	rand.Read(big)
	if _, _, err := m.a.ss.PutAttachment(m.k.ctx, c.ID, store.AnyVersion, domain.AttachmentPadRaw, big); err != nil {
		t.Fatal(err)
	}
	m.rec = ""
	if err := m.a.st.PendingUploads(m.k.ctx, func(u store.Upload) error {
		if u.RecordID == c.ID {
			m.rec, m.sha = u.RecordID, u.SHA256
		}
		return nil
	}); err != nil || m.rec == "" {
		t.Fatalf("the attachment is not pending upload: %v", err)
	}
	if m.sealed, err = m.a.st.UploadData(m.k.ctx, m.rec, m.sha); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PATCH", url+syncproto.AttachmentPath("musterstadt", m.rec, m.sha),
		bytes.NewReader(m.sealed[:1<<20]))
	req.Header.Set("Authorization", "Bearer "+m.a.enrolment().Token)
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set(syncproto.HeaderUploadOffset, "0")
	req.Header.Set(syncproto.HeaderUploadLength, strconv.Itoa(len(m.sealed)))
	req.Header.Set(syncproto.HeaderUploadSHA256, crypto.SHA256Hex(m.sealed))
	req.Header.Set(syncproto.HeaderRecordID, m.rec)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("first piece: %d", resp.StatusCode)
	}
}

// offset asks the server at url how much of a's upload it holds.
func (m *move) offset(url string) int64 {
	m.k.t.Helper()
	req, _ := http.NewRequest("HEAD", url+syncproto.AttachmentPath("musterstadt", m.rec, m.sha), nil)
	req.Header.Set("Authorization", "Bearer "+m.a.enrolment().Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.k.t.Fatal(err)
	}
	resp.Body.Close()
	off, _ := strconv.ParseInt(resp.Header.Get(syncproto.HeaderUploadOffset), 10, 64)
	return off
}

// copyTo copies the town from one database to another with `syncd admin
// copy`, checks that `syncd export` prints the same on both, starts
// `syncd serve` on the new one and points the laptops' address at it.
func (m *move) copyTo(from, to string) (url string, stop func()) {
	t := m.k.t
	t.Helper()
	export := func(db string) string {
		return m.k.syncd(0, "export", "--db", db, "--master-key", m.key, "--tenant", "musterstadt")
	}
	before := export(from)
	start := time.Now()
	out := m.k.syncd(0, "admin", "copy", "--from", from, "--to", to, "--master-key", m.key)
	t.Logf("copy took %s: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out))
	if got := export(to); got != before {
		t.Fatalf("export after the copy differs:\n%s\nwant\n%s", got, before)
	}
	// No merging into a tenant that is there.
	if out := m.k.syncd(2, "admin", "copy", "--from", from, "--to", to, "--master-key", m.key, "--tenant", "musterstadt"); !strings.Contains(out, "exists already") {
		t.Errorf("second copy said %q", out)
	}
	url, stop = serveOn(t, to, m.key)
	m.px.point(url)
	return url, stop
}

// check runs the laptops against the server at url (their address now
// leads there).
func (m *move) check(url string) {
	t := m.k.t
	t.Helper()
	// The idle laptop pulls nothing and pushes nothing.
	if rep := m.e.sync(); rep.Pulled != 0 || rep.Pushed != 0 {
		t.Errorf("move %d: idle laptop's first sync at the new server: %+v, want nothing", m.n, rep)
	}
	// a's upload goes on from where it stood.
	if off := m.offset(url); off != 1<<20 {
		t.Fatalf("move %d: upload at %d at the new server, want %d", m.n, off, 1<<20)
	}
	up := m.px.up.Load()
	rep := m.a.sync()
	if rep.Pushed == 0 {
		t.Errorf("move %d: a pushed nothing: %+v", m.n, rep)
	}
	if sent := m.px.up.Load() - up; sent >= int64(len(m.sealed)) {
		t.Errorf("move %d: a sent %d bytes, the whole upload (%d) again", m.n, sent, len(m.sealed))
	}
	if off := m.offset(url); off != int64(len(m.sealed)) {
		t.Errorf("move %d: upload at %d after a's sync, want %d", m.n, off, len(m.sealed))
	}
	if n, _, _ := m.a.st.Pending(m.k.ctx); n != 0 {
		t.Errorf("move %d: a has %d changes pending", m.n, n)
	}
	// e can push; the revoked laptop stays out.
	if _, err := m.e.ss.CreateCase(m.k.ctx, anmeldung()); err != nil {
		t.Fatal(err)
	}
	if rep := m.e.sync(); rep.Pushed != 1 || rep.Pulled == 0 {
		t.Errorf("move %d: e's sync after a's push: %+v", m.n, rep)
	}
	m.a.sync()
	if _, err := m.revoked.ss.CreateCase(m.k.ctx, anmeldung()); err != nil {
		t.Fatal(err)
	}
	if err := m.revoked.syncErr(); err == nil {
		t.Errorf("move %d: the revoked laptop synced", m.n)
	}
	// The code issued before the move enrols once.
	d, code := m.k.enrolWith("d"+strconv.Itoa(m.n), m.px.URL(), m.code)
	if code != 0 {
		t.Fatalf("move %d: enrolment with the unused code: exit %d", m.n, code)
	}
	d.sync()
	if _, code := m.k.enrolWith("d"+strconv.Itoa(m.n)+"x", m.px.URL(), m.code); code == 0 {
		t.Errorf("move %d: the code enrolled twice", m.n)
	}
}

// syncErr runs one sync and returns its error.
func (l *laptop) syncErr() error {
	a, err := agent.New(agent.Config{}, l.st)
	if err != nil {
		return err
	}
	_, err = a.SyncOnce(l.k.ctx)
	return err
}

func TestCopy_LaptopsCarryOnAfterMovingToPostgresAndBack(t *testing.T) {
	sqliteOnly(t, "the town starts on SQLite and the test moves it to PostgreSQL and back itself")
	k := startKit(t)
	key := k.srvKey
	px := newSwitchProxy(t, strings.TrimPrefix(k.url, "http://"))
	m := &move{k: k, px: px, key: key}
	m.a, m.e = k.laptopVia("a", "musterstadt", px.URL()), k.laptopVia("e", "musterstadt", px.URL())
	m.revoked = k.laptopVia("b", "musterstadt", px.URL())
	k.laptopVia("other", "beispielheim", px.URL()).sync()
	// Some history: cases from two laptops, one edited on the other.
	var first domain.Case
	for i := range 3 {
		c, err := m.a.ss.CreateCase(k.ctx, anmeldung())
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = c
		}
	}
	m.a.sync()
	m.revoked.sync()
	if _, err := m.revoked.ss.UpdateCaseForm(k.ctx, first.ID, store.AnyVersion, domain.Fields{"new_street": "Lindenweg 5"}); err != nil {
		t.Fatal(err)
	}
	m.revoked.sync()
	m.a.sync()
	m.e.sync()
	k.admin("revoke", m.revoked.enrolment().DeviceID)
	m.prepare(k.srvDB, k.url)

	// SQLite to PostgreSQL.
	pg := pgURL(t)
	url, stop := m.copyTo(k.srvDB, pg)
	m.check(url)
	if got, want := m.e.export(), m.k.syncd(0, "export", "--db", pg, "--master-key", key, "--tenant", "musterstadt"); got != want {
		t.Errorf("e differs from the server on PostgreSQL")
	}

	// PostgreSQL back to SQLite (a new file).
	m.prepare(pg, url)
	m.e.sync()
	stop()
	back := filepath.Join(k.dir, "back.db")
	url, _ = m.copyTo(pg, back)
	m.check(url)
	if got, want := m.e.export(), m.k.syncd(0, "export", "--db", back, "--master-key", key, "--tenant", "musterstadt"); got != want {
		t.Errorf("e differs from the server on SQLite")
	}
}

// What would copy wrongly is refused before anything is opened or made.
func TestCopy_RefusesBadArguments(t *testing.T) {
	sqliteOnly(t, "a missing source is a missing SQLite file")
	k := startKit(t)
	key := k.srvKey
	to := filepath.Join(k.dir, "new.db")
	for _, tc := range []struct {
		name string
		args []string
		say  string
	}{
		{"no key", []string{"--from", k.srvDB, "--to", to}, "--master-key FILE is required"},
		{"key missing", []string{"--from", k.srvDB, "--to", to, "--master-key", key + ".gone"}, "master key"},
		{"source missing", []string{"--from", k.srvDB + ".gone", "--to", to, "--master-key", key}, "source"},
		{"same database", []string{"--from", k.srvDB, "--to", k.srvDB, "--master-key", key}, "same database"},
		{"unknown tenant", []string{"--from", k.srvDB, "--to", to, "--master-key", key, "--tenant", "nirgendwo"}, "not found"},
		{"no --to", []string{"--from", k.srvDB, "--master-key", key}, "usage"},
	} {
		t.Setenv("BK_MASTER_KEY_FILE", "")
		out := k.syncd(2, append([]string{"admin", "copy"}, tc.args...)...)
		if !strings.Contains(out, tc.say) {
			t.Errorf("%s: said %q, want %q", tc.name, out, tc.say)
		}
	}
	for _, made := range []string{k.srvDB + ".gone", to} {
		if _, err := os.Stat(made); err == nil {
			t.Errorf("a refused copy made %s", filepath.Base(made))
		}
	}
}

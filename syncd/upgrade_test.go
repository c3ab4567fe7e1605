package main

// Laptops and servers of different releases (issue 15), against a real
// server on loopback and real field stores: which protocol revisions each
// speaks (syncproto.HeaderProtocol), what a laptop does when the two have
// none in common, and a field store with unsynced changes written by an
// earlier release that is opened by today's code and pushed.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
	"github.com/buergerkoffer/kit/internal/version"
)

// release is a server process of some release on a fixed loopback
// address, over a database that outlives it (an update replaces the
// program, not the data).
type release struct {
	t        *testing.T
	db, addr string
}

// serve runs a server speaking revisions proto on r's database and
// address until the returned stop is called. legacy makes it answer as a
// release from before the protocol headers did: it neither sends them nor
// sees the laptop's (on the wire, that is all that release lacks).
func (r *release) serve(proto syncproto.Range, legacy bool) (stop func()) {
	r.t.Helper()
	srv, err := server.Open(context.Background(), server.Config{DBPath: r.db, Protocol: proto,
		Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		r.t.Fatal(err)
	}
	if err := ensureTenant(context.Background(), srv, "musterstadt", "Stadt Musterstadt"); err != nil {
		r.t.Fatal(err)
	}
	addr := r.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		r.t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	h := srv.Handler()
	if legacy {
		h = legacyServer(h)
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { hs.Serve(ln); close(done) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		hs.Close()
		<-done
		srv.Close()
	}
	r.t.Cleanup(stop)
	return stop
}

func (r *release) url() string { return "http://" + r.addr }

// legacyServer hides the protocol headers both ways.
func legacyServer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		req.Header.Del(syncproto.HeaderProtocol)
		req.Header.Del(syncproto.HeaderVersion)
		h.ServeHTTP(&stripHeaders{ResponseWriter: w}, req)
	})
}

type stripHeaders struct {
	http.ResponseWriter
	wrote bool
}

func (s *stripHeaders) WriteHeader(code int) {
	if !s.wrote {
		s.wrote = true
		s.Header().Del(syncproto.HeaderProtocol)
		s.Header().Del(syncproto.HeaderVersion)
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *stripHeaders) Write(b []byte) (int, error) {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	return s.ResponseWriter.Write(b)
}

func (s *stripHeaders) Flush() {
	if !s.wrote {
		s.WriteHeader(http.StatusOK)
	}
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *stripHeaders) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// admin runs `syncd admin` on the release's database.
func (r *release) admin(args ...string) string {
	r.t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), append([]string{"admin", args[0], "--db", r.db}, args[1:]...), &out, &errOut); code != 0 {
		r.t.Fatalf("syncd admin %v: exit %d: %s", args, code, errOut.String())
	}
	return strings.TrimSpace(out.String())
}

// fieldLaptop is a field store enrolled with r and an agent of the
// release that speaks proto (and says it is release ver).
type fieldLaptop struct {
	t  *testing.T
	st *store.Store
	ss *store.Session
}

func (r *release) laptop(dir string) *fieldLaptop {
	r.t.Helper()
	ctx := context.Background()
	path := filepath.Join(dir, "field.db")
	st, err := store.Open(ctx, path, store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { st.Close() })
	ss, err := st.Setup(ctx, "clerk-a", "Clerk A", []byte("Feldtag-2026!"))
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := ss.DeviceKey(ctx); err != nil {
		r.t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if c := run(ctx, []string{"agent", "enroll", "--db", path, "--server", r.url(), "--code",
		r.admin("enrol", "--tenant", "musterstadt"), "--name", "Koffer 1"}, &out, &errOut); c != 0 {
		r.t.Fatalf("enroll: exit %d: %s", c, errOut.String())
	}
	return &fieldLaptop{t: r.t, st: st, ss: ss}
}

// sync runs one sync of an agent that speaks proto and is release ver.
func (l *fieldLaptop) sync(proto syncproto.Range, ver string) (agent.Report, error) {
	a, err := agent.New(agent.Config{Client: agent.ClientConfig{Protocol: proto, Version: ver, RetryCount: -1}}, l.st)
	if err != nil {
		l.t.Fatal(err)
	}
	defer a.Close()
	return a.SyncOnce(context.Background())
}

func (l *fieldLaptop) pending() int64 {
	l.t.Helper()
	n, _, err := l.st.Pending(context.Background())
	if err != nil {
		l.t.Fatal(err)
	}
	return n
}

func (l *fieldLaptop) state(key string) string {
	l.t.Helper()
	kv, err := l.st.SyncState(context.Background())
	if err != nil {
		l.t.Fatal(err)
	}
	return kv[key]
}

func (r *release) records() int {
	r.t.Helper()
	var out, errOut bytes.Buffer
	if code := run(context.Background(), []string{"export", "--db", r.db, "--tenant", "musterstadt"}, &out, &errOut); code != 0 {
		r.t.Fatalf("export: exit %d: %s", code, errOut.String())
	}
	return strings.Count(out.String(), "\n")
}

// deviceVersion returns the VERSION column of `syncd admin devices` for
// the only laptop.
func (r *release) deviceVersion() string {
	r.t.Helper()
	lines := strings.Split(r.admin("devices", "--tenant", "musterstadt"), "\n")
	if len(lines) != 2 {
		r.t.Fatalf("devices: %q", lines)
	}
	col := strings.Index(lines[0], "VERSION")
	rest := lines[1][col:]
	if i := strings.IndexByte(rest, ' '); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

var (
	rev1  = syncproto.Range{Min: 1, Max: 1}
	rev12 = syncproto.Range{Min: 1, Max: 2}
	rev2  = syncproto.Range{Min: 2, Max: 2}
)

// An old laptop and a new server. A laptop of this release still syncs
// with a server of a later one that speaks its revision too. A server
// that dropped it answers 426: the laptop records "update the laptop" for
// the app, keeps its changes, and pushes them once it is updated.
func TestProtocol_OldLaptopNewServer(t *testing.T) {
	r := &release{t: t, db: filepath.Join(t.TempDir(), "central.db")}
	stop := r.serve(syncproto.Revisions(), false)
	l := r.laptop(t.TempDir())
	if _, err := l.ss.CreateCase(context.Background(), anmeldung()); err != nil {
		t.Fatal(err)
	}
	stop()

	// The server is updated to a release that speaks 1-2.
	stop = r.serve(rev12, false)
	if rep, err := l.sync(rev1, "v1.0.0"); err != nil || rep.Pushed != 1 {
		t.Fatalf("laptop 1-1 with server 1-2: %+v, %v", rep, err)
	}
	if got := r.deviceVersion(); got != "v1.0.0" {
		t.Errorf("devices lists version %q, want v1.0.0", got)
	}
	if _, err := l.ss.CreateCase(context.Background(), anmeldung()); err != nil {
		t.Fatal(err)
	}
	stop()

	// And to one that speaks 2 only: the old laptop is refused.
	r.serve(rev2, false)
	_, err := l.sync(rev1, "v1.0.0")
	if !agent.IsUpdateRequired(err) || agent.UpdateOf(err) != agent.UpdateLaptop {
		t.Fatalf("laptop 1-1 with server 2-2: %v, want an update of the laptop", err)
	}
	// The agent found out from the server's health answer; the server
	// itself refuses a request in a revision it does not speak (426).
	e, err := l.st.Enrolment(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c, err := agent.NewClient(agent.ClientConfig{BaseURL: e.ServerURL, Token: e.Token, Protocol: rev1, RetryCount: -1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Push(context.Background(), e.Tenant, syncproto.PushRequest{})
	if agent.StatusOf(err) != http.StatusUpgradeRequired || agent.UpdateOf(err) != agent.UpdateLaptop {
		t.Fatalf("push in revision 1 to server 2-2: %v, want 426 naming the laptop", err)
	}
	if got := l.state(store.StateUpdate); got != agent.UpdateLaptop {
		t.Errorf("sync state %s = %q, want %q", store.StateUpdate, got, agent.UpdateLaptop)
	}
	if msg := l.state(store.StateLastError); !strings.HasPrefix(msg, "Bitte Bürgerkoffer aktualisieren") {
		t.Errorf("last_error %q", msg)
	}
	if n := l.pending(); n != 1 {
		t.Fatalf("pending after the refusal: %d, want 1", n)
	}
	if n := r.records(); n != 1 {
		t.Fatalf("server has %d records, want 1", n)
	}

	// The laptop is updated: it speaks 1-2 and pushes what waited.
	if rep, err := l.sync(rev12, "v2.0.0"); err != nil || rep.Pushed != 1 {
		t.Fatalf("updated laptop: %+v, %v", rep, err)
	}
	if got := l.state(store.StateUpdate); got != "" {
		t.Errorf("sync state %s = %q after the update", store.StateUpdate, got)
	}
	if n, got := r.records(), r.deviceVersion(); n != 2 || got != "v2.0.0" {
		t.Errorf("server has %d records from a laptop of %q, want 2 from v2.0.0", n, got)
	}
}

// A new laptop and an old server. A server from before the protocol
// headers speaks revision 1, like this release: they sync. A laptop of a
// later release that no longer speaks 1 finds that out before it pushes
// anything, records "update the server", keeps its changes, and pushes
// them once the server is updated.
func TestProtocol_NewLaptopOldServer(t *testing.T) {
	r := &release{t: t, db: filepath.Join(t.TempDir(), "central.db")}
	stop := r.serve(syncproto.Revisions(), true)
	l := r.laptop(t.TempDir())
	if _, err := l.ss.CreateCase(context.Background(), anmeldung()); err != nil {
		t.Fatal(err)
	}
	if rep, err := l.sync(syncproto.Revisions(), version.String()); err != nil || rep.Pushed != 1 {
		t.Fatalf("this release with a server before the headers: %+v, %v", rep, err)
	}
	if got := r.deviceVersion(); got != "-" {
		t.Errorf("a server before versions stored %q", got)
	}

	if _, err := l.ss.CreateCase(context.Background(), anmeldung()); err != nil {
		t.Fatal(err)
	}
	_, err := l.sync(rev2, "v2.0.0")
	var ue *agent.UpdateError
	if !errors.As(err, &ue) || ue.Update != agent.UpdateServer || ue.Server != rev1 {
		t.Fatalf("laptop 2-2 with a server before the headers: %v, want an UpdateError naming the server", err)
	}
	if got := l.state(store.StateUpdate); got != agent.UpdateServer {
		t.Errorf("sync state %s = %q, want %q", store.StateUpdate, got, agent.UpdateServer)
	}
	if n, recs := l.pending(), r.records(); n != 1 || recs != 1 {
		t.Fatalf("after the refusal: %d pending, %d on the server; want 1 and 1 (nothing pushed)", n, recs)
	}

	// The same with a server that sends the headers and speaks 1 only.
	stop()
	stop = r.serve(rev1, false)
	if _, err := l.sync(rev2, "v2.0.0"); agent.UpdateOf(err) != agent.UpdateServer {
		t.Fatalf("laptop 2-2 with server 1-1: %v", err)
	}
	stop()

	// The server is updated to 1-2.
	r.serve(rev12, false)
	if rep, err := l.sync(rev2, "v2.0.0"); err != nil || rep.Pushed != 1 {
		t.Fatalf("after the server's update: %+v, %v", rep, err)
	}
	if n := r.records(); n != 2 || l.state(store.StateUpdate) != "" {
		t.Fatalf("server has %d records, state %q", n, l.state(store.StateUpdate))
	}
}

// A laptop that was offline for weeks is updated with changes that never
// reached the server: its field store, written by an earlier release
// (testdata/release-*, see releasefixture_test.go), and the server's
// database of that release are opened by today's code. Both migrate
// forward, and the agent pushes the waiting changes; a second laptop reads
// them.
func TestUpgrade_FieldStoreOfPreviousReleaseSyncs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	const fixture = "testdata/release-5c3ede5"
	for _, n := range []string{"central.db", "central.db.key", "field.db"} {
		b, err := os.ReadFile(filepath.Join(fixture, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	raw := func(path, q string) int {
		t.Helper()
		var n int
		if err := openRaw(t, path).QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	field := filepath.Join(dir, "field.db")
	if v := raw(field, `PRAGMA user_version`); v > store.SchemaVersion() {
		t.Fatalf("fixture field store at schema %d, newer than this program's %d", v, store.SchemaVersion())
	}
	oldServerSchema := raw(filepath.Join(dir, "central.db"), `PRAGMA user_version`)

	r := &release{t: t, db: filepath.Join(dir, "central.db")}
	r.serve(syncproto.Revisions(), false)
	if v := raw(r.db, `PRAGMA user_version`); v <= oldServerSchema {
		t.Errorf("server schema %d after the update, was %d: no migration ran", v, oldServerSchema)
	}
	if n := r.records(); n != 1 {
		t.Fatalf("server has %d records before the laptop syncs, want the 1 synced before", n)
	}

	st, err := store.Open(ctx, field)
	if err != nil {
		t.Fatalf("open the old field store: %v", err)
	}
	defer st.Close()
	if v := raw(field, `PRAGMA user_version`); v != store.SchemaVersion() {
		t.Errorf("field store at schema %d after opening, want %d", v, store.SchemaVersion())
	}
	if n, _, err := st.Pending(ctx); err != nil || n != 2 {
		t.Fatalf("pending after the update: %d, %v; want the 2 unsynced changes", n, err)
	}
	// The server now listens elsewhere than when the fixture was made.
	if _, err := openRaw(t, field).Exec(`UPDATE meta SET value = ? WHERE key = 'enrol.server_url'`, r.url()); err != nil {
		t.Fatal(err)
	}
	l := &fieldLaptop{t: t, st: st}
	rep, err := l.sync(syncproto.Revisions(), version.String())
	if err != nil || rep.Pushed != 2 {
		t.Fatalf("sync of the updated laptop: %+v, %v", rep, err)
	}
	if n := l.pending(); n != 0 {
		t.Fatalf("%d still pending", n)
	}
	if got := r.deviceVersion(); got != version.String() {
		t.Errorf("devices lists version %q, want %q", got, version.String())
	}

	// A laptop of today reads what the old one captured.
	b := r.laptop(t.TempDir())
	if _, err := b.sync(syncproto.Revisions(), version.String()); err != nil {
		t.Fatal(err)
	}
	recs, err := b.ss.List(ctx, domain.TypeCase, nil)
	if err != nil {
		t.Fatal(err)
	}
	streets := map[string]string{}
	for _, rec := range recs {
		c, _, err := b.ss.Case(ctx, rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		streets[c.Form["surname"]] = c.Form["new_street"]
	}
	if len(recs) != 2 || streets["Mustermann"] != "Lindenweg 5" || streets["Beispiel"] != "" {
		t.Errorf("second laptop reads %d cases: %v", len(recs), streets)
	}
	if n := r.records(); n != 2 {
		t.Errorf("server has %d records, want 2", n)
	}
}

// openRaw opens a SQLite file as someone with sqlite3 would.
func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

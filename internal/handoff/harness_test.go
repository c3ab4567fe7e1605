package handoff_test

// The tests run the real thing: the central server (SQLite, or PostgreSQL
// with BK_TEST_SERVER_DB=postgres) serving the sync API on loopback, a
// real field store whose clerks capture, sign, confirm and seal cases as
// the app does (casedoc/sample), the real agent that syncs them, the real
// FIT-Connect client, and the independently written test double of the
// submission service, token endpoint and receiving authority
// (fitconnecttest).

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/assets"
	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/backoff"
	"github.com/buergerkoffer/kit/internal/catalog"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/fitconnect"
	"github.com/buergerkoffer/kit/internal/fitconnect/fitconnecttest"
	"github.com/buergerkoffer/kit/internal/handoff"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc/sample"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

const tenant = "musterstadt"

func TestMain(m *testing.M) { os.Exit(runWithPG(m)) }

// logBuffer collects what the server and the worker log, so that a test
// can check that no personal value reached it.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// env is a server with one enrolled laptop and the double.
type env struct {
	t    testing.TB
	ctx  context.Context
	dir  string
	db   string
	srv  *server.Server
	logs *logBuffer
	log  *slog.Logger
	cat  *catalog.Catalog
	fc   *fitconnecttest.Service
	// the laptop
	st  *store.Store
	ss  *store.Session
	w   sample.Witness
	vis string
	n   int // cases sealed so far
}

func testDB(tb testing.TB, dir string) string {
	if os.Getenv("BK_TEST_SERVER_DB") == "postgres" {
		return newPGDB(tb)
	}
	return filepath.Join(dir, "central.db")
}

// newEnv starts the server, a laptop and a double with opt (every service
// of the catalog offered unless opt names some).
func newEnv(t testing.TB, opt fitconnecttest.Options) *env {
	t.Helper()
	e := &env{t: t, ctx: t.Context(), dir: t.TempDir(), logs: &logBuffer{}}
	e.log = slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	if e.cat, err = catalog.LoadEmbedded(); err != nil {
		t.Fatal(err)
	}
	e.db = testDB(t, e.dir)
	e.srv, err = server.Open(e.ctx, server.Config{DBPath: e.db, MasterKeyFile: filepath.Join(e.dir, "master.key"), Log: e.log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.srv.Close() })
	if err := e.srv.CreateTenant(e.ctx, tenant, "Stadt Musterstadt"); err != nil {
		t.Fatal(err)
	}
	if len(opt.Services) == 0 {
		for _, s := range e.cat.Services() {
			opt.Services = append(opt.Services, s.LeiKa)
		}
	}
	// The destination lists each service's data schema (unless the test
	// says otherwise) and checks the data against it, as the specialist
	// procedure would.
	opt.DataSchemas = map[string][]byte{}
	if opt.SchemaURIs == nil {
		opt.SchemaURIs = map[string][]string{}
	}
	for _, s := range e.cat.Services() {
		b, err := fs.ReadFile(assets.Schemas, casedoc.SchemaFile(s.ID))
		if err != nil {
			t.Fatal(err)
		}
		opt.DataSchemas[casedoc.SchemaURI(s.ID)] = b
		if _, ok := opt.SchemaURIs[s.LeiKa]; !ok {
			opt.SchemaURIs[s.LeiKa] = []string{casedoc.SchemaURI(s.ID)}
		}
	}
	e.fc = fitconnecttest.New(t, opt)
	e.enrol()
	t.Cleanup(func() {
		out := e.logs.String()
		for _, word := range personalWords(e.n) {
			if strings.Contains(out, word) {
				t.Errorf("personal data (%q) in the log", word)
			}
		}
	})
	return e
}

// personalWords are the invented citizens' names, which no log may show.
func personalWords(n int) []string {
	var out []string
	for i := range n {
		p := sample.Person(i)
		out = append(out, p.Surname, p.DocumentNumber)
	}
	return out
}

func (e *env) enrol() {
	t, ctx := e.t, e.ctx
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: e.srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	url := "http://" + ln.Addr().String()
	if e.st, e.ss, err = sample.Enrol(ctx, e.srv, url, tenant, filepath.Join(e.dir, "field.db"), "Laptop Nord", sample.Clerk{Username: "anna", Name: "Anna Amt", Password: []byte("Feldtag-2026!")}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.st.Close() })
	if e.w, err = sample.AddWitness(ctx, e.ss, "ben", []byte("Zweiter-Blick-1")); err != nil {
		t.Fatal(err)
	}
	v, err := e.ss.CreateVisit(ctx, domain.Visit{Place: "Dorfgemeinschaftshaus Oberweiler", VenueAddress: "Hauptstraße 1",
		Day: time.Now().UTC().Format("2006-01-02")})
	if err != nil {
		t.Fatal(err)
	}
	e.vis = v.ID
}

// seal seals a case of service on the laptop (not yet synced).
func (e *env) seal(service string) string {
	e.t.Helper()
	svc, ok := e.cat.Service(service)
	if !ok {
		e.t.Fatalf("no service %s", service)
	}
	id, err := sample.SealedCase(e.ctx, e.ss, svc, e.vis, e.w, e.n, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	e.n++
	return id
}

// sync runs the laptop's agent once.
func (e *env) sync() {
	e.t.Helper()
	a, err := agent.New(agent.Config{}, e.st)
	if err != nil {
		e.t.Fatal(err)
	}
	defer a.Close()
	if _, err := a.SyncOnce(e.ctx); err != nil {
		e.t.Fatal(err)
	}
}

// route routes services (all of the catalog's if none) to the double's
// destination.
func (e *env) route(services ...string) {
	e.t.Helper()
	if len(services) == 0 {
		for _, s := range e.cat.Services() {
			services = append(services, s.ID)
		}
	}
	for _, s := range services {
		if _, err := e.srv.SetHandoffRoute(e.ctx, tenant, s, e.fc.DestinationID(), "test"); err != nil {
			e.t.Fatal(err)
		}
	}
}

// client is a FIT-Connect client of the double.
func (e *env) client(now func() time.Time) *fitconnect.Client {
	e.t.Helper()
	path := filepath.Join(e.dir, "root.pem")
	if err := os.WriteFile(path, e.fc.RootPEM(), 0o600); err != nil {
		e.t.Fatal(err)
	}
	anchors, err := fitconnect.LoadTrustAnchors(path)
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := fitconnect.New(fitconnect.Config{SubmissionAPI: e.fc.URL(), TokenURL: e.fc.TokenURL(),
		ClientID: e.fc.ClientID(), ClientSecret: e.fc.ClientSecret(), TrustAnchors: anchors, Now: now})
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// worker makes a worker over the double with quick retries; tune changes
// its config.
func (e *env) worker(tune func(*handoff.Config)) *handoff.Worker {
	e.t.Helper()
	cfg := handoff.Config{Server: e.srv, Tenant: tenant, Sender: handoff.ClientSender{Client: e.client(nil)}, Log: e.log,
		Retry: backoff.Policy{Min: 5 * time.Millisecond, Max: 50 * time.Millisecond}, Lease: 10 * time.Second}
	if tune != nil {
		tune(&cfg)
	}
	w, err := handoff.New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return w
}

// pass runs one pass and fails the test on an error of the pass.
func (e *env) pass(w *handoff.Worker) handoff.Stats {
	e.t.Helper()
	st, err := w.RunOnce(e.ctx)
	if err != nil {
		e.t.Fatalf("pass: %v (%+v)", err, st)
	}
	return st
}

// status is a case's status on the server.
func (e *env) status(id string) server.RecordView {
	e.t.Helper()
	v, err := e.srv.Record(e.ctx, tenant, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return v
}

// hcase is a case's hand-off state.
func (e *env) hcase(id string) server.HandoffCase {
	e.t.Helper()
	c, err := e.srv.Handoff().HandoffCase(e.ctx, tenant, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// received returns what the double received, by case (FIT-Connect's) id.
func (e *env) received() map[string]fitconnecttest.Received {
	out := map[string]fitconnecttest.Received{}
	for _, r := range e.fc.Submissions() {
		out[r.CaseID] = r
	}
	return out
}

var _ io.Writer = (*logBuffer)(nil)

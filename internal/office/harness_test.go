package office_test

// The tests run the real thing on loopback: the central server (SQLite,
// or PostgreSQL with BK_TEST_SERVER_DB=postgres) serving the sync API and
// the office on two listeners, real field stores that seal cases and a
// real agent that pushes and pulls, and a net/http client with a cookie
// jar standing in for the browser.

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/office"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

func init() { server.SetStaffKDF(crypto.TestKDFParams) }

const (
	tenantA, tenantB = "musterstadt", "andersdorf"
	staffPassword    = "Rathaus-2026!"
	clerkPassword    = "Feldtag-2026!"
)

// personalWords may reach no log.
var personalWords = []string{"Mustermann", "Erika", "Lindenweg", "<script>"}

// clock is the servers' clock: real time plus an offset tests move.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

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

type env struct {
	t         testing.TB
	db        string
	ctx       context.Context
	dir       string
	srv       *server.Server
	clock     *clock
	syncURL   string
	officeURL string
}

func testDB(tb testing.TB, dir string) string {
	if os.Getenv("BK_TEST_SERVER_DB") == "postgres" {
		return newPGDB(tb)
	}
	return filepath.Join(dir, "central.db")
}

// newEnv starts the server with tenants A and B and the office, with a
// staff member of each role in A and a caseworker in B.
func newEnv(t testing.TB) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), dir: t.TempDir(), clock: &clock{}}
	logs := &logBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.db = testDB(t, e.dir)
	srv, err := server.Open(e.ctx, server.Config{DBPath: e.db, MasterKeyFile: filepath.Join(e.dir, "master.key"),
		Now: e.clock.Now, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = srv
	for _, id := range []string{tenantA, tenantB} {
		if err := srv.CreateTenant(e.ctx, id, strings.ToUpper(id)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []struct{ tenant, user, role string }{
		{tenantA, "sb.meier", server.RoleCaseworker}, {tenantA, "sb.kaya", server.RoleCaseworker},
		{tenantA, "plan.roth", server.RolePlanning}, {tenantA, "admin.vogel", server.RoleAdmin},
		{tenantB, "sb.andersdorf", server.RoleCaseworker},
	} {
		if err := srv.AddStaff(e.ctx, s.tenant, s.user, s.role, []byte(staffPassword)); err != nil {
			t.Fatal(err)
		}
	}
	off, err := office.New(srv, office.Config{Log: log})
	if err != nil {
		t.Fatal(err)
	}
	syncTS := httptest.NewServer(srv.Handler())
	officeTS := httptest.NewServer(off.Handler())
	e.syncURL, e.officeURL = syncTS.URL, officeTS.URL
	t.Cleanup(func() {
		officeTS.Close()
		syncTS.Close()
		srv.Close()
		out := logs.String()
		for _, w := range personalWords {
			if strings.Contains(out, w) {
				t.Errorf("personal data (%q) in the log:\n%s", w, out)
			}
		}
	})
	return e
}

// browser is a staff member's browser: a cookie jar, no automatic
// redirects, and the CSRF token of the last page it loaded.
type browser struct {
	e    *env
	c    *http.Client
	csrf string
	last string
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

func (b *browser) do(req *http.Request) *http.Response {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	b.last = string(body)
	if m := csrfRE.FindStringSubmatch(b.last); m != nil {
		b.csrf = m[1]
	}
	return resp
}

// get loads a page and returns its status and body.
func (b *browser) get(path string) (int, string, http.Header) {
	b.e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.e.officeURL+path, nil)
	resp := b.do(req)
	return resp.StatusCode, b.last, resp.Header
}

// post submits a form as the last page would: with its CSRF token unless
// the form sets "csrf" itself.
func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.e.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf"]; !ok {
		form.Set("csrf", b.csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, b.e.officeURL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp := b.do(req)
	return resp.StatusCode, b.last, resp.Header
}

// login signs in and fails the test unless it worked.
func (b *browser) login(user string) {
	b.e.t.Helper()
	if code, _, hdr := b.tryLogin(user, staffPassword); code != http.StatusSeeOther || hdr.Get("Location") == "/login" {
		b.e.t.Fatalf("sign-in of %s: %d %s\n%s", user, code, hdr.Get("Location"), b.last)
	}
}

func (b *browser) tryLogin(user, password string) (int, string, http.Header) {
	b.e.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"username": {user}, "password": {password}})
}

// laptop is a field laptop of a tenant: a real field store, enrolled.
type laptop struct {
	e  *env
	st *store.Store
	ss *store.Session
}

func (e *env) laptop(tenant string) *laptop {
	e.t.Helper()
	l := &laptop{e: e}
	var err error
	if l.st, err = store.Open(e.ctx, filepath.Join(e.dir, tenant+"-field.db"), store.WithKDFParams(crypto.TestKDFParams)); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { l.st.Close() })
	if l.ss, err = l.st.Setup(e.ctx, "anna", "Anna Schmidt", []byte(clerkPassword)); err != nil {
		e.t.Fatal(err)
	}
	code, err := e.srv.IssueEnrolment(e.ctx, tenant, time.Hour)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := agent.Enrol(e.ctx, l.st, l.ss, agent.Enrolment{ServerURL: e.syncURL, Code: code, Name: "laptop-" + tenant}); err != nil {
		e.t.Fatal(err)
	}
	return l
}

// signaturePNG is a signature as the pad's driver draws it: a dark
// stroke on white, 480×140, so the case page shows it as a person sees it.
var signaturePNG = drawSignature()

func drawSignature() []byte {
	img := image.NewGray(image.Rect(0, 0, 480, 140))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for x := 30.0; x < 450; x += 0.25 {
		y := 70 + 35*math.Sin(x/23)*math.Cos(x/71) - (x-240)*(x-240)/9000
		for d := -1; d <= 1; d++ {
			img.SetGray(int(x), int(y)+d, color.Gray{Y: 0x20})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// sealCase captures a Meldebescheinigung for a citizen with the ID
// document read, signature and ISO record, signs and seals it, and
// returns its id.
func (l *laptop) sealCase(surname, given string) string {
	l.e.t.Helper()
	return l.sealCaseConfirmed(surname, given, "")
}

// sealCaseConfirmed is sealCase with a second clerk's four-eyes
// confirmation ("" for none).
func (l *laptop) sealCaseConfirmed(surname, given, second string) string {
	e := l.e
	e.t.Helper()
	p, err := l.ss.CreatePerson(e.ctx, domain.Person{Surname: surname, GivenNames: given, BirthDate: "1964-08-12",
		DocumentType: "ID", DocumentNumber: "T22000129", DocumentExpiry: "2031-10-31", IssuingState: "D", Nationality: "D"})
	if err != nil {
		e.t.Fatal(err)
	}
	c, err := l.ss.CreateCase(e.ctx, domain.Case{ServiceID: "meldebescheinigung", PersonID: p.ID,
		Form: domain.Fields{"surname": surname, "given_names": given, "birth_date": "1964-08-12"}})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := l.ss.PutAttachment(e.ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, signaturePNG); err != nil {
		e.t.Fatal(err)
	}
	_, v, err := l.ss.PutAttachment(e.ctx, c.ID, store.AnyVersion, domain.AttachmentISO19794, []byte("ISO19794-7 "+c.ID))
	if err != nil {
		e.t.Fatal(err)
	}
	if v, err = l.ss.SetCaseStatus(e.ctx, c.ID, v, domain.StatusSigned); err != nil {
		e.t.Fatal(err)
	}
	if second != "" {
		if _, err := l.ss.ConfirmFourEyes(e.ctx, c.ID, second, []byte(clerkPassword)); err != nil {
			e.t.Fatal(err)
		}
	}
	if _, err := l.ss.SealCase(e.ctx, c.ID, v); err != nil {
		e.t.Fatal(err)
	}
	return c.ID
}

// sync runs the agent once, as `syncd agent` would.
func (l *laptop) sync() agent.Report {
	l.e.t.Helper()
	a, err := agent.New(agent.Config{}, l.st)
	if err != nil {
		l.e.t.Fatal(err)
	}
	defer a.Close()
	rep, err := a.SyncOnce(l.e.ctx)
	if err != nil {
		l.e.t.Fatalf("sync: %v", err)
	}
	return rep
}

// caseFields reads a case's plain fields on the laptop (its content may
// be shredded).
func (l *laptop) caseFields(id string) domain.Fields {
	l.e.t.Helper()
	rs, err := l.ss.List(l.e.ctx, domain.TypeCase, nil)
	if err != nil {
		l.e.t.Fatal(err)
	}
	for _, r := range rs {
		if r.ID == id {
			return r.Fields
		}
	}
	l.e.t.Fatalf("case %s not on the laptop", id)
	return nil
}

// audit returns the tenant's office audit log, newest first.
func (e *env) audit(tenant string) []server.OfficeAuditEntry {
	e.t.Helper()
	es, err := e.srv.Office().OfficeAudit(e.ctx, tenant, 0, 1000)
	if err != nil {
		e.t.Fatal(err)
	}
	return es
}

func rx(s string) *regexp.Regexp { return regexp.MustCompile(s) }

func newAgent(l *laptop) (*agent.Agent, error) { return agent.New(agent.Config{}, l.st) }

// dbPath is the server's database (file or URL), for a second process.
func (e *env) dbPath() string { return e.db }

package browsertest_test

import (
	"bytes"
	"fmt"
	"html/template"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"

	"github.com/buergerkoffer/kit/internal/browsertest"
)

func TestMain(m *testing.M) { os.Exit(browsertest.Main(m)) }

// A small site in the office's manner: server-rendered with html/template,
// no script at all (the CSP forbids it), a login with a session cookie, a
// tall inbox with a filter form, and one page built to break accessibility.
var pages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{{.}} – Bürgerkoffer</title>
<link rel="stylesheet" href="/style.css"></head>{{end}}
{{define "login"}}{{template "head" "Anmelden"}}<body><main>
<h1>Anmelden</h1>
{{if .}}<p role="alert" class="error">{{.}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="csrf" value="t0k3n">
<p><label for="user">Benutzername</label> <input id="user" name="user" autocomplete="username"></p>
<p><label>Passwort <input type="password" name="password" autocomplete="current-password"></label></p>
<p><button type="submit">Anmelden</button></p>
</form></main></body></html>{{end}}
{{define "inbox"}}{{template "head" "Posteingang"}}<body><main>
<h1>Posteingang</h1>
<p>Angemeldet als {{.User}}. <a href="/logout">Abmelden</a></p>
<form method="get" action="/inbox">
<p><label for="status">Status</label> <select id="status" name="status">
<option value="">alle</option><option value="eingegangen">eingegangen</option><option value="rueckfrage">Rückfrage</option></select>
<label for="tag">Tag</label> <input type="date" id="tag" name="tag" value="{{.Day}}">
<button type="submit">Filtern</button></p></form>
<p id="filter">Status: {{.Status}}; Tag: {{.Day}}</p>
<ul>{{range .Cases}}<li>Vorgang {{.}}</li>{{end}}</ul>
</main></body></html>{{end}}
{{define "bad"}}<!doctype html><html><head><meta charset="utf-8"><title>Schlecht</title>
<link rel="stylesheet" href="/style.css"></head><body><main><h1>Schlecht</h1>
<p class="faint">Kaum lesbar</p>
<form><input id="nolabel" name="q"></form>
<p style="font-weight: bold">Inline</p><script>document.title = "inline";</script></main></body></html>{{end}}
`))

const css = `body { font: 16px/1.5 sans-serif; color: #1a1a1a; background: #fff; margin: 2rem; }
.error { color: #a00000; }
.faint { color: #d0d0d0; }
li { padding: 0.5rem 0; border-bottom: 1px solid #ccc; }`

const csp = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'"

func site(t *testing.T) *httptest.Server {
	t.Helper()
	render := func(w http.ResponseWriter, status int, name string, data any) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		if err := pages.ExecuteTemplate(w, name, data); err != nil {
			t.Errorf("render %s: %v", name, err)
		}
	}
	var mux http.ServeMux
	mux.HandleFunc("GET /style.css", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/css")
		fmt.Fprint(w, css)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) { render(w, 200, "login", "") })
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("csrf") != "t0k3n" || r.FormValue("user") != "anna" || r.FormValue("password") != "Geheim 123!" {
			render(w, http.StatusUnauthorized, "login", "Benutzername oder Passwort falsch.")
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "s-anna", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /inbox", func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie("session")
		if err != nil || c.Value != "s-anna" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		cases := make([]int, 60) // taller than the window
		for i := range cases {
			cases[i] = 1000 + i
		}
		render(w, 200, "inbox", map[string]any{"User": "anna", "Status": r.FormValue("status"), "Day": r.FormValue("tag"), "Cases": cases})
	})
	mux.HandleFunc("GET /lang", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, r.Header.Get("Accept-Language"))
	})
	mux.HandleFunc("GET /bad", func(w http.ResponseWriter, r *http.Request) { render(w, 200, "bad", nil) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func login(t *testing.T, p *browsertest.Page, srv *httptest.Server) {
	t.Helper()
	if got := p.Open(srv.URL + "/"); got != 200 {
		t.Fatalf("open / = %d", got)
	}
	if got, want := p.URL(), srv.URL+"/login"; got != want {
		t.Fatalf("without a session, / led to %s, want %s", got, want)
	}
	p.Fill("Benutzername", "anna")
	p.Fill("Passwort", "Geheim 123!")
	if got := p.Click("Anmelden"); got != 200 {
		t.Fatalf("sign-in answered %d", got)
	}
}

// Signing in as a person would: the redirect to the login, the fields
// found by their labels, the button by its text, the page that loads, and
// the cookie that the server set, with its attributes.
func TestPage_SignIn(t *testing.T) {
	srv := site(t)
	p := browsertest.New(t)
	login(t, p, srv)
	if got, want := p.URL(), srv.URL+"/inbox"; got != want {
		t.Errorf("after sign-in at %s, want %s", got, want)
	}
	if got := p.Text("h1"); got != "Posteingang" {
		t.Errorf("h1 = %q", got)
	}
	if got := p.Title(); got != "Posteingang – Bürgerkoffer" {
		t.Errorf("title = %q", got)
	}
	if got := p.Count("li"); got != 60 {
		t.Errorf("%d cases listed, want 60", got)
	}
	c := p.Cookie("session")
	if c == nil {
		t.Fatalf("no session cookie; cookies: %v", p.Cookies())
	}
	if c.Value != "s-anna" || !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
		t.Errorf("session cookie %+v, want s-anna, HttpOnly, SameSite=Strict", c)
	}
	if got := browsertest.Eval[string](p, "document.cookie"); got != "" {
		t.Errorf("script reads the HttpOnly cookie: %q", got)
	}
	// A link, by its text, to a page the site does not have.
	if got := p.Click("Abmelden"); got != http.StatusNotFound {
		t.Errorf("the link to /logout answered %d, want 404", got)
	}
}

// A wrong password: the status of the page the click loaded, its text.
func TestPage_WrongPassword(t *testing.T) {
	srv := site(t)
	p := browsertest.New(t)
	p.Open(srv.URL + "/login")
	p.Fill("user", "anna")                                                     // by id
	p.Fill("password", "falsch")                                               // by name
	if got := p.Click("button[type=submit]"); got != http.StatusUnauthorized { // by CSS selector
		t.Errorf("wrong password answered %d, want 401", got)
	}
	if got := p.Text("[role=alert]"); got != "Benutzername oder Passwort falsch." {
		t.Errorf("alert = %q", got)
	}
	if p.Cookie("session") != nil {
		t.Error("a session cookie after a wrong password")
	}
	// Fill replaces what a field holds, and types what a keyboard does not
	// have a key for.
	p.Fill("Benutzername", "Jürgen Weiß <script>")
	if got := p.Value("Benutzername"); got != "Jürgen Weiß <script>" {
		t.Errorf("value = %q, want Jürgen Weiß <script>", got)
	}
}

// A select by its option's text, a date field, a GET form.
func TestPage_FilterForm(t *testing.T) {
	srv := site(t)
	p := browsertest.New(t)
	login(t, p, srv)
	p.Fill("Status", "Rückfrage")
	p.Fill("Tag", "2026-11-30")
	if got := p.Value("Status"); got != "rueckfrage" {
		t.Errorf("status = %q, want the value of the option Rückfrage", got)
	}
	p.Click("Filtern")
	if got, want := p.URL(), srv.URL+"/inbox?status=rueckfrage&tag=2026-11-30"; got != want {
		t.Errorf("filtered to %s, want %s", got, want)
	}
	if got := p.Text("#filter"); got != "Status: rueckfrage; Tag: 2026-11-30" {
		t.Errorf("filter = %q", got)
	}
}

// Two pages of one test are two browsers' worth of sessions: the second
// has no cookie of the first.
func TestPage_SeparateSessions(t *testing.T) {
	srv := site(t)
	a, b := browsertest.New(t), browsertest.New(t)
	login(t, a, srv)
	b.Open(srv.URL + "/inbox")
	if got, want := b.URL(), srv.URL+"/login"; got != want {
		t.Errorf("the second page is at %s, want %s", got, want)
	}
	if len(b.Cookies()) != 0 {
		t.Errorf("the second page has cookies %v", b.Cookies())
	}
}

// The screenshot is a PNG of the whole page, wider than nothing and taller
// than the window, kept under SCREENSHOTS_DIR/office.
func TestPage_Screenshot(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SCREENSHOTS_DIR", dir)
	srv := site(t)
	p := browsertest.New(t)
	login(t, p, srv)
	b := p.Screenshot("inbox")
	file, err := os.ReadFile(filepath.Join(dir, "office", "inbox.png"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, b) {
		t.Error("the file is not the screenshot returned")
	}
	img, err := png.Decode(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	size := img.Bounds().Size()
	t.Logf("inbox.png: %d×%d, %d bytes", size.X, size.Y, len(file))
	if size.X != 1280 || size.Y <= 900 {
		t.Errorf("screenshot %d×%d, want 1280 wide and the page's full height (> 900)", size.X, size.Y)
	}
}

// axe-core runs in a page whose CSP allows no script, and finds nothing
// serious on the accessible pages.
func TestAxe_AccessiblePages(t *testing.T) {
	srv := site(t)
	p := browsertest.New(t)
	p.Open(srv.URL + "/login")
	begin := time.Now()
	vs := p.AxeViolations()
	t.Logf("axe-core on the login, injected and run: %v", time.Since(begin).Round(time.Millisecond))
	for _, v := range vs {
		if v.Serious() {
			t.Errorf("login: %s", v)
		}
	}
	login(t, p, srv)
	begin = time.Now()
	p.CheckAxe()
	t.Logf("axe-core on the inbox: %v", time.Since(begin).Round(time.Millisecond))
}

// recorder is a testing.TB that keeps what would fail the test.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// fails runs f with a recorder on its own goroutine (Fatalf ends it) and
// returns what it reported.
func fails(t *testing.T, f func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() { defer close(done); f(r) }()
	<-done
	return r.errs
}

// On a page with an unlabelled field and text too faint to read, axe-core
// finds both, with the elements; ReportSerious fails the test with them.
func TestAxe_FindsViolations(t *testing.T) {
	srv := site(t)
	p := browsertest.New(t)
	p.Open(srv.URL + "/bad")
	vs := p.AxeViolations()
	found := map[string]browsertest.Violation{}
	for _, v := range vs {
		found[v.ID] = v
	}
	for id, html := range map[string]string{"label": `id="nolabel"`, "color-contrast": `class="faint"`, "html-has-lang": "<html>"} {
		v, ok := found[id]
		if !ok {
			t.Errorf("axe-core did not report %s; it reported %v", id, vs)
			continue
		}
		if !v.Serious() || len(v.Nodes) != 1 || v.Nodes[0].Target == "" || !strings.Contains(v.Nodes[0].HTML, html) || v.Help == "" {
			t.Errorf("%s reported as %+v, want serious or critical at the element with %s", id, v, html)
		}
	}
	errs := fails(t, func(tb testing.TB) { browsertest.ReportSerious(tb, srv.URL+"/bad", vs) })
	if len(errs) != 1 {
		t.Fatalf("ReportSerious reported %d times, want once: %q", len(errs), errs)
	}
	for _, want := range []string{"/bad", "label (critical)", "color-contrast (serious)", "#nolabel", `<p class="faint">`, "https://dequeuniversity.com/rules/axe/"} {
		if !strings.Contains(errs[0], want) {
			t.Errorf("the report lacks %q:\n%s", want, errs[0])
		}
	}
	t.Logf("what a failing test prints:\n%s", errs[0])
	if errs := fails(t, func(tb testing.TB) { browsertest.ReportSerious(tb, "x", nil) }); len(errs) != 0 {
		t.Errorf("no violations reported as %q", errs)
	}
}

// What a test names and the page does not have fails the test at once,
// saying what the page has instead.
func TestPage_NotFound(t *testing.T) {
	srv := site(t)
	b := browsertest.Shared(t)
	for _, c := range []struct {
		name string
		do   func(p *browsertest.Page)
		want string
	}{
		{"field", func(p *browsertest.Page) { p.Fill("E-Mail", "x") }, `no field labelled "E-Mail"`},
		{"fields listed", func(p *browsertest.Page) { p.Fill("E-Mail", "x") }, `"Benutzername", "Passwort"`},
		{"button", func(p *browsertest.Page) { p.Click("Weiter") }, `no button or link says "Weiter"`},
		{"buttons listed", func(p *browsertest.Page) { p.Click("Weiter") }, `the page's buttons and links: "Anmelden"`},
		{"choice", func(p *browsertest.Page) { p.Fill("Passwort", "x"); p.Fill("csrf", "x") }, `no field labelled "csrf"`},
		{"text", func(p *browsertest.Page) { p.Text("h2") }, `no element matches "h2"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			begin := time.Now()
			errs := fails(t, func(tb testing.TB) {
				p := b.NewPage(tb)
				p.Open(srv.URL + "/login")
				c.do(p)
			})
			if len(errs) != 1 || !strings.Contains(errs[0], c.want) {
				t.Errorf("reported %q, want one error with %q", errs, c.want)
			}
			if d := time.Since(begin); d > 5*time.Second {
				t.Errorf("took %v to fail; it must not wait for the timeout", d)
			}
		})
	}
}

// A page asks for German, as a town hall's browser does, and for another
// language when told; the page's scripts see the same.
func TestPage_Language(t *testing.T) {
	srv := site(t)
	p := browsertest.New(t)
	p.Open(srv.URL + "/lang")
	if got := p.Text("body"); got != "de-DE" {
		t.Errorf("Accept-Language %q, want de-DE", got)
	}
	if got := browsertest.Eval[string](p, "navigator.language + ' ' + Intl.DateTimeFormat().resolvedOptions().timeZone"); got != "de-DE Europe/Berlin" {
		t.Errorf("the page's script sees %q", got)
	}
	p.SetLanguage("en")
	p.Open(srv.URL + "/lang")
	if got := p.Text("body"); got != "en" {
		t.Errorf("after SetLanguage(en), Accept-Language %q", got)
	}
}

// The browser's blocks for the page's Content-Security-Policy are seen: an
// inline script and an inline style on a page that allows neither.
func TestPage_CSPViolations(t *testing.T) {
	srv := site(t)
	p := browsertest.New(t)
	login(t, p, srv)
	if vs := p.CSPViolations(); len(vs) != 0 {
		t.Errorf("the inbox has CSP violations: %q", vs)
	}
	p.Open(srv.URL + "/bad")
	vs := p.CSPViolations()
	t.Logf("blocked on /bad: %q", vs)
	joined := strings.Join(vs, "\n")
	if len(vs) != 2 || !strings.Contains(joined, "script-src-elem blocked inline") || !strings.Contains(joined, "style-src-attr blocked inline") {
		t.Errorf("CSP violations on /bad: %q, want the inline script and the inline style", vs)
	}
	if got := p.Title(); got != "Schlecht" {
		t.Errorf("the inline script ran: title %q", got)
	}
}

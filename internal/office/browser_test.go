package office_test

// The office in a real browser: headless Chromium (internal/browsertest)
// against the same loopback servers, field stores and agent as the other
// tests. Each page a person reaches is checked as every office page is:
// axe-core finds nothing serious, the Content-Security-Policy blocked
// nothing, and a screenshot is taken (make screenshots keeps them under
// screenshots/office/). The app's side of a decision, the day screen
// after sync, is app/ui's TestDecision_ShownAfterSync; here the laptop's
// store is checked after its agent synced.

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"

	"github.com/buergerkoffer/kit/internal/browsertest"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/version"
)

// TestMain starts at most one browser and one PostgreSQL cluster for the
// binary, and stops both at the end.
func TestMain(m *testing.M) {
	os.Exit(browsertest.Main(runFunc(func() int { return runWithPG(m) })))
}

// runFunc lets a function stand where a *testing.M is run.
type runFunc func() int

func (f runFunc) Run() int { return f() }

// signIn opens the login page in a new browser tab and signs in as user;
// it fails unless the browser ends on want.
func signIn(t *testing.T, e *env, user, want string) *browsertest.Page {
	t.Helper()
	p := browsertest.New(t)
	p.Open(e.officeURL + "/login")
	p.Fill("Benutzername", user)
	p.Fill("Passwort", staffPassword)
	p.Click("Anmelden")
	if got := path(t, e, p); got != want {
		t.Fatalf("%s signed in and is on %s, want %s:\n%s", user, got, want, p.Text("main"))
	}
	return p
}

// path is the page's address without the office's origin.
func path(t *testing.T, e *env, p *browsertest.Page) string {
	t.Helper()
	return strings.TrimPrefix(p.URL(), e.officeURL)
}

// A case a field store sealed and the agent pushed is found in the
// filtered inbox, opened and answered with a Rückfrage; a second browser
// that opened it before then sees the first decision, not its own; the
// laptop's agent pulls the Rückfrage.
func TestBrowser_DecisionReachesLaptop(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	id := l.sealCase("Mustermann", "Erika")
	other := l.sealCase("Musterfrau", "Eva")
	l.sync()

	p := browsertest.New(t)
	p.Open(e.officeURL + "/")
	if got := path(t, e, p); !strings.HasPrefix(got, "/login?") {
		t.Fatalf("without a session the browser is on %s, want the login", got)
	}
	p.Check("login")
	p.Fill("Benutzername", "sb.meier")
	p.Fill("Passwort", staffPassword)
	p.Click("Anmelden")
	if got := path(t, e, p); got != "/inbox" {
		t.Fatalf("after signing in: %s", got)
	}
	if n := p.Count("#inbox-table tbody tr"); n != 2 {
		t.Errorf("inbox rows: %d, want 2", n)
	}
	p.Check("inbox")

	p.Fill("Status", "eingegangen")
	p.Fill("Aufgenommen von", l.ss.Clerk().ID)
	p.Click("Filtern")
	if u := path(t, e, p); !strings.Contains(u, "status=eingegangen") || !strings.Contains(u, "clerk=") {
		t.Errorf("filtered inbox at %s", u)
	}
	if p.Count("#case-"+id) != 1 || p.Count("#case-"+other) != 1 {
		t.Errorf("the filter lost a case:\n%s", p.Text("main"))
	}
	p.Check("inbox-filtered")

	// A colleague opens the same case before the decision.
	late := signIn(t, e, "sb.kaya", "/inbox")
	late.Open(e.officeURL + "/cases/" + id)

	p.Click("#open-" + id)
	if got := path(t, e, p); got != "/cases/"+id {
		t.Fatalf("opened %s", got)
	}
	body := p.Text("main")
	for _, want := range []string{"Mustermann", "Erika", "T22000129", "Versiegelt", "Im Rathaus eingegangen"} {
		if !strings.Contains(body, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	p.Check("case")

	const question = "Bitte die Meldeadresse ergänzen."
	p.Fill("Rückfrage an die Außenstelle (Pflicht)", question)
	p.Click("Rückfrage senden")
	if got := path(t, e, p); got != "/cases/"+id+"?decided=1" {
		t.Fatalf("after the decision: %s", got)
	}
	// After a Rückfrage the case stays open for a decision; its history
	// has the question.
	if body := p.Text("main"); !strings.Contains(body, "Rückfrage gestellt\t"+question) {
		t.Errorf("decided case page:\n%s", body)
	}
	p.Check("case-decided")

	// The colleague's Annehmen, made from the older page, is refused and
	// shows the Rückfrage.
	if code := late.Click("Annehmen"); code != 409 {
		t.Errorf("second decision: %d, want 409", code)
	}
	if body := late.Text("main"); !strings.Contains(body, question) || !strings.Contains(body, "inzwischen geändert") {
		t.Errorf("the 409 page does not show the first decision:\n%s", body)
	}
	late.Check("case-conflict")

	l.sync()
	f := l.caseFields(id)
	if f["status"] != string(domain.StatusNeedsInfo) || f["decision_note"] != question || f["decided_by"] != "sb.meier" {
		t.Fatalf("on the laptop after sync: %v", f)
	}
	if f := l.caseFields(other); f["status"] != "sealed" {
		t.Errorf("the other case on the laptop: %v", f)
	}
}

// An appointment booked in the browser reaches the laptop; the laptops
// page shows the version the laptop's agent sent.
func TestBrowser_PlanningReachesLaptop(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	day := time.Now().Format("2006-01-02")
	p := signIn(t, e, "plan.roth", "/planning")
	p.Check("planning-empty")

	p.Fill("Ort", "Seniorenheim Lindenhof")
	p.Fill("Anschrift", "Am Park 2, 54321 Oberweiler")
	p.Fill("Tag", day)
	p.Fill("Personal (Benutzernamen, durch Komma getrennt)", "anna")
	p.Click("Einsatz anlegen")
	visit, _, _ := strings.Cut(path(t, e, p), "?")
	visitID, ok := strings.CutPrefix(visit, "/planning/visits/")
	if !ok {
		t.Fatalf("after creating the visit: %s", visit)
	}
	p.Fill("Uhrzeit", "09:30")
	p.Fill("Leistung", "anmeldung")
	p.Fill("Name der Bürgerin / des Bürgers", "Erika Mustermann")
	p.Click("#appt-book")
	if body := p.Text("main"); !strings.Contains(body, "Erika Mustermann") || !strings.Contains(body, "09:30") {
		t.Errorf("visit page after booking:\n%s", body)
	}
	p.Check("visit")
	p.Click("#nav-planning")
	p.Check("planning")

	l.sync()
	as, err := l.ss.List(e.ctx, domain.TypeAppointment, domain.Fields{"visit_id": visitID})
	if err != nil || len(as) != 1 {
		t.Fatalf("appointments on the laptop: %d %v", len(as), err)
	}
	a, err := domain.AppointmentFromFields(as[0].ID, as[0].Fields)
	if err != nil {
		t.Fatal(err)
	}
	if a.CitizenName != "Erika Mustermann" || a.StartsAt.Local().Format("15:04") != "09:30" || a.Status != domain.AppointmentBooked {
		t.Errorf("appointment on the laptop: %s %s", a.StartsAt.Local().Format("15:04"), a.Status)
	}

	p.Click("#nav-devices")
	if got := p.Text("#devices-table tbody .version"); got != version.String() {
		t.Errorf("app version on the laptops page: %q, want %q", got, version.String())
	}
	p.Check("devices")
	p.Click("Anmeldecode erstellen")
	if p.Count("#enrolment-code") != 1 {
		t.Error("no enrolment code")
	}
	p.Check("devices-code")
}

// The admin's pages: staff, the confirmation before deleting an account,
// the audit log, and one page in English.
func TestBrowser_AdminPages(t *testing.T) {
	e := newEnv(t)
	// Something for the audit log: a case opened and decided.
	l := e.laptop(tenantA)
	id := l.sealCase("Mustermann", "Erika")
	l.sync()
	sb := e.browser()
	sb.login("sb.meier")
	_, page, _ := sb.get("/cases/" + id)
	sb.post("/cases/"+id+"/decision", url.Values{"outcome": {"accepted"}, "version": {versionOf(t, page)}})

	p := signIn(t, e, "admin.vogel", "/staff")
	p.Check("staff")
	p.Click("Löschen: sb.kaya")
	if body := p.Text("main"); !strings.Contains(body, "sb.kaya") {
		t.Errorf("delete confirmation:\n%s", body)
	}
	p.Check("staff-delete")
	p.Click("Abbrechen")
	p.Click("#nav-audit")
	if body := p.Text("main"); !strings.Contains(body, "admin.vogel") || !strings.Contains(body, id) {
		t.Errorf("audit log lacks the sign-in or the case:\n%s", body)
	}
	if got := p.Text("#audit-table tbody tr:nth-child(2)"); !strings.Contains(got, "Fall entschieden\t"+id+"\tAngenommen") {
		t.Errorf("the decision in the audit log: %q", got)
	}
	p.Check("audit")
	p.Click("English")
	if lang := browsertest.Eval[string](p, "document.documentElement.lang"); lang != "en" || !strings.Contains(p.Text("h1"), "log") {
		t.Errorf("English audit page: lang %q, h1 %q", lang, p.Text("h1"))
	}
	p.Check("audit-en")
	if code := p.Open(e.officeURL + "/nirgends"); code != 404 {
		t.Errorf("a page that does not exist: %d", code)
	}
	if p.Count("#nav-audit") != 1 {
		t.Error("the 404 of a signed-in admin lost the navigation")
	}
	p.Check("not-found-en")
	if code := p.Open(e.officeURL + "/inbox"); code != 403 {
		t.Errorf("the inbox for an admin: %d", code)
	}
	p.Check("forbidden-en")
}

// Without a session every page ends on the login; the session cookie is
// out of scripts' reach and never sent from another site.
func TestBrowser_SessionCookie(t *testing.T) {
	e := newEnv(t)
	p := browsertest.New(t)
	for _, u := range []string{"/inbox", "/cases/0190a5b2-0000-7000-8000-000000000000", "/planning", "/staff"} {
		p.Open(e.officeURL + u)
		if got, want := path(t, e, p), "/login?next="+url.QueryEscape(u); got != want {
			t.Errorf("%s without a session ends on %s, want %s", u, got, want)
		}
	}
	p.Fill("Benutzername", "sb.meier")
	p.Fill("Passwort", staffPassword)
	p.Click("Anmelden")
	c := p.Cookie("bk_office")
	if c == nil {
		t.Fatalf("no session cookie; the browser has %v", p.Cookies())
	}
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict {
		t.Errorf("session cookie: HttpOnly %v, SameSite %q", c.HTTPOnly, c.SameSite)
	}
	if js := browsertest.Eval[string](p, "document.cookie"); strings.Contains(js, "bk_office") {
		t.Errorf("a script reads the session cookie: %q", js)
	}
	p.Click("Abmelden")
	p.Open(e.officeURL + "/inbox")
	if got := path(t, e, p); !strings.HasPrefix(got, "/login?") {
		t.Errorf("after signing out /inbox ends on %s", got)
	}
}

// After five wrong passwords the sixth attempt, right or wrong, gets the
// 429 page and no session.
func TestBrowser_LoginThrottle(t *testing.T) {
	e := newEnv(t)
	p := browsertest.New(t)
	p.Open(e.officeURL + "/login")
	for i := 0; i < 5; i++ {
		p.Fill("Benutzername", "sb.meier")
		p.Fill("Passwort", "falsch-"+strings.Repeat("x", i))
		if code := p.Click("Anmelden"); code != 401 {
			t.Fatalf("wrong password %d: %d", i+1, code)
		}
	}
	if p.Count(`#error[role="alert"]`) != 1 {
		t.Error("the failed sign-in is not announced as an error")
	}
	p.Check("login-failed")
	p.Fill("Benutzername", "sb.meier")
	p.Fill("Passwort", staffPassword)
	if code := p.Click("Anmelden"); code != 429 {
		t.Fatalf("sixth attempt: %d", code)
	}
	if p.Cookie("bk_office") != nil {
		t.Error("a session after the throttle")
	}
	p.Check("login-throttled")
}

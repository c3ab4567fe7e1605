package ui

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/office"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

// The town hall decides cases in its office (a real browser session
// against the real office handler); the laptop's agent pulls the
// decisions, and the day screen and the case show them, though the
// laptop shredded the cases when the town hall acknowledged them.
func TestDecision_ShownAfterSync(t *testing.T) {
	h := newHarness(t, harnessOpt{noDevices: true})
	ss := h.session("anna")
	visit, err := ss.CreateVisit(h.ctx, domain.Visit{Place: "Ortsamt Nord", Day: h.k.today(), ClerkIDs: []string{"anna"}})
	if err != nil {
		t.Fatal(err)
	}
	seal := func(surname string) string {
		c, err := ss.CreateCase(h.ctx, domain.Case{ServiceID: "meldebescheinigung", VisitID: visit.ID,
			Form: domain.Fields{"surname": surname, "given_names": "Erika", "birth_date": "1964-08-12"}})
		if err != nil {
			t.Fatal(err)
		}
		_, v, err := ss.PutAttachment(h.ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, []byte("\x89PNG "+c.ID))
		if err != nil {
			t.Fatal(err)
		}
		if v, err = ss.SetCaseStatus(h.ctx, c.ID, v, domain.StatusSigned); err != nil {
			t.Fatal(err)
		}
		if _, err := ss.SealCase(h.ctx, c.ID, v); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond) // created in this order on the day screen
		return c.ID
	}
	rejected, question, accepted := seal("Mustermann"), seal("Musterfrau"), seal("Beispiel")
	h.sync()

	old := server.SetStaffKDF(crypto.TestKDFParams)
	defer server.SetStaffKDF(old)
	if err := h.srv.AddStaff(h.ctx, tenant, "sb.meier", server.RoleCaseworker, []byte("Rathaus-2026!")); err != nil {
		t.Fatal(err)
	}
	off, err := office.New(h.srv, office.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(off.Handler())
	defer ts.Close()
	b := newOfficeBrowser(t, ts.URL)
	b.post("/login", url.Values{"username": {"sb.meier"}, "password": {"Rathaus-2026!"}}, "/login")
	for _, d := range []struct{ id, outcome, note string }{
		{rejected, "rejected", "Die Meldeadresse fehlt."}, {question, "needs_info", "Bitte Geburtsort nachtragen."}, {accepted, "accepted", ""},
	} {
		if code := b.post("/cases/"+d.id+"/decision", url.Values{"outcome": {d.outcome}, "note": {d.note}}, "/cases/"+d.id); code != http.StatusSeeOther {
			t.Fatalf("decide %s: %d", d.outcome, code)
		}
	}

	h.sync()
	h.signIn("anna")
	h.waitText("Abgelehnt: Die Meldeadresse fehlt.")
	h.waitText("Rückfrage: Bitte Geburtsort nachtragen.")
	h.waitText("Angenommen")
	h.shot("day-decisions")
	h.tap("Entscheidung")
	h.waitScreen("decision")
	h.waitText("Die Meldeadresse fehlt.")
	h.waitText("sb.meier")
	h.shot("decision")
	h.tap("Zurück")
	h.waitScreen("day")
}

// officeBrowser is a browser of the town hall's office: a cookie jar and
// the CSRF token of the last page.
type officeBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newOfficeBrowser(t *testing.T, base string) *officeBrowser {
	jar, _ := cookiejar.New(nil)
	return &officeBrowser{t: t, base: base, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfInPage = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// post loads page (for its tokens and the version it shows), then posts
// the form to path, and returns the status.
func (b *officeBrowser) post(path string, form url.Values, page string) int {
	b.t.Helper()
	resp, err := b.c.Get(b.base + page)
	if err != nil {
		b.t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := csrfInPage.FindStringSubmatch(string(body))
	if m == nil {
		b.t.Fatalf("no form on %s: %d", page, resp.StatusCode)
	}
	form.Set("csrf", m[1])
	if v := regexp.MustCompile(`name="version" value="(\d+)"`).FindStringSubmatch(string(body)); v != nil {
		form.Set("version", v[1])
	}
	resp, err = b.c.Post(b.base+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

package office_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/office"
	"github.com/buergerkoffer/kit/internal/server"
)

// A case sealed by a real field store and pushed by the real agent
// arrives in the inbox, opens (and the opening is in the audit log), is
// decided, and the laptop's agent pulls the decision.
func TestOffice_WholeFlow(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	id := l.sealCase("Mustermann", "Erika")
	l.sync()
	if f := l.caseFields(id); f["status"] != "sealed" {
		t.Fatalf("on the laptop before: %v", f)
	}

	b := e.browser()
	b.login("sb.meier")
	code, body, _ := b.get("/inbox")
	if code != http.StatusOK || !strings.Contains(body, `id="case-`+id+`"`) {
		t.Fatalf("inbox: %d\n%s", code, body)
	}
	if strings.Contains(body, "Mustermann") {
		t.Error("the inbox shows personal data; only opening a case may")
	}
	if !strings.Contains(body, `id="count-eingegangen"`) || !strings.Contains(body, "Eingegangen: 1") {
		t.Errorf("inbox counts missing:\n%s", body)
	}
	for _, q := range []string{"?status=eingegangen", "?service=meldebescheinigung", "?day=" + time.Now().UTC().Format("2006-01-02"), "?clerk=" + l.ss.Clerk().ID} {
		if _, body, _ := b.get("/inbox" + q); !strings.Contains(body, `id="case-`+id+`"`) {
			t.Errorf("filter %s lost the case", q)
		}
	}
	for _, q := range []string{"?status=abgelehnt", "?service=hundeanmeldung", "?clerk=ben"} {
		if _, body, _ := b.get("/inbox" + q); strings.Contains(body, `id="case-`+id+`"`) {
			t.Errorf("filter %s kept the case", q)
		}
	}

	before := len(e.audit(tenantA))
	code, body, _ = b.get("/cases/" + id)
	if code != http.StatusOK {
		t.Fatalf("case: %d\n%s", code, body)
	}
	for _, want := range []string{"Mustermann", "Erika", "Meldebescheinigung", "T22000129", `id="signature"`,
		`id="file-iso19794_7"`, "Versiegelt", "Im Rathaus eingegangen", "laptop-" + tenantA, `id="decide-reject"`} {
		if !strings.Contains(body, want) {
			t.Errorf("case page lacks %q", want)
		}
	}
	es := e.audit(tenantA)
	if len(es) != before+1 || es[0].Action != "case.open" || es[0].Record != id || es[0].Username != "sb.meier" ||
		es[0].Addr != "127.0.0.1" {
		t.Fatalf("audit after opening: %+v", es[:1])
	}

	// The signature as an image, and the ISO record as a download.
	m := rx(`src="(/cases/[^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no signature image")
	}
	code, img, hdr := b.get(m[1])
	if code != http.StatusOK || hdr.Get("Content-Type") != "image/png" || img != string(signaturePNG) {
		t.Fatalf("signature: %d %s %q", code, hdr.Get("Content-Type"), img)
	}

	// Rejecting needs a reason.
	code, _, _ = b.post("/cases/"+id+"/decision", url.Values{"outcome": {"rejected"}, "version": {versionOf(t, body)}})
	if code != http.StatusUnprocessableEntity {
		t.Fatalf("reject without a reason: %d", code)
	}
	code, _, hdr = b.post("/cases/"+id+"/decision", url.Values{"outcome": {"rejected"}, "version": {versionOf(t, body)},
		"note": {"Die Meldeadresse ist unvollständig."}})
	if code != http.StatusSeeOther {
		t.Fatalf("reject: %d\n%s", code, b.last)
	}
	_, body, _ = b.get(hdr.Get("Location"))
	if !strings.Contains(body, "Abgelehnt") || !strings.Contains(body, "Die Meldeadresse ist unvollständig.") ||
		strings.Contains(body, `id="decide-reject"`) {
		t.Errorf("decided case page:\n%s", body)
	}
	if es := e.audit(tenantA); es[1].Action != "case.decide" || es[1].Detail != "rejected" {
		t.Errorf("audit of the decision: %+v", es[:2])
	}

	// The laptop pulls the decision, though it shredded the case.
	l.sync()
	f := l.caseFields(id)
	if f["status"] != "rejected" || f["decision_note"] != "Die Meldeadresse ist unvollständig." || f["decided_by"] != "sb.meier" {
		t.Fatalf("on the laptop after: %v", f)
	}
	if _, body, _ := b.get("/inbox?status=abgelehnt"); !strings.Contains(body, `id="case-`+id+`"`) {
		t.Error("the rejected case is not under Abgelehnt")
	}
}

// versionOf reads the version the decision forms carry.
func versionOf(t *testing.T, body string) string {
	t.Helper()
	m := rx(`name="version" value="(\d+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no version in the page")
	}
	return m[1]
}

// The same case decided from two browsers is one decision: the second
// sees the first and changes nothing.
func TestOffice_DecisionTwiceIsOneDecision(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	id := l.sealCase("Mustermann", "Erika")
	l.sync()
	b1, b2 := e.browser(), e.browser()
	b1.login("sb.meier")
	b2.login("sb.kaya")
	_, page1, _ := b1.get("/cases/" + id)
	_, page2, _ := b2.get("/cases/" + id)
	if code, _, _ := b1.post("/cases/"+id+"/decision", url.Values{"outcome": {"accepted"}, "version": {versionOf(t, page1)}}); code != http.StatusSeeOther {
		t.Fatalf("first decision: %d", code)
	}
	code, body, _ := b2.post("/cases/"+id+"/decision", url.Values{"outcome": {"needs_info"}, "version": {versionOf(t, page2)},
		"note": {"Bitte Mietvertrag nachreichen."}})
	if code != http.StatusConflict || !strings.Contains(body, "inzwischen geändert") || !strings.Contains(body, "Angenommen") {
		t.Fatalf("second decision: %d\n%s", code, body)
	}
	v, err := e.srv.Record(e.ctx, tenantA, id)
	if err != nil {
		t.Fatal(err)
	}
	if v.Fields["status"] != "accepted" || v.Fields["decided_by"] != "sb.meier" || v.Fields["decision_note"] != "" {
		t.Fatalf("after both: %v", v.Fields)
	}
}

// No session: every page sends the browser to the sign-in.
func TestOffice_NoSessionRedirectsToLogin(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, p := range []string{"/", "/inbox", "/cases/0190a5b2-0000-7000-8000-000000000000", "/planning", "/devices", "/staff", "/audit"} {
		code, _, hdr := b.get(p)
		if code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
			t.Errorf("GET %s without a session: %d %s", p, code, hdr.Get("Location"))
		}
	}
	if code, _, _ := b.post("/cases/0190a5b2-0000-7000-8000-000000000000/decision", url.Values{"outcome": {"accepted"}}); code != http.StatusForbidden {
		t.Errorf("POST without a session: %d", code)
	}
	if code, body, _ := b.get("/login"); code != http.StatusOK || !strings.Contains(body, `<label for="username">`) {
		t.Errorf("login page: %d", code)
	}
}

// Staff of tenant B asking for a case of tenant A get the answer a case
// that does not exist gets.
func TestOffice_OtherTenantsCaseIsNotFound(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	id := l.sealCase("Mustermann", "Erika")
	l.sync()
	b := e.browser()
	b.login("sb.andersdorf")
	code, body, _ := b.get("/cases/" + id)
	codeNone, bodyNone, _ := b.get("/cases/" + domain.NewID())
	if code != http.StatusNotFound || codeNone != http.StatusNotFound || body != bodyNone {
		t.Fatalf("another tenant's case: %d, none: %d; bodies equal: %v", code, codeNone, body == bodyNone)
	}
	if strings.Contains(body, "Mustermann") {
		t.Fatal("another tenant's data shown")
	}
	if _, body, _ := b.get("/inbox"); strings.Contains(body, id) {
		t.Fatal("another tenant's case in the inbox")
	}
	b.get("/inbox")
	if code, _, _ := b.post("/cases/"+id+"/decision", url.Values{"outcome": {"accepted"}, "version": {"3"}}); code != http.StatusNotFound {
		t.Fatalf("deciding another tenant's case: %d", code)
	}
	for _, es := range e.audit(tenantB) {
		if es.Action == "case.open" {
			t.Fatalf("an opening that showed nothing was logged: %+v", es)
		}
	}
}

// A POST without a valid CSRF token is refused with 403 and changes
// nothing.
func TestOffice_CSRF(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	id := l.sealCase("Mustermann", "Erika")
	l.sync()
	b := e.browser()
	b.login("sb.meier")
	_, page, _ := b.get("/cases/" + id)
	before, _ := e.srv.Record(e.ctx, tenantA, id)
	for _, token := range []string{"", "forged", strings.Repeat("A", 43)} {
		code, _, _ := b.post("/cases/"+id+"/decision", url.Values{"outcome": {"accepted"}, "version": {versionOf(t, page)}, "csrf": {token}})
		if code != http.StatusForbidden {
			t.Errorf("decision with token %q: %d", token, code)
		}
	}
	after, _ := e.srv.Record(e.ctx, tenantA, id)
	if after.Version != before.Version || after.Fields["status"] != "sealed" {
		t.Fatalf("the case changed: %v", after.Fields)
	}
	// Another site's form, with the right token but the wrong Origin.
	req, _ := http.NewRequest(http.MethodPost, e.officeURL+"/cases/"+id+"/decision",
		strings.NewReader(url.Values{"outcome": {"accepted"}, "version": {versionOf(t, page)}, "csrf": {b.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp := b.do(req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST: %d", resp.StatusCode)
	}

	a := e.browser()
	a.login("admin.vogel")
	a.get("/staff")
	if code, _, _ := a.post("/staff", url.Values{"username": {"new.one"}, "role": {"admin"}, "password": {staffPassword}, "csrf": {""}}); code != http.StatusForbidden {
		t.Errorf("staff-add without token: %d", code)
	}
	if _, body, _ := a.get("/staff"); strings.Contains(body, "new.one") {
		t.Error("staff member created without a token")
	}
	// Sign-in without the sign-in form's token.
	c := e.browser()
	if code, _, _ := c.post("/login", url.Values{"username": {"sb.meier"}, "password": {staffPassword}}); code != http.StatusForbidden {
		t.Errorf("sign-in without token: %d", code)
	}
}

// A citizen's name with markup is shown as text.
func TestOffice_ScriptInNameIsText(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	id := l.sealCase("<script>alert(1)</script>", "Erika")
	l.sync()
	b := e.browser()
	b.login("sb.meier")
	_, body, _ := b.get("/cases/" + id)
	if strings.Contains(body, "<script>") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Fatalf("case page:\n%s", body)
	}

	p := e.browser()
	p.login("plan.roth")
	p.get("/planning")
	code, _, hdr := p.post("/planning/visits", url.Values{"place": {"Rathaus <b>Nord</b>"}, "day": {"2026-12-01"}, "clerks": {"anna"}})
	if code != http.StatusSeeOther {
		t.Fatalf("visit: %d\n%s", code, p.last)
	}
	visit := hdr.Get("Location")
	visit = visit[:strings.Index(visit, "?")]
	p.get(visit)
	if code, _, _ := p.post(visit+"/appointments", url.Values{"time": {"09:00"}, "minutes": {"15"}, "service": {"anmeldung"},
		"name": {"<script>alert(2)</script>"}}); code != http.StatusSeeOther {
		t.Fatalf("book: %d\n%s", code, p.last)
	}
	_, body, _ = p.get(visit)
	if strings.Contains(body, "<script>") || strings.Contains(body, "<b>Nord") || !strings.Contains(body, "&lt;script&gt;alert(2)") {
		t.Fatalf("visit page:\n%s", body)
	}
}

// The sixth wrong password is answered 429 with Retry-After, the right
// one too until the window has passed; no answer tells whether a user
// exists.
func TestOffice_LoginThrottle(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	_, unknown, _ := b.tryLogin("nobody.here", "whatever-pass")
	_, wrong, _ := b.tryLogin("sb.meier", "wrong-password")
	if msg(unknown) != msg(wrong) {
		t.Errorf("unknown user and wrong password answer differently: %q vs %q", msg(unknown), msg(wrong))
	}
	for i := 3; i <= 5; i++ {
		if code, _, _ := b.tryLogin("sb.meier", "wrong-password"); code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: %d", i, code)
		}
	}
	code, _, hdr := b.tryLogin("sb.meier", "wrong-password")
	if code != http.StatusTooManyRequests {
		t.Fatalf("6th attempt: %d", code)
	}
	if s, err := strconv.Atoi(hdr.Get("Retry-After")); err != nil || s <= 0 || s > int(office.LoginFailWindow.Seconds()) {
		t.Fatalf("Retry-After %q", hdr.Get("Retry-After"))
	}
	if code, _, _ := b.tryLogin("sb.meier", staffPassword); code != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: %d", code)
	}
	// The address is throttled for every user name too.
	if code, _, _ := b.tryLogin("sb.kaya", staffPassword); code != http.StatusTooManyRequests {
		t.Fatalf("other user from the throttled address: %d", code)
	}
	e.clock.Advance(office.LoginFailWindow + time.Second)
	b.login("sb.meier")
}

// msg is the page's message or error paragraph.
func msg(body string) string {
	m := rx(`<p class="(?:message|error)"[^>]*>([^<]*)</p>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return m[1]
}

// A disabled or deleted staff member's open session stops at once.
func TestOffice_DisabledStaffSessionEnds(t *testing.T) {
	e := newEnv(t)
	sb, kaya, admin := e.browser(), e.browser(), e.browser()
	sb.login("sb.meier")
	kaya.login("sb.kaya")
	admin.login("admin.vogel")
	if code, _, _ := sb.get("/inbox"); code != http.StatusOK {
		t.Fatalf("before: %d", code)
	}
	admin.get("/staff")
	if code, _, _ := admin.post("/staff/sb.meier", url.Values{"action": {"disable"}}); code != http.StatusSeeOther {
		t.Fatalf("disable: %d\n%s", code, admin.last)
	}
	if code, _, hdr := sb.get("/inbox"); code != http.StatusSeeOther || !strings.HasPrefix(hdr.Get("Location"), "/login") {
		t.Fatalf("disabled member's session: %d %s", code, hdr.Get("Location"))
	}
	if code, _, _ := sb.tryLogin("sb.meier", staffPassword); code != http.StatusUnauthorized {
		t.Fatalf("disabled member signs in: %d", code)
	}
	admin.get("/staff")
	if code, body, _ := admin.post("/staff/sb.kaya", url.Values{"action": {"delete"}}); code != http.StatusOK || !strings.Contains(body, `id="confirm-delete"`) {
		t.Fatalf("delete asks first: %d", code)
	}
	if code, _, _ := kaya.get("/inbox"); code != http.StatusOK {
		t.Fatalf("deleted before the confirmation: %d", code)
	}
	if code, _, _ := admin.post("/staff/sb.kaya", url.Values{"action": {"delete-confirmed"}}); code != http.StatusSeeOther {
		t.Fatalf("delete: %d", code)
	}
	if code, _, _ := kaya.get("/inbox"); code != http.StatusSeeOther {
		t.Fatalf("deleted member's session: %d", code)
	}
	// A new password set by an admin ends the member's sessions.
	plan := e.browser()
	plan.login("plan.roth")
	admin.get("/staff")
	if code, _, _ := admin.post("/staff/plan.roth", url.Values{"action": {"password"}, "password": {"short"}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("short password: %d", code)
	}
	if code, _, _ := admin.post("/staff/plan.roth", url.Values{"action": {"password"}, "password": {"Neu-gesetzt-2026"}}); code != http.StatusSeeOther {
		t.Fatalf("set password: %d\n%s", code, admin.last)
	}
	if code, _, _ := plan.get("/planning"); code != http.StatusSeeOther {
		t.Fatalf("session after a new password: %d", code)
	}
	if code, _, _ := plan.tryLogin("plan.roth", "Neu-gesetzt-2026"); code != http.StatusSeeOther {
		t.Fatalf("sign-in with the new password: %d", code)
	}
	_, body, _ := admin.get("/audit")
	if !strings.Contains(body, "Konto gesperrt") || !strings.Contains(body, "Konto gelöscht") || !strings.Contains(body, "Passwort neu gesetzt") {
		t.Errorf("audit page:\n%s", body)
	}
	// An admin of tenant A cannot touch tenant B's staff.
	admin.get("/staff")
	for _, action := range []string{"disable", "delete", "delete-confirmed", "password"} {
		admin.get("/staff")
		if code, _, _ := admin.post("/staff/sb.andersdorf", url.Values{"action": {action}, "password": {"Lang-genug-2026"}}); code != http.StatusNotFound {
			t.Errorf("%s another tenant's member: %d", action, code)
		}
	}
	if _, err := e.srv.Office().StaffByName(e.ctx, "sb.andersdorf"); err != nil {
		t.Errorf("another tenant's member after all that: %v", err)
	}
}

// Sessions end after 15 idle minutes and after 8 hours in any case.
func TestOffice_SessionTimeouts(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.login("sb.meier")
	e.clock.Advance(14 * time.Minute)
	if code, _, _ := b.get("/inbox"); code != http.StatusOK {
		t.Fatalf("after 14 idle minutes: %d", code)
	}
	e.clock.Advance(16 * time.Minute)
	if code, _, _ := b.get("/inbox"); code != http.StatusSeeOther {
		t.Fatalf("after 16 idle minutes: %d", code)
	}
	b.login("sb.meier")
	for range 36 { // 8 h 24 min, never idle for 15
		e.clock.Advance(14 * time.Minute)
		b.get("/inbox")
	}
	if code, _, _ := b.get("/inbox"); code != http.StatusSeeOther {
		t.Fatalf("after more than 8 hours: %d", code)
	}
}

// Roles: each sees its own pages only.
func TestOffice_Roles(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		user    string
		ok, not []string
	}{
		{"sb.meier", []string{"/inbox"}, []string{"/planning", "/devices", "/staff", "/audit"}},
		{"plan.roth", []string{"/planning", "/devices"}, []string{"/inbox", "/staff", "/audit"}},
		{"admin.vogel", []string{"/staff", "/audit"}, []string{"/inbox", "/planning", "/devices"}},
	} {
		b := e.browser()
		b.login(c.user)
		for _, p := range c.ok {
			if code, _, _ := b.get(p); code != http.StatusOK {
				t.Errorf("%s %s: %d", c.user, p, code)
			}
		}
		for _, p := range c.not {
			if code, _, _ := b.get(p); code != http.StatusForbidden {
				t.Errorf("%s %s: %d, want 403", c.user, p, code)
			}
		}
	}
}

// Every response carries the security headers; pages no-store.
func TestOffice_SecurityHeaders(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	id := l.sealCase("Mustermann", "Erika")
	l.sync()
	b := e.browser()
	check := func(what string, hdr http.Header, page bool) {
		t.Helper()
		csp := hdr.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe-inline") ||
			!strings.Contains(csp, "default-src 'none'") || hdr.Get("X-Frame-Options") != "DENY" ||
			hdr.Get("Referrer-Policy") == "" || hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", what, hdr)
		}
		if page && hdr.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: Cache-Control %q", what, hdr.Get("Cache-Control"))
		}
	}
	_, _, hdr := b.get("/login")
	check("login", hdr, true)
	_, _, hdr = b.get("/inbox")
	check("redirect", hdr, true)
	_, _, hdr = b.post("/login", url.Values{"csrf": {"x"}})
	check("403", hdr, true)
	b.login("sb.meier")
	for _, p := range []string{"/inbox", "/cases/" + id, "/nowhere", "/cases/" + domain.NewID()} {
		_, body, hdr := b.get(p)
		check(p, hdr, true)
		if strings.Contains(body, "<script") || strings.Contains(body, " style=") || strings.Contains(body, " on") && rx(` on[a-z]+=`).MatchString(body) {
			t.Errorf("%s has inline script or style", p)
		}
	}
	if code, _, hdr := b.get("/static/"); code != http.StatusNotFound {
		t.Errorf("static listing: %d", code)
	} else {
		check("static listing", hdr, false)
	}
	_, _, hdr = b.get("/static/office.css")
	check("css", hdr, false)
	if hdr.Get("Content-Type") != "text/css; charset=utf-8" {
		t.Errorf("css content type %q", hdr.Get("Content-Type"))
	}
}

// The inbox pages by key, newest first, keeping its filters, and counts
// per status.
func TestOffice_InboxPaging(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Add(-2 * time.Hour).UTC()
	var ids []string
	for i := range 65 {
		svc := "anmeldung"
		if i%13 == 0 {
			svc = "hundeanmeldung"
		}
		c := domain.Case{ID: domain.NewID(), ServiceID: svc, Status: domain.StatusSealed, CreatedBy: "anna",
			CreatedAt: start, SealedAt: start.Add(time.Duration(i) * time.Minute)}
		if _, err := e.srv.Central(e.ctx, tenantA, server.CentralChange{RecordID: c.ID, RecordType: domain.TypeCase, Op: "create",
			Set: c.Fields().NonEmpty(), Clerk: "anna"}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	b := e.browser()
	b.login("sb.meier")
	_, body, _ := b.get("/inbox?service=anmeldung")
	rows := rx(`<tr id="case-([0-9a-f-]{36})"`).FindAllStringSubmatch(body, -1)
	if len(rows) != office.InboxPageSize || rows[0][1] != ids[64] || !strings.Contains(body, "Alle: 65") {
		t.Fatalf("page 1: %d rows, first %v", len(rows), rows[0])
	}
	next := rx(`id="page-next" href="([^"]+)"`).FindStringSubmatch(body)
	if next == nil {
		t.Fatal("no next page")
	}
	_, body, _ = b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
	rows2 := rx(`<tr id="case-([0-9a-f-]{36})"`).FindAllStringSubmatch(body, -1)
	if len(rows2) != 60-office.InboxPageSize || strings.Contains(body, `id="page-next"`) {
		t.Fatalf("page 2: %d rows", len(rows2))
	}
	seen := map[string]bool{}
	for _, r := range append(rows, rows2...) {
		if seen[r[1]] {
			t.Fatalf("case %s on two pages", r[1])
		}
		seen[r[1]] = true
	}
	if first := rx(`id="page-first" href="([^"]+)"`).FindStringSubmatch(body); first == nil || !strings.Contains(first[1], "service=anmeldung") {
		t.Fatalf("first-page link: %v", first)
	}
}

// The case's history names the clerk who witnessed the signature, the
// one who sealed and the second clerk who confirmed (four-eyes), and the
// laptop.
func TestOffice_HistoryShowsFourEyes(t *testing.T) {
	e := newEnv(t)
	l := e.laptop(tenantA)
	ben, err := l.ss.AddClerk(e.ctx, "ben", "Ben Keller", []byte(clerkPassword))
	if err != nil {
		t.Fatal(err)
	}
	id := l.sealCaseConfirmed("Mustermann", "Erika", "ben")
	l.sync()
	b := e.browser()
	b.login("sb.meier")
	_, body, _ := b.get("/cases/" + id)
	anna := l.ss.Clerk().ID
	for _, want := range []string{"Unterschrift bezeugt von " + anna[:8] + "…", "versiegelt von " + anna[:8] + "…",
		"Vier-Augen-Prinzip: bestätigt von " + ben.ID[:8] + "…", "laptop-" + tenantA} {
		if !strings.Contains(body, want) {
			t.Errorf("history lacks %q", want)
		}
	}
}

// What the office shows in clear is never stored in clear: after a case
// was opened and decided and an appointment booked, the database files
// hold no citizen's name (SQLite; the files are what a backup copies).
func TestOffice_NothingDecryptedAtRest(t *testing.T) {
	e := newEnv(t)
	if !strings.HasSuffix(e.dbPath(), ".db") {
		t.Skip("SQLite files only")
	}
	l := e.laptop(tenantA)
	id := l.sealCase("Mustermann", "Erika")
	l.sync()
	b := e.browser()
	b.login("sb.meier")
	_, page, _ := b.get("/cases/" + id)
	if !strings.Contains(page, "Mustermann") {
		t.Fatal("the case does not show the name")
	}
	b.post("/cases/"+id+"/decision", url.Values{"outcome": {"accepted"}, "version": {versionOf(t, page)}})
	p := e.browser()
	p.login("plan.roth")
	p.get("/planning")
	_, _, hdr := p.post("/planning/visits", url.Values{"place": {"Rathaus"}, "day": {"2026-12-01"}})
	visit, _, _ := strings.Cut(hdr.Get("Location"), "?")
	p.get(visit)
	p.post(visit+"/appointments", url.Values{"time": {"09:00"}, "minutes": {"15"}, "service": {"anmeldung"}, "name": {"Jonas Probemann"}})
	if _, body, _ := p.get(visit); !strings.Contains(body, "Jonas Probemann") {
		t.Fatal("the appointment does not show the name")
	}
	for _, f := range []string{e.dbPath(), e.dbPath() + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, w := range []string{"Mustermann", "Erika", "Probemann", "T22000129"} {
			if bytes.Contains(data, []byte(w)) {
				t.Errorf("%s holds %q in clear", filepath.Base(f), w)
			}
		}
	}
}

package office_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/buergerkoffer/kit/internal/office"
	"github.com/buergerkoffer/kit/internal/server"
)

// The session cookie is HttpOnly and SameSite=Strict; under TLS it is
// Secure and __Host- prefixed.
func TestOffice_SessionCookie(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.get("/login")
	_, _, hdr := b.post("/login", url.Values{"username": {"sb.meier"}, "password": {staffPassword}})
	var sess string
	for _, c := range hdr.Values("Set-Cookie") {
		if strings.HasPrefix(c, "bk_office=") {
			sess = c
		}
	}
	if !strings.Contains(sess, "HttpOnly") || !strings.Contains(sess, "SameSite=Strict") || strings.Contains(sess, "Secure") {
		t.Fatalf("plain HTTP session cookie: %q", sess)
	}

	off, err := office.New(e.srv, office.Config{Secure: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewTLSServer(off.Handler())
	defer ts.Close()
	tb := e.browser()
	tb.c.Transport = ts.Client().Transport
	e2 := *e
	e2.officeURL = ts.URL
	tb.e = &e2
	tb.get("/login")
	_, _, hdr = tb.post("/login", url.Values{"username": {"sb.meier"}, "password": {staffPassword}})
	sess = ""
	for _, c := range hdr.Values("Set-Cookie") {
		if strings.HasPrefix(c, "__Host-bk_office=") {
			sess = c
		}
	}
	if !strings.Contains(sess, "Secure") || !strings.Contains(sess, "HttpOnly") || !strings.Contains(sess, "SameSite=Strict") ||
		!strings.Contains(sess, "Path=/") {
		t.Fatalf("TLS session cookie: %q (all: %v)", sess, hdr.Values("Set-Cookie"))
	}
	if code, _, _ := tb.get("/inbox"); code != http.StatusOK {
		t.Fatalf("inbox over TLS: %d", code)
	}
}

// Two office processes on one database share sessions and the sign-in
// throttle: a session made by one works on the other, signing out on one
// ends it on both, and failures counted by one throttle the other.
func TestOffice_TwoProcessesShareSessions(t *testing.T) {
	e := newEnv(t)
	// The second process opens the same database the first did.
	srv2, err := server.Open(e.ctx, server.Config{DBPath: e.dbPath(), MasterKeyFile: filepath.Join(e.dir, "master.key"), Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer srv2.Close()
	off2, err := office.New(srv2, office.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ts2 := httptest.NewServer(off2.Handler())
	defer ts2.Close()
	e2 := *e
	e2.officeURL = ts2.URL

	b := e.browser()
	b.login("sb.meier")
	// Cookies do not tell ports apart: the same jar goes to both.
	b2 := &browser{e: &e2, c: b.c}
	if code, _, _ := b2.get("/inbox"); code != http.StatusOK {
		t.Fatalf("session of process 1 on process 2: %d", code)
	}
	if code, _, _ := b2.post("/logout", nil); code != http.StatusSeeOther {
		t.Fatalf("sign out on process 2: %d", code)
	}
	if code, _, _ := b.get("/inbox"); code != http.StatusSeeOther {
		t.Fatalf("process 1 after signing out on process 2: %d", code)
	}

	x1, x2 := e.browser(), (&e2).browser()
	for range office.MaxLoginFails {
		x1.tryLogin("sb.kaya", "wrong-password")
	}
	if code, _, _ := x2.tryLogin("sb.kaya", staffPassword); code != http.StatusTooManyRequests {
		t.Fatalf("process 2 after 5 failures on process 1: %d", code)
	}
}

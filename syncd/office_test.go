package main

// `syncd office` checked from outside, as an operator would: staff made
// with `syncd admin staff-add` (BK_PASSWORD), the office started on a
// loopback port, then plain HTTP requests.

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestOffice_FromOutside(t *testing.T) {
	dir := t.TempDir()
	db, key := filepath.Join(dir, "central.db"), filepath.Join(dir, "master.key")
	var out, errOut bytes.Buffer
	ctx := context.Background()
	if code := run(ctx, []string{"admin", "tenant-add", "--db", db, "--master-key", key, "musterstadt", "Musterstadt"}, &out, &errOut); code != 0 {
		t.Fatalf("tenant-add: %d %s", code, errOut.String())
	}
	t.Setenv("BK_PASSWORD", "Rathaus-2026!")
	for _, args := range [][]string{
		{"--user", "sb.meier", "--role", "sachbearbeitung"},
		{"--user", "sb.meier", "--role", "admin", "--exists-ok"},
	} {
		if code := run(ctx, append([]string{"admin", "staff-add", "--db", db, "--master-key", key, "--tenant", "musterstadt"}, args...),
			&out, &errOut); code != 0 {
			t.Fatalf("staff-add %v: %d %s", args, code, errOut.String())
		}
	}
	if code := run(ctx, []string{"admin", "staff-add", "--db", db, "--master-key", key, "--tenant", "musterstadt", "--user", "sb.meier",
		"--role", "admin"}, &out, &errOut); code == 0 {
		t.Fatal("staff-add of an existing user succeeded without --exists-ok")
	}
	if code := run(ctx, []string{"admin", "staff-add", "--db", db, "--master-key", key, "--tenant", "musterstadt", "--user", "x.y",
		"--role", "chef"}, &out, &errOut); code == 0 {
		t.Fatal("staff-add with an unknown role succeeded")
	}

	// Plain HTTP on an address others reach is refused.
	if code := run(ctx, []string{"office", "--db", db, "--master-key", key, "--listen", "0.0.0.0:0"}, &out, &errOut); code != 2 {
		t.Fatalf("office on 0.0.0.0 without TLS: exit %d", code)
	}

	octx, cancel := context.WithCancel(ctx)
	lw := &lineWriter{first: make(chan string, 1)}
	done := make(chan int, 1)
	go func() {
		done <- run(octx, []string{"office", "--db", db, "--master-key", key, "--listen", "127.0.0.1:0"}, lw, &lockedBuffer{})
	}()
	var base string
	select {
	case line := <-lw.first:
		base = strings.TrimSpace(line[strings.Index(line, "http://"):])
	case code := <-done:
		t.Fatalf("office exited %d", code)
	case <-time.After(30 * time.Second):
		t.Fatal("office did not start")
	}
	defer func() {
		cancel()
		<-done
	}()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = c.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h := resp.Header
	if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("X-Frame-Options") != "DENY" ||
		h.Get("Referrer-Policy") == "" || h.Get("Cache-Control") != "no-store" {
		t.Fatalf("login page headers: %v", h)
	}
	resp, err = c.PostForm(base+"/login", url.Values{"username": {"sb.meier"}, "password": {"Rathaus-2026!"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST without CSRF token: %d", resp.StatusCode)
	}
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindSubmatch(body)
	var last *http.Response
	for i := range 6 {
		req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(url.Values{"username": {"sb.meier"},
			"password": {"wrong-password"}, "csrf": {string(token[1])}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for _, ck := range h.Values("Set-Cookie") {
			name, val, _ := strings.Cut(strings.Split(ck, ";")[0], "=")
			req.AddCookie(&http.Cookie{Name: name, Value: val})
		}
		if last, err = c.Do(req); err != nil {
			t.Fatal(err)
		}
		last.Body.Close()
		if i < 5 && last.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, last.StatusCode)
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("6th wrong password: %d, Retry-After %q", last.StatusCode, last.Header.Get("Retry-After"))
	}
}

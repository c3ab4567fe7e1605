package demo_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/app/demo"
	"github.com/buergerkoffer/kit/app/ui"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

// The demo laptop is set up, enrolled with the real server and pointed at
// the simulators; a second start on the same files keeps it as it is.
func TestPrepare(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	srv, err := server.Open(ctx, server.Config{DBPath: filepath.Join(dir, "central.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.CreateTenant(ctx, "demo", "Demo-Stadt"); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	code, err := srv.IssueEnrolment(ctx, "demo", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, filepath.Join(dir, "field.db"), store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cfg := demo.Config{ServerURL: hs.URL, Code: code, IDReader: "/dev/pts/7", Pad: "/dev/pts/8"}
	hint, err := demo.Prepare(ctx, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hint, demo.Password) {
		t.Errorf("hint %q does not give the password", hint)
	}
	for _, c := range demo.Clerks {
		ss, err := st.Unlock(ctx, c[0], []byte(demo.Password))
		if err != nil {
			t.Fatalf("clerk %s: %v", c[0], err)
		}
		ss.Lock()
	}
	e, err := st.Enrolment(ctx)
	if err != nil || e.Tenant != "demo" || e.Token == "" {
		t.Fatalf("enrolment %+v, %v", e, err)
	}
	s, err := ui.LoadSettings(ctx, st)
	if err != nil || s.IDReader != "/dev/pts/7" || s.Pad != "/dev/pts/8" {
		t.Errorf("settings %+v, %v", s, err)
	}
	// Again, with a used code and new ports: still enrolled, ports updated.
	cfg.IDReader = "/dev/pts/9"
	if _, err := demo.Prepare(ctx, st, cfg); err != nil {
		t.Fatalf("second start: %v", err)
	}
	if e2, _ := st.Enrolment(ctx); e2.Token != e.Token {
		t.Error("the second start enrolled again")
	}
	if s, _ := ui.LoadSettings(ctx, st); s.IDReader != "/dev/pts/9" {
		t.Errorf("ports after the second start: %+v", s)
	}
}

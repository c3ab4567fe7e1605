//go:build releasefixture

package main

// The generator of testdata/release-*: a central database, its master key
// and a laptop's field store with changes that never reached the server,
// written by a released version of the kit. TestUpgrade_* opens them with
// the code of today. It is built only with -tags releasefixture and is run
// at the release's commit, before a schema changes:
//
//	git worktree add /tmp/rel <release commit>
//	cp syncd/releasefixture_test.go /tmp/rel/syncd/
//	(cd /tmp/rel && FIXTURE_DIR=$PWD/../dist/syncd/testdata/release-X \
//		go test -tags releasefixture -run TestWriteReleaseFixture ./syncd)

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/crypto"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

func TestWriteReleaseFixture(t *testing.T) {
	out := os.Getenv("FIXTURE_DIR")
	if out == "" {
		t.Skip("FIXTURE_DIR not set")
	}
	dir := t.TempDir()
	srvDB := filepath.Join(dir, "central.db")
	ctx, cancel := context.WithCancel(context.Background())
	w := &lineWriter{first: make(chan string, 1)}
	var errOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--db", srvDB, "--master-key", srvDB + ".key", "--listen", "127.0.0.1:0",
			"--tenant", "musterstadt", "--tenant-name", "Stadt Musterstadt"}, w, &errOut)
	}()
	var url string
	select {
	case line := <-w.first:
		url = strings.TrimSpace(line[strings.Index(line, "http://"):])
	case c := <-done:
		t.Fatalf("serve exited %d: %s", c, errOut.String())
	}
	admin := func(args ...string) string {
		var o, e bytes.Buffer
		if c := run(ctx, append([]string{"admin", args[0], "--db", srvDB}, args[1:]...), &o, &e); c != 0 {
			t.Fatalf("admin %v: %s", args, e.String())
		}
		return strings.TrimSpace(o.String())
	}
	field := filepath.Join(dir, "field.db")
	st, err := store.Open(ctx, field, store.WithKDFParams(crypto.TestKDFParams))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := st.Setup(ctx, "clerk-a", "Clerk A", []byte("Feldtag-2026!"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ss.DeviceKey(ctx); err != nil {
		t.Fatal(err)
	}
	var o, e bytes.Buffer
	if c := run(ctx, []string{"agent", "enroll", "--db", field, "--server", url, "--code", admin("enrol", "--tenant", "musterstadt"),
		"--name", "Koffer 1"}, &o, &e); c != 0 {
		t.Fatalf("enroll: %s", e.String())
	}
	synced, err := ss.CreateCase(ctx, domain.Case{ServiceID: "anmeldung", Form: domain.Fields{"surname": "Mustermann",
		"given_names": "Erika", "birth_date": "1964-08-12", "new_street": "Lindenweg 3", "new_postal_code": "53111"}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := agent.New(agent.Config{}, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.SyncOnce(ctx); err != nil {
		t.Fatal(err)
	}
	// Offline from here: an edit of the synced case and a new case wait.
	if _, err := ss.UpdateCaseForm(ctx, synced.ID, store.AnyVersion, domain.Fields{"new_street": "Lindenweg 5"}); err != nil {
		t.Fatal(err)
	}
	if _, err := ss.CreateCase(ctx, domain.Case{ServiceID: "hundeanmeldung", Form: domain.Fields{"surname": "Beispiel",
		"given_names": "Max"}}); err != nil {
		t.Fatal(err)
	}
	if n, _, err := st.Pending(ctx); err != nil || n != 2 {
		t.Fatalf("pending %d, %v; want 2", n, err)
	}
	a.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"central.db", "central.db.key", "field.db"} {
		if _, err := os.Stat(filepath.Join(dir, n+"-wal")); err == nil {
			t.Fatalf("%s still has a WAL file", n)
		}
		src, err := os.Open(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		dst, err := os.Create(filepath.Join(out, n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		src.Close()
		if err := dst.Close(); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("server %s, synced case %s", url, synced.ID)
}

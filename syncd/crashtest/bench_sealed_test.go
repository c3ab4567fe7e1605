//go:build unix

package crashtest

// `syncd bench --sealed` is run here, not in package main, because it
// starts `syncd agent sync` as processes of its own binary: it needs the
// real syncd binary that TestMain builds.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/handoff/casedoc"
	"github.com/buergerkoffer/kit/internal/server"
)

// `syncd bench --sealed 3 --laptops 2 --dir D` leaves D/central.db and
// the master key that opens it, names both, and the database holds 6
// sealed cases, of all five services, that the hand-off can build.
func TestBenchSealed_LeavesCentralDBForHandoff(t *testing.T) {
	if syncdBin == "" {
		t.Skip("needs the syncd binary (not with -short)")
	}
	dir := filepath.Join(t.TempDir(), "bench")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, syncdBin, "bench", "--sealed", "3", "--laptops", "2", "--docs", "20", "--shared", "2",
		"--dir", dir, "--json")
	cmd.Env = append(os.Environ(), "BK_MASTER_KEY_FILE=")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("syncd bench: %v\n%s\n%s", err, out, stderr.String())
	}
	db, key := filepath.Join(dir, "central.db"), filepath.Join(dir, "central.db.key")
	if !strings.Contains(stderr.String(), "central database "+db) || !strings.Contains(stderr.String(), "master key "+key) {
		t.Errorf("bench does not name the database and key it kept:\n%s", stderr.String())
	}
	srv, err := server.Open(ctx, server.Config{DBPath: db, MasterKeyFile: key})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rows, err := srv.Office().Inbox(ctx, server.InboxQuery{Tenant: "bench", Statuses: []string{"sealed"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d sealed cases on the server, want 6 (3 per laptop)", len(rows))
	}
	services := map[string]bool{}
	for _, r := range rows {
		doc, err := casedoc.Build(ctx, srv, "bench", r.RecordID)
		if err != nil {
			t.Errorf("case %s (%s): %v", r.RecordID, r.ServiceID, err)
			continue
		}
		services[doc.Service] = true
	}
	if len(services) != 5 {
		t.Errorf("the sealed cases cover %d services, want all 5: %v", len(services), services)
	}
}

//go:build unix

package crashtest

// TestMain builds the syncd binary once; every test runs it as real
// processes. With BK_TEST_SERVER_DB=postgres the server's database is
// PostgreSQL (serverdb_test.go).

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/buergerkoffer/kit/internal/pgtest"
)

// syncdBin is the path of the binary built by TestMain ("" with -short).
var syncdBin string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(pgtest.Main(m))
	}
	dir, err := os.MkdirTemp("", "crashtest-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(2)
	}
	syncdBin = filepath.Join(dir, "syncd")
	// go test puts GOROOT/bin first on PATH.
	build := exec.Command("go", "build", "-o", syncdBin, "github.com/buergerkoffer/kit/syncd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest: go build syncd:", err)
		os.RemoveAll(dir)
		os.Exit(2)
	}
	code := pgtest.Main(m) // stops PostgreSQL, if a test started it
	os.RemoveAll(dir)
	os.Exit(code)
}

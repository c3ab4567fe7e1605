//go:build unix

package casedoc_test

import (
	"os"
	"testing"

	"github.com/buergerkoffer/kit/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newPGDB returns the URL of a new database in the test cluster.
func newPGDB(tb testing.TB) string { return pgtest.DB(tb) }

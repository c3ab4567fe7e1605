//go:build unix

package office_test

import (
	"os"
	"testing"

	"github.com/buergerkoffer/kit/internal/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster, if a test started one.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func newPGDB(tb testing.TB) string { return pgtest.DB(tb) }

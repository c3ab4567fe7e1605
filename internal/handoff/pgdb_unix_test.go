//go:build unix

package handoff_test

import (
	"testing"

	"github.com/buergerkoffer/kit/internal/pgtest"
)

// runWithPG runs the tests and then stops the throwaway PostgreSQL
// cluster, if a test started one.
func runWithPG(m *testing.M) int { return pgtest.Main(m) }

func newPGDB(tb testing.TB) string { return pgtest.DB(tb) }

//go:build !unix

package handoff_test

import "testing"

// runWithPG runs the tests: without Unix there is no PostgreSQL to stop.
func runWithPG(m *testing.M) int { return m.Run() }

func newPGDB(tb testing.TB) string {
	tb.Skip("PostgreSQL tests run on Unix only (package pgtest)")
	return ""
}

//go:build !unix

package casedoc_test

import "testing"

// newPGDB skips: the test cluster (package pgtest) runs on Unix only.
func newPGDB(tb testing.TB) string {
	tb.Helper()
	tb.Skip("PostgreSQL tests need package pgtest, which runs on Unix only")
	return ""
}

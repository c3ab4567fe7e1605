//go:build !unix

package office_test

import "testing"

func newPGDB(tb testing.TB) string {
	tb.Skip("PostgreSQL tests run on Unix only (package pgtest)")
	return ""
}

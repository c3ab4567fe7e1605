//go:build unix

package main

import (
	"os"
	"testing"

	"github.com/buergerkoffer/kit/internal/pgtest"
)

// TestMain stops the throwaway PostgreSQL cluster, if a test started one.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// newPGDB returns the URL of a new database in the test cluster.
func newPGDB(tb testing.TB) string { return pgtest.DB(tb) }

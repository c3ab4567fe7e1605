package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/buergerkoffer/kit/internal/store"
)

// runAudit implements `syncd audit verify --db PATH`: it walks the
// hash-chained audit log of a field store and names the first broken entry.
// It needs no password: the audit log holds no personal data.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, "usage: syncd audit verify --db PATH")
		return 2
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "path of the field store (SQLite file)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *db == "" {
		fmt.Fprintln(stderr, "syncd audit verify: --db is required")
		return 2
	}
	if _, err := os.Stat(*db); err != nil {
		fmt.Fprintf(stderr, "syncd audit verify: %v\n", err)
		return 2
	}
	s, err := store.Open(ctx, *db)
	if err != nil {
		fmt.Fprintf(stderr, "syncd audit verify: %v\n", err)
		return 2
	}
	defer s.Close()
	n, err := s.VerifyAudit(ctx)
	var br *store.AuditBreak
	switch {
	case errors.As(err, &br):
		fmt.Fprintf(stdout, "audit chain BROKEN at entry %d: %s (%d entries before it verified)\n", br.Seq, br.Reason, n)
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "syncd audit verify: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "audit chain intact: %d entries\n", n)
	return 0
}

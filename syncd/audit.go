package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/buergerkoffer/kit/internal/store"
)

const auditUsage = `usage: syncd audit verify --db PATH [--clerk NAME] [--anchor N:MAC]

  --clerk NAME    a clerk of the laptop (password from BK_PASSWORD or stdin): needed
                  to check the entries keyed by the device data key; checking writes
                  nothing, not even an unlock entry
  --anchor N:MAC  the audit head the server knew for this laptop (syncd admin
                  devices): the chain must reach it unchanged`

// runAudit implements `syncd audit verify`: it walks the keyed audit chain
// of a field store and names the first broken entry. Without a clerk's
// password it checks the sequence, the links and the agent's entries, and
// says how many entries it could not check; the log holds no personal
// data either way. Exit 1 names a broken chain, 2 a usage or reading error.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "verify" {
		fmt.Fprintln(stderr, auditUsage)
		return 2
	}
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "path of the field store (SQLite file)")
	user := fs.String("clerk", "", "a clerk of the laptop, to check the entries keyed by the data key (password from BK_PASSWORD or stdin)")
	anchor := fs.String("anchor", "", "head the server knew, N:MAC (syncd admin devices)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "syncd audit verify: %v\n", err)
		return 2
	}
	if *db == "" {
		return fail(errors.New("--db is required"))
	}
	check := store.AuditCheck{Username: *user}
	if *anchor != "" {
		a, err := parseAnchor(*anchor)
		if err != nil {
			return fail(err)
		}
		check.Anchor = &a
	}
	if *user != "" {
		pw, err := readPassword()
		if err != nil {
			return fail(err)
		}
		check.Password = pw
		defer clear(pw)
	}
	if _, err := os.Stat(*db); err != nil {
		return fail(err)
	}
	s, err := store.Open(ctx, *db)
	if err != nil {
		return fail(err)
	}
	defer s.Close()
	sum, err := s.CheckAudit(ctx, check)
	var br *store.AuditBreak
	switch {
	case errors.As(err, &br):
		fmt.Fprintf(stdout, "audit chain BROKEN at entry %d: %s (%d entries before it verified)\n", br.Seq, br.Reason, min(sum.Entries, br.Seq-1))
		return 1
	case errors.Is(err, store.ErrWrongPassword):
		return fail(errors.New("wrong clerk name or password"))
	case err != nil:
		return fail(err)
	}
	legacy := ""
	if sum.Legacy > 0 {
		legacy = fmt.Sprintf(" (%d of them unkeyed, written before the chain was keyed)", sum.Legacy)
	}
	if sum.Unchecked > 0 {
		fmt.Fprintf(stdout, "audit chain links intact: %d entries%s; %d entries keyed by the device data key NOT checked (give --clerk and the password)\n",
			sum.Entries, legacy, sum.Unchecked)
		return 0
	}
	fmt.Fprintf(stdout, "audit chain intact: %d entries%s\n", sum.Entries, legacy)
	return 0
}

// parseAnchor reads "N:MAC".
func parseAnchor(s string) (store.AuditHead, error) {
	n, mac, ok := strings.Cut(s, ":")
	count, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || count < 1 || len(mac) != 64 {
		return store.AuditHead{}, fmt.Errorf("--anchor %q: want N:MAC as `syncd admin devices` shows it", s)
	}
	return store.AuditHead{Count: count, Hash: strings.ToLower(mac)}, nil
}

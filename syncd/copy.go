package main

// `syncd admin copy` moves towns from one server database to another:
// from the embedded SQLite file to a provider's PostgreSQL, or back. The
// laptops keep their enrolment and their place in the feed (see
// internal/server/copy.go); only the server they reach changes.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/server"
)

const copyUsage = `usage: syncd admin copy --from SRC --to DST [--tenant T] --master-key FILE

Copies tenants (all, or the one named) with everything the laptops rely on: feed
positions, devices and their tokens, enrolment codes, keys, conflicts, uploads
(complete and unfinished), policy. SRC and DST are SQLite files or postgres://
URLs. Both databases use the same master key. Stop the server on SRC first; a
tenant DST has already is refused, and a failed copy leaves DST without it.`

// runCopy implements `syncd admin copy`.
func runCopy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("admin copy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "source server database: SQLite file or postgres://… URL")
	to := fs.String("to", "", "destination server database: SQLite file (created if missing) or postgres://… URL")
	tenant := fs.String("tenant", "", "copy this tenant only (default: all)")
	masterKey := fs.String("master-key", "", "the master key file of both databases (default: $"+server.EnvMasterKeyFile+")")
	fs.Usage = func() { fmt.Fprintln(stderr, copyUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "syncd admin copy: %v\n", err)
		return 2
	}
	if *from == "" || *to == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	if *masterKey == "" {
		*masterKey = os.Getenv(server.EnvMasterKeyFile)
	}
	if err := checkCopyArgs(*from, *to, *masterKey); err != nil {
		return fail(err)
	}
	stats, err := copyTenants(ctx, *from, *to, *masterKey, *tenant, func(st server.CopyStats) {
		fmt.Fprintln(stdout, fmtCopyStats(st))
	})
	if err != nil {
		return fail(err)
	}
	if len(stats) == 0 {
		fmt.Fprintln(stdout, "no tenants to copy")
	}
	return 0
}

// checkCopyArgs refuses what would not copy or would copy wrongly: a
// missing source file (opening it would make an empty database), one
// database as both ends, a master key file that is not there (opening
// would make a new key, under which the copied keys do not open).
func checkCopyArgs(from, to, masterKey string) error {
	if masterKey == "" {
		return errors.New("--master-key FILE is required: the key both databases were made with")
	}
	if _, err := os.Stat(masterKey); err != nil {
		return fmt.Errorf("master key: %w", err)
	}
	if !server.IsPostgresURL(from) {
		if _, err := os.Stat(from); err != nil {
			return fmt.Errorf("source: %w", err)
		}
	}
	if from == to {
		return errors.New("--from and --to name the same database")
	}
	return nil
}

func copyTenants(ctx context.Context, from, to, masterKey, tenant string, progress func(server.CopyStats)) ([]server.CopyStats, error) {
	src, err := server.Open(ctx, server.Config{DBPath: from, MasterKeyFile: masterKey})
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", server.RedactDB(from), err)
	}
	defer src.Close()
	if tenant != "" {
		// Before the destination is opened, which makes a new SQLite file.
		if err := hasTenant(ctx, src, tenant); err != nil {
			return nil, fmt.Errorf("source %s: %w", server.RedactDB(from), err)
		}
	}
	dst, err := server.Open(ctx, server.Config{DBPath: to, MasterKeyFile: masterKey})
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", server.RedactDB(to), err)
	}
	defer dst.Close()
	return server.CopyTenants(ctx, src, dst, tenant, progress)
}

func hasTenant(ctx context.Context, s *server.Server, tenant string) error {
	ts, err := s.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == tenant {
			return nil
		}
	}
	return fmt.Errorf("tenant %s: %w", tenant, server.ErrNotFound)
}

// fmtCopyStats says what was copied of a tenant, in one line.
func fmtCopyStats(st server.CopyStats) string {
	tables := make([]string, 0, len(st.Rows))
	for t := range st.Rows {
		tables = append(tables, t)
	}
	sort.Strings(tables)
	var b strings.Builder
	fmt.Fprintf(&b, "tenant %s copied in %s: feed head %d;", st.Tenant, st.Took.Round(time.Millisecond), st.HeadSeq)
	for _, t := range tables {
		fmt.Fprintf(&b, " %s %d", t, st.Rows[t])
	}
	return b.String()
}

package main

// `syncd admin policy`: a tenant's policy for all its laptops. Today it is
// one switch, four-eyes sign-off: a second clerk confirms every case with
// their own password before it is sealed. Laptops learn it with their
// next pull; the server checks every pushed seal against it.

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/buergerkoffer/kit/internal/server"
)

const policyUsage = `usage: syncd admin policy --db SERVER.db --tenant T [--four-eyes on|off]

Without --four-eyes it shows the tenant's policy.`

func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("admin policy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "central.db", "server database: SQLite file, or postgres://… URL (several servers may share one)")
	masterKey := fs.String("master-key", "", "server master key file (default: $"+server.EnvMasterKeyFile+", else <db>.key; required with a postgres:// database)")
	tenant := fs.String("tenant", "", "tenant id")
	fourEyes := fs.String("four-eyes", "", "on: a second clerk confirms each case before it is sealed; off: not")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *tenant == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, policyUsage)
		return 2
	}
	var on bool
	switch *fourEyes {
	case "", "on", "off":
		on = *fourEyes == "on"
	default:
		fmt.Fprintf(stderr, "syncd admin policy: --four-eyes must be on or off, not %q\n", *fourEyes)
		return 2
	}
	srv, err := server.Open(ctx, server.Config{DBPath: *db, MasterKeyFile: *masterKey})
	if err != nil {
		fmt.Fprintf(stderr, "syncd admin: %v\n", err)
		return 2
	}
	defer srv.Close()
	if *fourEyes != "" {
		if err := srv.SetFourEyes(ctx, *tenant, on); err != nil {
			fmt.Fprintf(stderr, "syncd admin policy: %v\n", err)
			return 2
		}
	}
	p, err := srv.Policy(ctx, *tenant)
	if err != nil {
		fmt.Fprintf(stderr, "syncd admin policy: %v\n", err)
		return 2
	}
	state := "off"
	if p.FourEyes {
		state = "on"
	}
	set := p.SetAt
	if set == "" {
		set = "never set"
	}
	fmt.Fprintf(stdout, "tenant %s\nfour-eyes: %s (%s)\n", *tenant, state, set)
	return 0
}

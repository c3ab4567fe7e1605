package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

// runExport implements `syncd export --db PATH [--tenant T [--master-key F]]`: a canonical
// dump of the content (JSON lines sorted by record id, no bookkeeping). With
// --tenant PATH is the server's database; without, a laptop's field store.
// After a complete sync with nothing pending, a laptop's export equals the
// server's export of its tenant byte for byte. Neither needs a password:
// personal fields appear as the id of the change that holds their sealed
// value.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "", "field store, or with --tenant the server database (SQLite file or postgres://… URL)")
	tenant := fs.String("tenant", "", "export this tenant of a server database")
	masterKey := fs.String("master-key", "", "with --tenant: server master key file (default: $"+server.EnvMasterKeyFile+", else <db>.key;\n"+
		"required with a postgres:// database)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *db == "" {
		fmt.Fprintln(stderr, "usage: syncd export --db PATH [--tenant T [--master-key FILE]]")
		return 2
	}
	if server.IsPostgresURL(*db) {
		if *tenant == "" {
			fmt.Fprintln(stderr, "syncd export: a postgres:// database is a server database: name the --tenant")
			return 2
		}
	} else if _, err := os.Stat(*db); err != nil {
		fmt.Fprintf(stderr, "syncd export: %v\n", err)
		return 2
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	var err error
	if *tenant != "" {
		err = exportServer(ctx, *db, *masterKey, *tenant, w)
	} else {
		err = exportField(ctx, *db, w)
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		fmt.Fprintf(stderr, "syncd export: %v\n", err)
		return 2
	}
	return 0
}

func exportServer(ctx context.Context, db, masterKey, tenant string, w io.Writer) error {
	srv, err := server.Open(ctx, server.Config{DBPath: db, MasterKeyFile: masterKey})
	if err != nil {
		return err
	}
	defer srv.Close()
	return srv.Export(ctx, tenant, w)
}

func exportField(ctx context.Context, db string, w io.Writer) error {
	st, err := store.Open(ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	return st.Export(ctx, w)
}

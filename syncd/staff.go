package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/buergerkoffer/kit/internal/server"
)

// runStaffAdd implements `syncd admin staff-add`: a staff account of the
// town hall's office (`syncd office`), password from BK_PASSWORD or the
// first line of stdin.
func runStaffAdd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("admin staff-add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "central.db", "server database: SQLite file, or postgres://… URL")
	masterKey := fs.String("master-key", "", "server master key file (default: $"+server.EnvMasterKeyFile+", else <db>.key)")
	tenant := fs.String("tenant", "", "tenant id")
	user := fs.String("user", "", "user name (a-z 0-9 . _ -)")
	role := fs.String("role", "", "role: "+server.RoleCaseworker+", "+server.RolePlanning+" or "+server.RoleAdmin)
	existsOK := fs.Bool("exists-ok", false, "succeed if the user exists already (leaving it as it is)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *tenant == "" || *user == "" || *role == "" {
		fmt.Fprintln(stderr, "syncd admin staff-add: --tenant, --user and --role are required")
		return 2
	}
	pw, err := readPassword()
	if err != nil {
		fmt.Fprintf(stderr, "syncd admin staff-add: %v\n", err)
		return 2
	}
	defer clear(pw)
	srv, err := server.Open(ctx, server.Config{DBPath: *db, MasterKeyFile: *masterKey})
	if err != nil {
		fmt.Fprintf(stderr, "syncd admin staff-add: %v\n", err)
		return 2
	}
	defer srv.Close()
	err = srv.AddStaff(ctx, *tenant, *user, *role, pw)
	if errors.Is(err, server.ErrExists) && *existsOK {
		fmt.Fprintf(stdout, "staff member %s exists already\n", *user)
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "syncd admin staff-add: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "staff member %s (%s) added to tenant %s\n", *user, *role, *tenant)
	return 0
}

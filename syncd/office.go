package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/buergerkoffer/kit/internal/office"
	"github.com/buergerkoffer/kit/internal/server"
)

// runOffice implements `syncd office`: the town hall's web application,
// on its own listener apart from the sync API (operators expose the sync
// API to the field and the office only to the town hall's network).
func runOffice(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("office", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "central.db", "server database: SQLite file, or postgres://… URL (several office and sync servers may share one)")
	listen := fs.String("listen", "127.0.0.1:8471", "address to listen on")
	masterKey := fs.String("master-key", "", "server master key file, as for syncd serve (default: $"+server.EnvMasterKeyFile+
		"; required with a postgres:// database)")
	cert := fs.String("tls-cert", "", "TLS certificate (PEM); with --tls-key the office speaks HTTPS only")
	key := fs.String("tls-key", "", "TLS private key (PEM)")
	insecure := fs.Bool("insecure-http", false, "allow plain HTTP on an address other machines reach (only behind a TLS-terminating\n"+
		"proxy; cookies are then marked Secure)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*cert == "") != (*key == "") {
		fmt.Fprintln(stderr, "syncd office: --tls-cert and --tls-key go together")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := server.Open(ctx, server.Config{DBPath: *db, MasterKeyFile: *masterKey, KeyApart: true, Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "syncd office: %v\n", err)
		return 2
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "syncd office: %v\n", err)
		return 2
	}
	if *cert == "" && !isLoopback(ln.Addr()) && !*insecure {
		ln.Close()
		fmt.Fprintf(stderr, "syncd office: refusing plain HTTP on %s, which other machines reach: passwords and citizens'\n"+
			"  data would cross the network in clear. Give --tls-cert and --tls-key, listen on 127.0.0.1, or (behind a\n"+
			"  TLS-terminating proxy only) --insecure-http\n", *listen)
		return 2
	}
	off, err := office.New(srv, office.Config{Secure: *cert != "" || *insecure, Log: log})
	if err != nil {
		ln.Close()
		fmt.Fprintf(stderr, "syncd office: %v\n", err)
		return 2
	}
	return httpService{name: "office", handler: off.Handler(), cert: *cert, key: *key,
		read: 30 * time.Second, write: 2 * time.Minute, log: log, stdout: stdout, stderr: stderr}.run(ctx, ln)
}

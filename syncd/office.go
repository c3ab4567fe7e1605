package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	hs := &http.Server{
		Handler:           off.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if *cert != "" {
		scheme = "https"
	}
	// The address line is what scripts and tests wait for.
	fmt.Fprintf(stdout, "syncd office: listening on %s://%s\n", scheme, ln.Addr())
	done := make(chan error, 1)
	go func() {
		if *cert != "" {
			done <- hs.ServeTLS(ln, *cert, *key)
		} else {
			done <- hs.Serve(ln)
		}
	}()
	select {
	case err := <-done:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "syncd office: %v\n", err)
			return 2
		}
	case <-ctx.Done():
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := hs.Shutdown(shut); err != nil {
			fmt.Fprintf(stderr, "syncd office: shutdown: %v\n", err)
		}
		<-done
	}
	return 0
}

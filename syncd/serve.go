package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/hlc"
	"github.com/buergerkoffer/kit/internal/server"
)

// runServe implements `syncd serve`: the town's central sync server.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "central.db", "server database: SQLite file, or postgres://… URL (several servers may share one)")
	listen := fs.String("listen", "127.0.0.1:8470", "address to listen on")
	masterKey := fs.String("master-key", "", "file with the server master key, created 0600 if missing; keep it off the database's\n"+
		"volume and its backups (default: $"+server.EnvMasterKeyFile+"; a file beside the database only if named here;\n"+
		"required with a postgres:// database)")
	cert := fs.String("tls-cert", "", "TLS certificate (PEM); with --tls-key the server speaks HTTPS only")
	key := fs.String("tls-key", "", "TLS private key (PEM)")
	insecure := fs.Bool("insecure-http", false, "allow plain HTTP on an address other machines reach (device tokens cross the\n"+
		"network in clear: only behind a TLS-terminating proxy)")
	tenant := fs.String("tenant", "", "create this tenant at start if it does not exist (id)")
	tenantName := fs.String("tenant-name", "", "display name of --tenant")
	metricsToken := fs.String("metrics-token-file", "", "file holding a token that /metrics asks for as \"Authorization: Bearer\n"+
		"<token>\" (default: /metrics answers anyone who reaches --listen)")
	maxLead := fs.Duration("max-clock-lead", hlc.DefaultMaxLead, "how far ahead of this server's clock a laptop's change may be before the server orders it by its own clock")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if (*cert == "") != (*key == "") {
		fmt.Fprintln(stderr, "syncd serve: --tls-cert and --tls-key go together")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	scrapeToken, err := readMetricsToken(*metricsToken)
	if err != nil {
		fmt.Fprintf(stderr, "syncd serve: %v\n", err)
		return 2
	}
	srv, err := server.Open(ctx, server.Config{DBPath: *db, MasterKeyFile: *masterKey, KeyApart: true, Log: log, MaxClockLead: *maxLead,
		MetricsToken: scrapeToken})
	if err != nil {
		fmt.Fprintf(stderr, "syncd serve: %v\n", err)
		if errors.Is(err, server.ErrMasterKeyBesideDB) {
			fmt.Fprintf(stderr, "syncd serve: keep the master key on another volume (or in a secret store) and name it with\n"+
				"  --master-key PATH or %s=PATH; --master-key %s.key accepts it beside the database\n",
				server.EnvMasterKeyFile, *db)
		}
		return 2
	}
	defer srv.Close()
	if *tenant != "" {
		if err := ensureTenant(ctx, srv, *tenant, *tenantName); err != nil {
			fmt.Fprintf(stderr, "syncd serve: %v\n", err)
			return 2
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "syncd serve: %v\n", err)
		return 2
	}
	if *cert == "" && !isLoopback(ln.Addr()) {
		if !*insecure {
			ln.Close()
			fmt.Fprintf(stderr, "syncd serve: refusing plain HTTP on %s, which other machines reach: device tokens would cross\n"+
				"  the network in clear. Give --tls-cert and --tls-key, listen on 127.0.0.1, or (behind a TLS-terminating\n"+
				"  proxy only) --insecure-http\n", *listen)
			return 2
		}
		log.Warn("INSECURE: plain HTTP on an address other machines reach; device tokens cross the network in clear "+
			"unless a TLS-terminating proxy is in front (--insecure-http)", "addr", ln.Addr().String())
	}
	if scrapeToken == "" && !isLoopback(ln.Addr()) {
		log.Info("/metrics answers anyone who reaches this address (tenant ids and counts, no personal data); "+
			"--metrics-token-file asks for a token", "addr", ln.Addr().String())
	}
	// A slow mobile upload of a push batch needs the long read timeout.
	return httpService{name: "serve", handler: srv.Handler(), cert: *cert, key: *key,
		read: 5 * time.Minute, write: 10 * time.Minute, log: log, stdout: stdout, stderr: stderr}.run(ctx, ln)
}

// isLoopback reports whether a listener's address is reachable from this
// machine only. An unspecified address (":8470", "0.0.0.0:8470") is
// every interface's.
func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// readMetricsToken reads the token of --metrics-token-file ("" without
// one): the file's first line, which must not be empty.
func readMetricsToken(path string) (string, error) {
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("metrics token: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	token := strings.TrimSpace(line)
	if token == "" {
		return "", fmt.Errorf("metrics token: %s is empty", path)
	}
	return token, nil
}

func ensureTenant(ctx context.Context, srv *server.Server, id, name string) error {
	ts, err := srv.Tenants(ctx)
	if err != nil {
		return err
	}
	for _, t := range ts {
		if t.ID == id {
			return nil
		}
	}
	if name == "" {
		name = id
	}
	return srv.CreateTenant(ctx, id, name)
}

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/store"
)

const agentUsage = `usage:
  syncd agent [--db FIELD.db] [--interval 30s]    run in the background: sync whenever there is something to sync
  syncd agent enroll [--db FIELD.db] --server URL --code CODE [--name NAME] [--ca CA.pem] [--clerk NAME]
  syncd agent sync [--db FIELD.db]                sync once and exit (0 done, 1 failed)
  syncd agent status [--db FIELD.db]              what the agent last recorded`

// runAgent implements `syncd agent`: the laptop's sync daemon. It holds a
// device token and public keys only; it syncs while the app is locked.
func runAgent(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	sub := "run"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	fs := flag.NewFlagSet("agent "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", store.DefaultPath(), "the laptop's field store (SQLite file), where the app keeps it")
	interval := fs.Duration("interval", 30*time.Second, "sync at least this often")
	serverURL := fs.String("server", "", "enroll: the central server's URL")
	code := fs.String("code", "", "enroll: the one-time enrolment code")
	name := fs.String("name", "", "enroll: this laptop's name, shown to operators (default: host name)")
	caFile := fs.String("ca", "", "enroll: trust only this CA certificate (PEM) for the server")
	clerk := fs.String("clerk", "", "enroll: a clerk who unlocks the laptop to make its key pair (password from BK_PASSWORD or stdin)")
	verbose := fs.Bool("v", false, "log every sync")
	noPull := fs.Bool("no-pull", false, "sync: push only")
	cpuProfile := fs.String("cpuprofile", "", "sync: write a CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *db == "" {
		fmt.Fprintln(stderr, agentUsage)
		return 2
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		fmt.Fprintf(stderr, "syncd agent: %v\n", err)
		return 2
	}
	defer st.Close()
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	switch sub {
	case "run":
		a, err := agent.New(agent.Config{Interval: *interval, Log: log}, st)
		if err != nil {
			fmt.Fprintf(stderr, "syncd agent: %v\n", err)
			return 2
		}
		fmt.Fprintf(stdout, "syncd agent: running on %s\n", *db)
		if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(stderr, "syncd agent: %v\n", err)
			return 2
		}
		return 0
	case "sync":
		if *cpuProfile != "" {
			stop, err := startProfile(*cpuProfile)
			if err != nil {
				fmt.Fprintf(stderr, "syncd agent sync: %v\n", err)
				return 2
			}
			defer stop()
		}
		a, err := agent.New(agent.Config{Log: log, NoPull: *noPull}, st)
		if err != nil {
			fmt.Fprintf(stderr, "syncd agent sync: %v\n", err)
			return 2
		}
		rep, err := a.SyncOnce(ctx)
		fmt.Fprintf(stdout, "%+v\n", rep)
		if kib := selfPeakRSSKiB(); kib > 0 {
			fmt.Fprintf(stdout, "peak_rss_kib=%d\n", kib)
		}
		if err != nil {
			fmt.Fprintf(stderr, "syncd agent sync: %v\n", err)
			return 1
		}
		return 0
	case "status":
		kv, err := st.SyncState(ctx)
		if err != nil {
			fmt.Fprintf(stderr, "syncd agent status: %v\n", err)
			return 2
		}
		keys := make([]string, 0, len(kv))
		for k := range kv {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(stdout, "%-16s %s\n", k, kv[k])
		}
		return 0
	case "enroll", "enrol":
		if err := enroll(ctx, st, *serverURL, *code, *name, *caFile, *clerk); err != nil {
			fmt.Fprintf(stderr, "syncd agent enroll: %v\n", err)
			return 2
		}
		fmt.Fprintln(stdout, "syncd agent: enrolled")
		return 0
	}
	fmt.Fprintln(stderr, agentUsage)
	return 2
}

// enroll redeems an enrolment code: the server learns the laptop's public
// key, the laptop learns the server's and gets its token.
func enroll(ctx context.Context, st *store.Store, serverURL, code, name, caFile, clerk string) error {
	if serverURL == "" || code == "" {
		return errors.New("--server and --code are required")
	}
	var caPEM string
	if caFile != "" {
		b, err := os.ReadFile(caFile)
		if err != nil {
			return fmt.Errorf("read CA: %w", err)
		}
		caPEM = string(b)
	}
	if name == "" {
		name, _ = os.Hostname()
	}
	pub, err := st.DevicePublicKey(ctx)
	if err != nil {
		return err
	}
	var ss *store.Session
	if pub == "" || clerk != "" {
		// The device key pair is made now; its private key is wrapped by
		// the data key, which only a clerk's password opens.
		if clerk == "" {
			return errors.New("this laptop has no device key yet: give --clerk (a clerk set up in the app) and the password")
		}
		pw, err := readPassword()
		if err != nil {
			return err
		}
		if ss, err = st.Unlock(ctx, clerk, pw); err != nil {
			return err
		}
		defer ss.Lock()
	}
	return agent.Enrol(ctx, st, ss, agent.Enrolment{ServerURL: serverURL, Code: code, Name: name, CAPEM: caPEM})
}

// readPassword takes the password from BK_PASSWORD or the first line of
// stdin, never from a flag (flags show up in process lists).
func readPassword() ([]byte, error) {
	if pw := os.Getenv("BK_PASSWORD"); pw != "" {
		return []byte(pw), nil
	}
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return nil, fmt.Errorf("read password from stdin: %w", err)
	}
	return []byte(strings.TrimRight(line, "\r\n")), nil
}

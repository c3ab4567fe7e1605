package main

// `syncd handoff`: the worker that hands sealed cases off to the
// authorities' specialist procedures through FIT-Connect and brings their
// answers back (package handoff), beside `syncd serve` on the same
// database; and `syncd admin handoff-route(s)` / `handoff-cases`, which
// name each service's destination and show where the cases stand.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/buergerkoffer/kit/internal/backoff"
	"github.com/buergerkoffer/kit/internal/fitconnect"
	"github.com/buergerkoffer/kit/internal/handoff"
	"github.com/buergerkoffer/kit/internal/server"
)

const handoffUsage = `usage: syncd handoff --db SERVER.db --tenant T --submission-api URL --token-url URL
         --client-id ID --client-secret-file F --trust-anchor ROOT.pem [--master-key FILE]
         [--once] [--poll 30s] [--callback-listen ADDR --callback-secret-file F]
       syncd handoff --db SERVER.db --tenant T --dry-run --case ID

Hands the tenant's sealed cases of routed services (syncd admin handoff-route) off to
their destinations, each exactly once, and writes the receiving authority's answers
(accepted, rejected with its reason) to the cases. --once hands off what is due, polls
the answers once and exits: 0 when all went well, 1 when a case failed or waits, 2 on an
error. --dry-run --case ID prints the case's metadata and data (unencrypted) and sends
nothing.`

// crashEnv names the point at which a crash test kills the worker:
// "create", "attachment:N" or "submit" (tests only; see
// handoff.Config.Pause).
const crashEnv = "BK_HANDOFF_CRASH_AFTER"

type handoffFlags struct {
	db, masterKey, tenant               string
	api, tokenURL, clientID, secretFile string
	anchor                              string
	once, dryRun                        bool
	caseID                              string
	poll, lease, retryMin, retryMax     time.Duration
	parallel                            int
	callbackListen, callbackSecretFile  string
}

func parseHandoffFlags(args []string, stderr io.Writer) (*handoffFlags, bool) {
	f := &handoffFlags{}
	fs := flag.NewFlagSet("handoff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, handoffUsage); fs.PrintDefaults() }
	fs.StringVar(&f.db, "db", "central.db", "server database: SQLite file, or postgres://… URL")
	fs.StringVar(&f.masterKey, "master-key", "", "server master key file (default: $"+server.EnvMasterKeyFile+", else <db>.key)")
	fs.StringVar(&f.tenant, "tenant", "", "tenant id")
	fs.StringVar(&f.api, "submission-api", "", "FIT-Connect Submission API base URL")
	fs.StringVar(&f.tokenURL, "token-url", "", "OAuth 2.0 token endpoint")
	fs.StringVar(&f.clientID, "client-id", "", "OAuth 2.0 client id of the sender")
	fs.StringVar(&f.secretFile, "client-secret-file", "", "file holding the client secret")
	fs.StringVar(&f.anchor, "trust-anchor", "", "PEM file of the administration PKI's root certificate(s)")
	fs.BoolVar(&f.once, "once", false, "hand off what is due, poll the answers once, and exit")
	fs.BoolVar(&f.dryRun, "dry-run", false, "with --case: print the case's metadata and data, send nothing")
	fs.StringVar(&f.caseID, "case", "", "the case of --dry-run")
	fs.DurationVar(&f.poll, "poll", 30*time.Second, "how often to look for sealed cases and answers")
	fs.IntVar(&f.parallel, "parallel", 4, "cases handed off at a time")
	fs.DurationVar(&f.lease, "lease", time.Minute, "how long a worker that died keeps another from taking over")
	fs.DurationVar(&f.retryMin, "retry-min", 500*time.Millisecond, "first wait after a passing failure (network, 5xx)")
	fs.DurationVar(&f.retryMax, "retry-max", time.Minute, "longest wait between tries")
	fs.StringVar(&f.callbackListen, "callback-listen", "", "address of the callback endpoint (POST /callback); off if empty")
	fs.StringVar(&f.callbackSecretFile, "callback-secret-file", "", "file holding the callback secret")
	if err := fs.Parse(args); err != nil {
		return nil, false
	}
	if f.tenant == "" || fs.NArg() > 0 || f.dryRun != (f.caseID != "") {
		fmt.Fprintln(stderr, handoffUsage)
		return nil, false
	}
	if !f.dryRun {
		var missing []string
		for _, m := range []struct{ name, val string }{{"--submission-api", f.api}, {"--token-url", f.tokenURL},
			{"--client-id", f.clientID}, {"--client-secret-file", f.secretFile}, {"--trust-anchor", f.anchor}} {
			if m.val == "" {
				missing = append(missing, m.name)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(stderr, "syncd handoff: %s required\n", strings.Join(missing, ", "))
			return nil, false
		}
	}
	if (f.callbackListen == "") != (f.callbackSecretFile == "") {
		fmt.Fprintln(stderr, "syncd handoff: --callback-listen and --callback-secret-file go together")
		return nil, false
	}
	return f, true
}

// runHandoff implements `syncd handoff`.
func runHandoff(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	f, ok := parseHandoffFlags(args, stderr)
	if !ok {
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintf(stderr, "syncd handoff: %v\n", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	srv, err := server.Open(ctx, server.Config{DBPath: f.db, MasterKeyFile: f.masterKey, Log: log})
	if err != nil {
		return fail(err)
	}
	defer srv.Close()
	host, _ := os.Hostname()
	cfg := handoff.Config{Server: srv, Tenant: f.tenant, Log: log, Lease: f.lease, Owner: fmt.Sprintf("%s/%d", host, os.Getpid()),
		Parallel: f.parallel,
		Retry:    backoff.Policy{Min: f.retryMin, Max: f.retryMax, Jitter: true}, Pause: crashPause(stderr)}
	if !f.dryRun {
		if cfg.Sender, err = newSender(f); err != nil {
			return fail(err)
		}
	}
	w, err := handoff.New(cfg)
	if err != nil {
		return fail(err)
	}
	if f.dryRun {
		if err := w.DryRun(ctx, f.caseID, stdout); err != nil {
			return fail(err)
		}
		return 0
	}
	if f.callbackListen != "" {
		stop, err := serveCallback(ctx, w, f, log, stdout)
		if err != nil {
			return fail(err)
		}
		defer stop()
	}
	if f.once {
		return handoffOnce(ctx, w, stdout, stderr)
	}
	if err := w.Run(ctx, f.poll); err != nil {
		return fail(err)
	}
	return 0
}

// handoffOnce runs one pass and says how it went.
func handoffOnce(ctx context.Context, w *handoff.Worker, stdout, stderr io.Writer) int {
	st, err := w.RunOnce(ctx)
	if rerr := w.Release(context.WithoutCancel(ctx)); err == nil && rerr != nil {
		err = rerr
	}
	fmt.Fprintf(stdout, "found %d, submitted %d, accepted %d, rejected %d, failed %d, waiting %d, events refused %d\n",
		st.Added, st.Submitted, st.Accepted, st.Rejected, st.Failed, st.Waiting, st.Refused)
	if err != nil {
		fmt.Fprintf(stderr, "syncd handoff: %v\n", err)
		return 2
	}
	if !st.OK() {
		return 1
	}
	return 0
}

// newSender makes the FIT-Connect client the flags describe.
func newSender(f *handoffFlags) (handoff.Sender, error) {
	secret, err := readSecret(f.secretFile)
	if err != nil {
		return nil, fmt.Errorf("client secret: %w", err)
	}
	anchors, err := fitconnect.LoadTrustAnchors(f.anchor)
	if err != nil {
		return nil, fmt.Errorf("trust anchor: %w", err)
	}
	c, err := fitconnect.New(fitconnect.Config{SubmissionAPI: f.api, TokenURL: f.tokenURL, ClientID: f.clientID,
		ClientSecret: secret, TrustAnchors: anchors})
	if err != nil {
		return nil, err
	}
	return handoff.ClientSender{Client: c}, nil
}

// readSecret reads a secret file, without its trailing line break.
func readSecret(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// serveCallback serves the callback endpoint until ctx ends (or stop).
func serveCallback(ctx context.Context, w *handoff.Worker, f *handoffFlags, log *slog.Logger, stdout io.Writer) (stop func(), err error) {
	secret, err := readSecret(f.callbackSecretFile)
	if err != nil {
		return nil, fmt.Errorf("callback secret: %w", err)
	}
	ln, err := net.Listen("tcp", f.callbackListen)
	if err != nil {
		return nil, fmt.Errorf("callback: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/callback", handoff.Callback{Worker: w, Secret: []byte(secret)})
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second}
	fmt.Fprintf(stdout, "callback endpoint on http://%s/callback\n", ln.Addr())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("callback endpoint stopped", "err", err)
		}
	}()
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		hs.Shutdown(sctx)
	}()
	return func() { close(stopped); <-done }, nil
}

// crashPause stops the worker for good at the point BK_HANDOFF_CRASH_AFTER
// names, after saying so, for a crash test to kill it there.
func crashPause(stderr io.Writer) func(string) {
	at := os.Getenv(crashEnv)
	if at == "" {
		return nil
	}
	return func(point string) {
		if point != at {
			return
		}
		fmt.Fprintf(stderr, "syncd handoff: paused at %s\n", point)
		for {
			time.Sleep(time.Hour)
		}
	}
}

const handoffRouteUsage = `usage: syncd admin handoff-route --db SERVER.db --tenant T --service S --destination UUID
       syncd admin handoff-routes --db SERVER.db [--tenant T]
       syncd admin handoff-cases --db SERVER.db --tenant T [--step STEP]
       syncd admin handoff-retry --db SERVER.db --tenant T (--case ID | --step failed)`

// runHandoffAdmin implements `syncd admin handoff-route`, `handoff-routes`
// and `handoff-cases`.
func runHandoffAdmin(ctx context.Context, sub string, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("admin "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	db := fs.String("db", "central.db", "server database: SQLite file, or postgres://… URL")
	masterKey := fs.String("master-key", "", "server master key file (default: $"+server.EnvMasterKeyFile+", else <db>.key)")
	tenant := fs.String("tenant", "", "tenant id")
	service := fs.String("service", "", "service id from the catalog")
	dest := fs.String("destination", "", "FIT-Connect destination id (UUID)")
	step := fs.String("step", "", "handoff-cases: only cases in this step; handoff-retry: every failed case")
	caseID := fs.String("case", "", "handoff-retry: the case to try again")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (sub != "handoff-routes" && *tenant == "") ||
		(sub == "handoff-route" && (*service == "" || *dest == "")) ||
		(sub == "handoff-retry" && (*caseID == "") == (*step != server.StepFailed)) {
		fmt.Fprintln(stderr, handoffRouteUsage)
		return 2
	}
	srv, err := server.Open(ctx, server.Config{DBPath: *db, MasterKeyFile: *masterKey})
	if err != nil {
		fmt.Fprintf(stderr, "syncd admin: %v\n", err)
		return 2
	}
	defer srv.Close()
	switch sub {
	case "handoff-route":
		err = setRoute(ctx, srv, *tenant, *service, *dest, stdout)
	case "handoff-routes":
		err = listRoutes(ctx, srv, *tenant, stdout)
	case "handoff-retry":
		err = retryHandoff(ctx, srv, *tenant, *caseID, stdout)
	default:
		err = listHandoffCases(ctx, srv, *tenant, *step, stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "syncd admin %s: %v\n", sub, err)
		return 2
	}
	return 0
}

func setRoute(ctx context.Context, srv *server.Server, tenant, service, dest string, stdout io.Writer) error {
	r, err := srv.SetHandoffRoute(ctx, tenant, service, dest, "admin")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tenant %s: service %s goes to destination %s\n", r.Tenant, r.Service, r.DestinationID)
	return nil
}

// listRoutes shows each route with its cases counted by step; services
// with cases but no route (any more) show "-" as destination.
func listRoutes(ctx context.Context, srv *server.Server, tenant string, stdout io.Writer) error {
	h := srv.Handoff()
	routes, err := h.HandoffRoutes(ctx, tenant)
	if err != nil {
		return err
	}
	counts, err := h.HandoffCounts(ctx, tenant)
	if err != nil {
		return err
	}
	type key struct{ tenant, service string }
	rows := map[key]map[string]int{}
	dest := map[key]string{}
	var order []key
	see := func(k key) {
		if _, ok := rows[k]; !ok {
			rows[k] = map[string]int{}
			order = append(order, k)
		}
	}
	for _, r := range routes {
		k := key{r.Tenant, r.Service}
		see(k)
		dest[k] = r.DestinationID
	}
	for _, c := range counts {
		k := key{c.Tenant, c.Service}
		see(k)
		rows[k][c.Step] = c.N
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TENANT\tSERVICE\tDESTINATION\t%s\n", strings.ToUpper(strings.Join(server.HandoffSteps, "\t")))
	for _, k := range order {
		d := dest[k]
		if d == "" {
			d = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s", k.tenant, k.service, d)
		for _, s := range server.HandoffSteps {
			fmt.Fprintf(tw, "\t%d", rows[k][s])
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// listHandoffCases shows the cases of a tenant with their step, their
// submission and, for a failed or rejected case, why.
func listHandoffCases(ctx context.Context, srv *server.Server, tenant, step string, stdout io.Writer) error {
	q := server.HandoffQuery{Tenant: tenant, Limit: 1000}
	if step != "" {
		q.Steps = []string{step}
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tSERVICE\tSTEP\tSUBMISSION\tATTEMPTS\tUPDATED\tREASON")
	for {
		cs, err := srv.Handoff().HandoffCases(ctx, q)
		if err != nil {
			return err
		}
		for _, c := range cs {
			why := c.LastError
			if c.Step == server.StepRejected {
				why = c.Reason
			}
			sub := c.SubmissionID
			if sub == "" {
				sub = "-"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\n", c.CaseID, c.Service, c.Step, sub, c.Attempts,
				fmtWhen(c.UpdatedAt), oneLine(why))
		}
		if len(cs) < q.Limit {
			return tw.Flush()
		}
		q.AfterSeq = cs[len(cs)-1].FeedSeq
	}
}

func oneLine(s string) string {
	if s == "" {
		return "-"
	}
	return strings.Join(strings.Fields(s), " ")
}

// retryHandoff gives failed cases (one, or all of the tenant's if caseID
// is "") back to the worker: a case that has a submission continues it
// (the worker first asks whether it arrived), one without starts anew.
func retryHandoff(ctx context.Context, srv *server.Server, tenant, caseID string, stdout io.Writer) error {
	h := srv.Handoff()
	var cs []server.HandoffCase
	if caseID != "" {
		c, err := h.HandoffCase(ctx, tenant, caseID)
		if err != nil {
			return err
		}
		if c.Step != server.StepFailed {
			return fmt.Errorf("case %s is %s, not failed", caseID, c.Step)
		}
		cs = append(cs, c)
	} else {
		q := server.HandoffQuery{Tenant: tenant, Steps: []string{server.StepFailed}, Limit: 1000}
		for {
			page, err := h.HandoffCases(ctx, q)
			if err != nil {
				return err
			}
			cs = append(cs, page...)
			if len(page) < q.Limit {
				break
			}
			q.AfterSeq = page[len(page)-1].FeedSeq
		}
	}
	for _, c := range cs {
		c.Step = server.StepDue
		if c.SubmissionID != "" {
			c.Step = server.StepCreated
		}
		c.Attempts, c.LastError, c.NextAttemptAt, c.UpdatedAt = 0, "", time.Time{}, srv.Now()
		if err := h.UpdateHandoffCase(ctx, c); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%d case(s) given back to syncd handoff\n", len(cs))
	return nil
}

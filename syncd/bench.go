package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/handoff/casedoc/sample"
	"github.com/buergerkoffer/kit/internal/server"
	"github.com/buergerkoffer/kit/internal/store"
)

// BenchResult is what `syncd bench` prints.
type BenchResult struct {
	Laptops        int     `json:"laptops"`
	Docs           int     `json:"docs"`
	Shared         int     `json:"shared"`
	Payload        int     `json:"payload"`
	PushedChanges  int64   `json:"pushed_changes"`
	PushSeconds    float64 `json:"push_s"`
	PushPerSecond  float64 `json:"push_changes_per_s"`
	PulledChanges  int64   `json:"pulled_changes"`
	PullSeconds    float64 `json:"pull_s"`
	PullPerSecond  float64 `json:"pull_changes_per_s"`
	NoopSyncMillis float64 `json:"noop_sync_ms"` // through the counting proxy
	// NoopSyncDirectMillis is the same sync straight to the server.
	NoopSyncDirectMillis float64 `json:"noop_sync_direct_ms"`
	WallSeconds          float64 `json:"wall_s"`
	Conflicts            int     `json:"conflicts"`
	SharedEdits          int     `json:"shared_edits"`
	Converged            bool    `json:"converged"`
	AgentPeakRSSMiB      float64 `json:"agent_peak_rss_mib"`
	WriteSeconds         float64 `json:"offline_write_s"`
	wireMeasures                 // bytes on the socket, phases, store size (bench_wire.go)
}

// runBench implements `syncd bench`: K simulated laptops each write N new
// records offline and edit the same M shared records, then all sync at
// once through the real path: sealing in the store, `syncd agent sync`
// processes over HTTP on loopback, the real server. It checks convergence
// by comparing exports.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	k := fs.Int("laptops", 3, "simulated laptops")
	n := fs.Int("docs", 1000, "new records each laptop writes offline")
	m := fs.Int("shared", 10, "shared records every laptop edits (the same field)")
	payload := fs.Int("payload", 200, "bytes of personal data per record")
	serverURL := fs.String("server", "", "use these running servers, comma-separated: the laptops are spread over them round robin (needs --server-db to issue enrolment codes)")
	serverDB := fs.String("server-db", "", "with --server: their database (SQLite file or postgres:// URL), for enrolment codes")
	masterKey := fs.String("master-key", "", "with --server-db: the servers' master key file (default as syncd serve: $BK_MASTER_KEY_FILE)")
	tenant := fs.String("tenant", "bench", "tenant to use")
	dir := fs.String("dir", "", "work directory, kept afterwards with central.db and its master key (default: a temporary one, removed)")
	sealed := fs.Int("sealed", 0, "cases each laptop signs (simulated pad), confirms (four-eyes) and seals before it syncs, spread over the catalog's services")
	asJSON := fs.Bool("json", false, "print only the JSON result")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the bench process (the server) to this file, and each agent's per phase beside it (FILE.agent-laptop-NN-PHASE.prof)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *k < 1 || *n < 0 || *m < 0 || *payload < 1 || *sealed < 0 {
		fmt.Fprintln(stderr, "syncd bench: --laptops >= 1, --docs >= 0, --shared >= 0, --payload >= 1, --sealed >= 0")
		return 2
	}
	if *cpuProfile != "" {
		stop, err := startProfile(*cpuProfile)
		if err != nil {
			fmt.Fprintf(stderr, "syncd bench: %v\n", err)
			return 2
		}
		defer stop()
	}
	logf := func(format string, a ...any) {
		if !*asJSON {
			fmt.Fprintf(stderr, "bench: "+format+"\n", a...)
		}
	}
	res, err := bench(ctx, benchConfig{profile: *cpuProfile != "", profilePrefix: agentProfilePrefix(*cpuProfile), laptops: *k, docs: *n, shared: *m, payload: *payload, serverURL: *serverURL,
		serverDB: *serverDB, masterKey: *masterKey, tenant: *tenant, dir: *dir, logf: logf, sealed: *sealed})
	if err != nil {
		fmt.Fprintf(stderr, "syncd bench: %v\n", err)
		return 2
	}
	if *dir != "" {
		benchPrintKept(stderr, *dir, *serverDB, *masterKey, *tenant)
	}
	enc := json.NewEncoder(stdout)
	if !*asJSON {
		enc.SetIndent("", "  ")
	}
	if !*asJSON {
		printPhases(stderr, res)
	}
	enc.Encode(res)
	if !res.Converged {
		return 1
	}
	return 0
}

type benchConfig struct {
	laptops, docs, shared, payload int
	serverURL, serverDB, tenant    string
	masterKey                      string
	dir                            string
	logf                           func(string, ...any)
	profile                        bool // profile the agents too, next to their databases
	// profilePrefix, when not "", puts the agents' profiles at
	// PREFIX-<laptop>-<phase>.prof instead (beside the server's).
	profilePrefix string
	sealed        int // sealed cases per laptop (bench_sealed.go)
}

type benchLaptop struct {
	path string
	st   *store.Store
	ss   *store.Session
}

func bench(ctx context.Context, cfg benchConfig) (BenchResult, error) {
	res := BenchResult{Laptops: cfg.laptops, Docs: cfg.docs, Shared: cfg.shared, Payload: cfg.payload}
	dir := cfg.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "syncd-bench-")
		if err != nil {
			return res, err
		}
		defer os.RemoveAll(d)
		dir = d
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return res, err
	}
	self, err := os.Executable()
	if err != nil {
		return res, fmt.Errorf("find syncd binary: %w", err)
	}

	// The servers: running ones, or our own on loopback.
	var urls []string
	for _, u := range strings.Split(cfg.serverURL, ",") {
		if u = strings.TrimSpace(u); u != "" {
			urls = append(urls, u)
		}
	}
	srvDB := cfg.serverDB
	if len(urls) > 0 && srvDB == "" {
		return res, errors.New("--server needs --server-db (enrolment codes are issued on the servers' database)")
	}
	if srvDB == "" {
		srvDB = filepath.Join(dir, "central.db")
	}
	srv, err := server.Open(ctx, server.Config{DBPath: srvDB, MasterKeyFile: cfg.masterKey,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return res, err
	}
	defer srv.Close()
	if err := ensureTenant(ctx, srv, cfg.tenant, "Benchmark"); err != nil {
		return res, err
	}
	clock := &handlerClock{} // counts only a server of our own
	if len(urls) == 0 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return res, err
		}
		hs := &http.Server{Handler: clock.wrap(srv.Handler()), ReadHeaderTimeout: 10 * time.Second}
		go hs.Serve(ln)
		defer hs.Close()
		urls = []string{"http://" + ln.Addr().String()}
	}
	cfg.logf("servers %s, tenant %s, work dir %s", strings.Join(urls, ", "), cfg.tenant, dir)
	// The laptops reach the servers through counting proxies: the bytes
	// on the socket.
	direct := urls
	px, urls, err := proxyAll(urls)
	if err != nil {
		return res, err
	}
	defer px.Close()

	// Laptops, enrolled before they go out, plus an observer that pulls
	// everything at the end (the initial-pull measurement).
	laptops := make([]*benchLaptop, cfg.laptops+1)
	var wg sync.WaitGroup
	errs := make([]error, len(laptops))
	for i := range laptops {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Round robin over the servers: laptop i talks to server i mod n
			// (the observer after the last laptop takes the next).
			laptops[i], errs[i] = benchEnrol(ctx, srv, urls[i%len(urls)], cfg.tenant, filepath.Join(dir, fmt.Sprintf("laptop-%02d.db", i)))
		}(i)
	}
	wg.Wait()
	for _, l := range laptops {
		if l != nil {
			defer l.st.Close()
		}
	}
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	observer := laptops[cfg.laptops]
	laptops = laptops[:cfg.laptops]
	cfg.logf("%d laptops enrolled", cfg.laptops)

	// The shared records: made on laptop 0, synced to all before the day.
	shared := make([]domain.Fields, cfg.shared)
	for i := range shared {
		shared[i] = domain.Fields{"place": fmt.Sprintf("Ort %d", i), "day": "2026-11-23", "venue_address": "Marktplatz 1"}
	}
	sharedRecs, err := laptops[0].ss.CreateBatch(ctx, domain.TypeVisit, shared)
	if err != nil {
		return res, err
	}
	for _, l := range laptops {
		if _, err := benchSyncInProcess(ctx, l); err != nil {
			return res, fmt.Errorf("initial sync: %w", err)
		}
	}
	if _, err := benchSyncInProcess(ctx, laptops[0]); err != nil {
		return res, err
	}

	// Offline: N new records each (payload bytes of personal data) and an
	// edit of the same field of every shared record.
	t0 := time.Now()
	pad := strings.Repeat("x", cfg.payload)
	errs = make([]error, len(laptops))
	for i, l := range laptops {
		wg.Add(1)
		go func(i int, l *benchLaptop) {
			defer wg.Done()
			errs[i] = benchWrite(ctx, l, i, cfg.docs, pad, sharedRecs)
		}(i, l)
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	res.WriteSeconds = time.Since(t0).Seconds()
	if err := benchSealCases(ctx, laptops, cfg); err != nil {
		return res, err
	}
	res.SharedEdits = cfg.laptops * cfg.shared
	for _, l := range laptops {
		c, _, err := l.st.Pending(ctx)
		if err != nil {
			return res, err
		}
		res.PushedChanges += c
	}
	cfg.logf("offline writes done in %.1fs: %d changes pending", res.WriteSeconds, res.PushedChanges)

	// All laptops come back at once: push, then pull, each laptop its own
	// `syncd agent sync` process.
	start := time.Now()
	_, down0 := px.counts()
	meter := startPhase("push", px, clock, true)
	run, err := benchAgentsRun(ctx, self, laptops, cfg.agentProfiles(), "push", "--no-pull")
	if err != nil {
		return res, fmt.Errorf("push: %w", err)
	}
	res.Phases = append(res.Phases, meter.stop(run, res.PushedChanges))
	res.PushSeconds = time.Since(start).Seconds()
	res.PushPerSecond = float64(res.PushedChanges) / res.PushSeconds
	meter = startPhase("pull", px, clock, false)
	run2, err := benchAgentsRun(ctx, self, laptops, cfg.agentProfiles(), "sync")
	if err != nil {
		return res, fmt.Errorf("pull: %w", err)
	}
	res.Phases = append(res.Phases, meter.stop(run2, run2.pulled))
	res.WallSeconds = time.Since(start).Seconds()
	res.AgentPeakRSSMiB = max(run.rss, run2.rss)
	cfg.logf("all synced in %.1fs (push %.1fs)", res.WallSeconds, res.PushSeconds)

	// A fresh laptop's initial pull of the whole tenant.
	head, err := srv.HeadSeq(ctx, cfg.tenant)
	if err != nil {
		return res, err
	}
	start = time.Now()
	meter = startPhase("initial_pull", px, clock, false)
	run3, err := benchAgentsRun(ctx, self, []*benchLaptop{observer}, cfg.agentProfiles(), "pull")
	if err != nil {
		return res, fmt.Errorf("initial pull: %w", err)
	}
	res.PullSeconds = time.Since(start).Seconds()
	res.AgentPeakRSSMiB = max(res.AgentPeakRSSMiB, run3.rss)
	// The agent's own count: compaction folds pulled entries of records
	// edited more than once, so the rows kept on the laptop undercount.
	res.PulledChanges = run3.pulled
	res.Phases = append(res.Phases, meter.stop(run3, res.PulledChanges))
	res.PullPerSecond = float64(res.PulledChanges) / res.PullSeconds
	cfg.logf("initial pull of %d changes (head %d) in %.1fs", res.PulledChanges, head, res.PullSeconds)
	_, down1 := px.counts()
	res.wireMeasures.fill(res.Phases, run2.pulled, down1-down0)
	if err := res.wireMeasures.measureLaptops(ctx, observer, laptops[0]); err != nil {
		return res, err
	}

	// A sync with nothing to do, in process (no process start-up): the
	// median of 21, through the counting proxy as every phase above, and
	// then straight to the server (the proxy is one more loopback hop and
	// connection set-up, which a laptop in the field does not have).
	if res.NoopSyncMillis, err = benchNoop(ctx, laptops[0]); err != nil {
		return res, err
	}
	if err := benchRepoint(ctx, laptops[0], direct[0]); err != nil {
		return res, err
	}
	if res.NoopSyncDirectMillis, err = benchNoop(ctx, laptops[0]); err != nil {
		return res, err
	}

	// Convergence: every export equals the server's.
	var want bytes.Buffer
	if err := srv.Export(ctx, cfg.tenant, &want); err != nil {
		return res, err
	}
	res.Converged = true
	for i, l := range append(laptops, observer) {
		var got bytes.Buffer
		if err := l.st.Export(ctx, &got); err != nil {
			return res, err
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			res.Converged = false
			cfg.logf("laptop %d export differs from the server's (%d vs %d bytes)", i, got.Len(), want.Len())
		}
	}
	for _, line := range bytes.Split(want.Bytes(), []byte("\n")) {
		if bytes.Contains(line, []byte(`"type":"conflict"`)) {
			res.Conflicts++
		}
	}
	return res, nil
}

func benchEnrol(ctx context.Context, srv *server.Server, url, tenant, path string) (*benchLaptop, error) {
	st, ss, err := sample.Enrol(ctx, srv, url, tenant, path, filepath.Base(path), sample.Clerk{Username: "bench", Name: "Bench Clerk", Password: []byte("bench-password")})
	if err != nil {
		return nil, err
	}
	return &benchLaptop{path: path, st: st, ss: ss}, nil
}

func benchWrite(ctx context.Context, l *benchLaptop, i, n int, pad string, shared []store.Record) error {
	const batch = 1000
	for done := 0; done < n; done += batch {
		size := min(batch, n-done)
		fs := make([]domain.Fields, size)
		for j := range fs {
			fs[j] = domain.Fields{"service_id": "anmeldung", "status": "draft", "form.surname": "Mustermann",
				"form.given_names": fmt.Sprintf("Erika %d-%d", i, done+j), "form.note": pad}
		}
		if _, err := l.ss.CreateBatch(ctx, domain.TypeCase, fs); err != nil {
			return err
		}
	}
	for _, r := range shared {
		if _, err := l.ss.Update(ctx, r.ID, store.AnyVersion, domain.Fields{"venue_address": "Saal " + strconv.Itoa(i)}); err != nil {
			return err
		}
	}
	return nil
}

// benchNoop returns the median time in milliseconds of 21 syncs with
// nothing to do.
func benchNoop(ctx context.Context, l *benchLaptop) (float64, error) {
	var times []float64
	for i := 0; i < 21; i++ {
		d, err := benchSyncInProcess(ctx, l)
		if err != nil {
			return 0, err
		}
		times = append(times, float64(d.Microseconds())/1000)
	}
	sort.Float64s(times)
	return times[len(times)/2], nil
}

// benchRepoint points a laptop's enrolment at another URL of the same
// server (from the counting proxy to the server itself).
func benchRepoint(ctx context.Context, l *benchLaptop, url string) error {
	e, err := l.st.Enrolment(ctx)
	if err != nil {
		return err
	}
	e.ServerURL = url
	return l.st.SaveEnrolment(ctx, e)
}

func benchSyncInProcess(ctx context.Context, l *benchLaptop) (time.Duration, error) {
	a, err := agent.New(agent.Config{}, l.st)
	if err != nil {
		return 0, err
	}
	start := time.Now()
	_, err = a.SyncOnce(ctx)
	return time.Since(start), err
}

// benchAgents runs `syncd agent sync` for every laptop at once and returns
// the largest peak RSS among them, in MiB.
func benchAgents(ctx context.Context, self string, laptops []*benchLaptop, profile bool, phase string, flags ...string) (float64, error) {
	prefix := ""
	if profile {
		prefix = "-" // next to each laptop's database
	}
	run, err := benchAgentsRun(ctx, self, laptops, prefix, phase, flags...)
	return run.rss, err
}

// agentsRun is what benchAgentsRun saw of the agents.
type agentsRun struct {
	rss    float64 // the largest peak RSS, MiB
	cpu    float64 // CPU seconds of all of them
	pulled int64   // changes they pulled
}

// benchAgentsRun runs `syncd agent sync` for every laptop at once; with
// profile not "" each writes a CPU profile (agentProfilePath).
func benchAgentsRun(ctx context.Context, self string, laptops []*benchLaptop, profile string, phase string, flags ...string) (agentsRun, error) {
	var wg sync.WaitGroup
	errs := make([]error, len(laptops))
	rss := make([]float64, len(laptops))
	cpu := make([]float64, len(laptops))
	pulled := make([]int64, len(laptops))
	for i, l := range laptops {
		args := append([]string{"agent", "sync", "--db", l.path}, flags...)
		if profile != "" {
			args = append(args, "--cpuprofile", agentProfilePath(profile, l.path, phase))
		}
		cmd := exec.CommandContext(ctx, self, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("%s: %w\n%s", l.path, err, out.String())
				return
			}
			rss[i] = parsePeakRSS(out.String())
			pulled[i] = parsePulled(out.String())
			cpu[i] = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
		}(i)
	}
	wg.Wait()
	var run agentsRun
	for i := range rss {
		run.rss = max(run.rss, rss[i])
		run.cpu += cpu[i]
		run.pulled += pulled[i]
	}
	return run, errors.Join(errs...)
}

// parsePeakRSS reads the peak_rss_kib line `syncd agent sync` prints.
func parsePeakRSS(out string) float64 {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "peak_rss_kib="); ok {
			n, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return n / 1024
		}
	}
	return 0
}

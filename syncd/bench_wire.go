package main

// What `syncd bench` measures besides rates: the bytes on the socket (a
// counting TCP proxy between the agents and the server, so TLS, were there
// any, and HTTP framing and headers are all counted as a radio would see
// them), where the time goes phase by phase, the time to the first byte of
// a pull, and how large a laptop's field store is after the sync.

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/buergerkoffer/kit/internal/sqlitedsn"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// BenchPhase is one phase of the bench, as the socket and the clocks saw it.
type BenchPhase struct {
	Name string `json:"name"`
	// WallSeconds is the phase's duration.
	WallSeconds float64 `json:"wall_s"`
	// ServerSeconds is the time the server spent in its handlers, summed
	// over concurrent requests (push handlers apply, pull handlers read
	// and encode the feed).
	ServerSeconds float64 `json:"server_handler_s"`
	// AgentCPUSeconds is the CPU time (user and system) of the `syncd
	// agent sync` processes of the phase: reading the outbox, encoding,
	// and applying pulled pages on the laptop.
	AgentCPUSeconds float64 `json:"agent_cpu_s"`
	AgentPeakRSSMiB float64 `json:"agent_peak_rss_mib"` // the largest agent's of the phase
	BytesUp         int64   `json:"bytes_up"`           // laptops to server, on the socket
	BytesDown       int64   `json:"bytes_down"`         // server to laptops
	Changes         int64   `json:"changes"`            // changes pushed or pulled in the phase
}

// wireMeasures is what bench() adds to BenchResult through this file.
type wireMeasures struct {
	// Bytes per change on the socket (up plus down) of the push phase,
	// answers included.
	PushBytesPerChange float64 `json:"push_bytes_per_change"`
	PushUpPerChange    float64 `json:"push_bytes_up_per_change"`
	PushDownPerChange  float64 `json:"push_bytes_down_per_change"`
	// PullBytesPerChange is the fresh laptop's initial pull: its bytes on
	// the socket (up plus down) per change it received.
	PullBytesPerChange float64 `json:"pull_bytes_per_change"`
	// LaptopPullBytesPerChange is the same for the laptops' pull after
	// their push, per change they applied (0 if they applied none).
	LaptopPullBytesPerChange float64 `json:"laptop_pull_bytes_per_change"`
	LaptopPulledChanges      int64   `json:"laptop_pulled_changes"`
	// RunDownPerPulledChange is every byte sent down from the start of the
	// push to the end of the initial pull (push answers, the laptops' pulls
	// including their own changes, the initial pull) per change of the
	// fresh laptop's initial pull: issue 16's "every byte down counted".
	RunDownPerPulledChange float64 `json:"run_bytes_down_per_pulled_change"`
	// PullTTFBMillis is the median time from sending a first-page pull
	// request (after=0, default limit) to the first byte of its answer.
	PullTTFBMillis float64 `json:"pull_ttfb_ms"`
	// Field store (database file plus WAL after a checkpoint) per 1,000
	// records, of the fresh laptop and of laptop 0 after the sync.
	StoreRecords          int64        `json:"store_records"`
	StoreBytesPer1000     float64      `json:"store_bytes_per_1000_records"`
	PushedStoreBytesPer1k float64      `json:"laptop0_store_bytes_per_1000_records"`
	Phases                []BenchPhase `json:"phases"`
}

// countingProxy forwards TCP connections to one server and counts the
// bytes each way. It runs until Close.
type countingProxy struct {
	ln       net.Listener
	target   string
	up, down atomic.Int64
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

// newCountingProxy starts a proxy for the server at serverURL and
// returns it with the URL that reaches the server through it.
func newCountingProxy(serverURL string) (*countingProxy, string, error) {
	u, err := url.Parse(serverURL)
	if err != nil || u.Host == "" {
		return nil, "", fmt.Errorf("bench proxy: server URL %q: %w", serverURL, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, "", fmt.Errorf("bench proxy: %w", err)
	}
	p := &countingProxy{ln: ln, target: u.Host, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.serve()
	pu := *u
	pu.Host = ln.Addr().String()
	return p, pu.String(), nil
}

func (p *countingProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(c)
		}()
	}
}

func (p *countingProxy) track(c net.Conn, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
}

// forward copies both ways until either side closes.
func (p *countingProxy) forward(c net.Conn) {
	defer c.Close()
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer s.Close()
	p.track(c, true)
	p.track(s, true)
	defer p.track(c, false)
	defer p.track(s, false)
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn, n *atomic.Int64) {
		_, _ = io.Copy(&countWriter{w: dst, n: n}, src)
		// Half-close so the other direction can finish its answer.
		if tc, ok := dst.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(s, c, &p.up)
	go cp(c, s, &p.down)
	<-done
	<-done
}

// counts returns the bytes up and down so far.
func (p *countingProxy) counts() (up, down int64) { return p.up.Load(), p.down.Load() }

// Close stops accepting, cuts open connections and waits for the copies.
func (p *countingProxy) Close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// proxies is the set of counting proxies of a bench run.
type proxies []*countingProxy

func (ps proxies) counts() (up, down int64) {
	for _, p := range ps {
		u, d := p.counts()
		up, down = up+u, down+d
	}
	return up, down
}

func (ps proxies) Close() {
	for _, p := range ps {
		p.Close()
	}
}

// proxyAll puts a counting proxy in front of every server URL and returns
// the URLs the laptops use.
func proxyAll(urls []string) (proxies, []string, error) {
	var ps proxies
	out := make([]string, len(urls))
	for i, u := range urls {
		p, pu, err := newCountingProxy(u)
		if err != nil {
			ps.Close()
			return nil, nil, err
		}
		ps, out[i] = append(ps, p), pu
	}
	return ps, out, nil
}

// handlerClock sums the time the server spends in push and pull handlers.
type handlerClock struct {
	push, pull atomic.Int64 // nanoseconds
}

func (hc *handlerClock) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		d := int64(time.Since(start))
		switch {
		case strings.HasSuffix(r.URL.Path, "/push"):
			hc.push.Add(d)
		case strings.HasSuffix(r.URL.Path, "/pull"):
			hc.pull.Add(d)
		}
	})
}

func (hc *handlerClock) seconds() (push, pull float64) {
	return time.Duration(hc.push.Load()).Seconds(), time.Duration(hc.pull.Load()).Seconds()
}

// phaseMeter measures one phase: call start, run it, call stop.
type phaseMeter struct {
	ps           proxies
	hc           *handlerClock
	t0           time.Time
	up0, down0   int64
	push0, pull0 float64
	serverIsPush bool
	name         string
}

func startPhase(name string, ps proxies, hc *handlerClock, serverIsPush bool) *phaseMeter {
	m := &phaseMeter{ps: ps, hc: hc, name: name, serverIsPush: serverIsPush, t0: time.Now()}
	m.up0, m.down0 = ps.counts()
	m.push0, m.pull0 = hc.seconds()
	return m
}

func (m *phaseMeter) stop(run agentsRun, changes int64) BenchPhase {
	up, down := m.ps.counts()
	push, pull := m.hc.seconds()
	server := pull - m.pull0
	if m.serverIsPush {
		server = push - m.push0
	}
	return BenchPhase{Name: m.name, WallSeconds: time.Since(m.t0).Seconds(), ServerSeconds: server,
		AgentCPUSeconds: run.cpu, AgentPeakRSSMiB: run.rss, BytesUp: up - m.up0, BytesDown: down - m.down0, Changes: changes}
}

// perChange is bytes / changes, 0 without changes.
func perChange(bytes, changes int64) float64 {
	if changes <= 0 {
		return 0
	}
	return float64(bytes) / float64(changes)
}

// pullTTFB measures the median time to the first byte of a first-page
// pull, as the enrolled laptop l (the fresh one, after its pull) asks for
// it, over the proxy, with the headers an agent sends.
func pullTTFB(ctx context.Context, l *store.Store) (float64, error) {
	e, err := l.Enrolment(ctx)
	if err != nil {
		return 0, err
	}
	u := strings.TrimRight(e.ServerURL, "/") + "/" + syncproto.Version + "/tenants/" + url.PathEscape(e.Tenant) + "/pull?after=0"
	hc := &http.Client{}
	defer hc.CloseIdleConnections()
	var times []float64
	for range 5 {
		var first time.Time
		trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { first = time.Now() }}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, u, nil)
		if err != nil {
			return 0, err
		}
		req.Header.Set("Authorization", "Bearer "+e.Token)
		req.Header.Set(syncproto.HeaderProtocol, syncproto.Revisions().String())
		req.Header.Set("Accept-Encoding", benchAcceptEncoding)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, fmt.Errorf("pull ttfb: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("pull ttfb: status %d", resp.StatusCode)
		}
		times = append(times, float64(first.Sub(start).Microseconds())/1000)
	}
	sort.Float64s(times)
	return times[len(times)/2], nil
}

// benchAcceptEncoding is what the TTFB probe asks for: what agents ask.
const benchAcceptEncoding = "zstd, gzip"

// storeSize checkpoints a field store's WAL (on a connection of its own,
// beside the store's) and returns its records and its size on disk:
// database file plus what is left of the WAL.
func storeSize(ctx context.Context, path string) (records, size int64, err error) {
	db, err := sql.Open("sqlite", sqlitedsn.DSN(path, false))
	if err != nil {
		return 0, 0, fmt.Errorf("store size: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		return 0, 0, fmt.Errorf("store size: checkpoint: %w", err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM record`).Scan(&records); err != nil {
		return 0, 0, fmt.Errorf("store size: %w", err)
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("store size: %w", err)
		}
		size += fi.Size()
	}
	return records, size, nil
}

// parsePulled reads the Pulled count of the report `syncd agent sync`
// prints ("{Pushed:0 ... Pulled:123 ...}").
func parsePulled(out string) int64 {
	i := strings.Index(out, "Pulled:")
	if i < 0 {
		return 0
	}
	rest := out[i+len("Pulled:"):]
	if j := strings.IndexAny(rest, " }"); j >= 0 {
		rest = rest[:j]
	}
	n, _ := strconv.ParseInt(rest, 10, 64)
	return n
}

// printPhases writes the phase breakdown for the text output.
func printPhases(w io.Writer, res BenchResult) {
	fmt.Fprintf(w, "bench: %-12s %8s %10s %10s %8s %12s %12s %10s %9s\n", "phase", "wall_s", "server_s", "agent_cpu", "rss_mib",
		"bytes_up", "bytes_down", "changes", "B/change")
	for _, p := range res.Phases {
		fmt.Fprintf(w, "bench: %-12s %8.2f %10.2f %10.2f %8.1f %12d %12d %10d %9.0f\n", p.Name, p.WallSeconds, p.ServerSeconds,
			p.AgentCPUSeconds, p.AgentPeakRSSMiB, p.BytesUp, p.BytesDown, p.Changes, perChange(p.BytesUp+p.BytesDown, p.Changes))
	}
	fmt.Fprintf(w, "bench: push %.0f B/change on the socket (%.0f up, %.0f down); initial pull %.0f B/change; every byte down per pulled change %.0f; pull TTFB %.1f ms; field store %.0f KiB per 1,000 records\n",
		res.PushBytesPerChange, res.PushUpPerChange, res.PushDownPerChange, res.PullBytesPerChange, res.RunDownPerPulledChange,
		res.PullTTFBMillis, res.StoreBytesPer1000/1024)
}

// fill derives the per-change figures from the phases (push, pull,
// initial_pull, in that order), the changes the laptops pulled, and the
// bytes sent down from the push's start to the initial pull's end.
func (m *wireMeasures) fill(phases []BenchPhase, laptopPulled, runDown int64) {
	push, pull, initial := phases[0], phases[1], phases[2]
	m.PushUpPerChange = perChange(push.BytesUp, push.Changes)
	m.PushDownPerChange = perChange(push.BytesDown, push.Changes)
	m.PushBytesPerChange = perChange(push.BytesUp+push.BytesDown, push.Changes)
	m.LaptopPulledChanges = laptopPulled
	m.LaptopPullBytesPerChange = perChange(pull.BytesUp+pull.BytesDown, laptopPulled)
	m.PullBytesPerChange = perChange(initial.BytesUp+initial.BytesDown, initial.Changes)
	m.RunDownPerPulledChange = perChange(runDown, initial.Changes)
}

// measureLaptops takes the pull's TTFB and the field stores' sizes.
func (m *wireMeasures) measureLaptops(ctx context.Context, fresh, pusher *benchLaptop) error {
	var err error
	if m.PullTTFBMillis, err = pullTTFB(ctx, fresh.st); err != nil {
		return err
	}
	n, size, err := storeSize(ctx, fresh.path)
	if err != nil {
		return err
	}
	m.StoreRecords = n
	m.StoreBytesPer1000 = perChange(size*1000, n)
	if n, size, err = storeSize(ctx, pusher.path); err != nil {
		return err
	}
	m.PushedStoreBytesPer1k = perChange(size*1000, n)
	return nil
}

// agentProfilePrefix is where the agents' profiles go when the bench's own
// is at path: beside it, so that they outlive a temporary work directory.
func agentProfilePrefix(path string) string {
	if path == "" {
		return ""
	}
	return strings.TrimSuffix(path, filepath.Ext(path)) + ".agent"
}

// agentProfiles is the profile argument of benchAgentsRun for cfg.
func (cfg benchConfig) agentProfiles() string {
	switch {
	case cfg.profilePrefix != "":
		return cfg.profilePrefix
	case cfg.profile:
		return "-"
	}
	return ""
}

// agentProfilePath names an agent's profile of a phase: PREFIX-<laptop>-
// <phase>.prof, or beside the laptop's database for prefix "-".
func agentProfilePath(prefix, laptopPath, phase string) string {
	if prefix == "-" {
		return laptopPath + "." + phase + ".prof"
	}
	name := strings.TrimSuffix(filepath.Base(laptopPath), filepath.Ext(laptopPath))
	return prefix + "-" + name + "-" + phase + ".prof"
}

package server

// This file is what the server tells Prometheus at /metrics: what the
// sync did (pushes and their changes by result, conflicts, pulls, uploads,
// enrolments), how long requests took by route, how many devices are
// active, and how the database's connection pools stand.
//
// Labels hold tenant ids (a town, not a person), route patterns
// ("/v1/tenants/{tenant}/push", never a path with ids), methods, status
// classes and result names: never a record, change or device id, a token
// or a personal value. Each Server has its own registry, so that several
// servers in one process (tests, `syncd bench`) do not clash.

import (
	"context"
	"crypto/subtle"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

// activeWindow is how recently a device must have made a request to
// count as active.
const activeWindow = 15 * time.Minute

// PoolStats is how one connection pool of a store stands, for /metrics.
type PoolStats struct {
	Pool         string        // which pool: "write", "read" (SQLite), "main"
	MaxOpen      int           // the most connections it opens (0: no limit)
	Open         int           // connections open, in use or idle
	InUse        int           // connections lent out
	Idle         int           // connections open and waiting
	WaitCount    int64         // times a request waited for a connection
	WaitDuration time.Duration // the time requests waited, all told
}

// poolStatser is a store that tells how its connection pools stand. It is
// optional: /metrics has no pool metrics for a store without it.
type poolStatser interface {
	PoolStats() []PoolStats
}

// metrics are a Server's Prometheus metrics, in a registry of its own.
type metrics struct {
	reg *prometheus.Registry

	pushes      *prometheus.CounterVec   // tenant
	changes     *prometheus.CounterVec   // tenant, result
	conflicts   *prometheus.CounterVec   // tenant
	pulls       *prometheus.CounterVec   // tenant
	pullChanges *prometheus.CounterVec   // tenant
	pullBytes   *prometheus.CounterVec   // tenant
	uploadBytes *prometheus.CounterVec   // tenant
	uploads     *prometheus.CounterVec   // tenant, result
	enrolments  *prometheus.CounterVec   // result
	requests    *prometheus.HistogramVec // route, method, status_class
	unavailable prometheus.Counter
	active      *activeDevices

	knownMu sync.Mutex
	known   map[string]bool // tenants whose series exist
}

// newMetrics makes a Server's metrics. now is the server's clock (for
// active devices); pools returns the store's pool statistics, if any.
func newMetrics(now func() time.Time, pools func() []PoolStats) *metrics {
	tenant := []string{"tenant"}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "syncd", Name: name, Help: help}, labels)
	}
	m := &metrics{
		reg:    prometheus.NewRegistry(),
		pushes: counter("pushes_total", "Pushes answered with results, by tenant.", tenant...),
		changes: counter("push_changes_total", "Pushed changes by result: applied, duplicate (sent before), "+
			"retry (not yet: a key or attachment missing), rejected (never).", "tenant", "result"),
		conflicts:   counter("push_conflicts_total", "Conflict records written for concurrent edits, by tenant.", tenant...),
		pulls:       counter("pulls_total", "Pull pages served, by tenant.", tenant...),
		pullChanges: counter("pull_changes_total", "Changes sent in pull pages, by tenant.", tenant...),
		pullBytes:   counter("pull_bytes_total", "Bytes of pull pages sent, by tenant.", tenant...),
		uploadBytes: counter("upload_bytes_total", "Attachment bytes received and stored, by tenant.", tenant...),
		uploads: counter("uploads_total", "Attachment uploads finished: completed, or discarded (bytes that do not match "+
			"their SHA-256).", "tenant", "result"),
		enrolments: counter("enrolments_total", "Enrolment requests: enrolled, refused (wrong, used or expired "+
			"code), throttled (too many wrong codes from the address).", "result"),
		requests: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "syncd", Name: "http_request_duration_seconds",
			Help:    "Time to answer a request, by route pattern, method and status class.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}},
			[]string{"route", "method", "status_class"}),
		unavailable: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "syncd", Name: "unavailable_responses_total",
			Help: "Requests answered 503 because the database was unavailable (readiness probes included)."}),
		active: newActiveDevices(now),
		known:  map[string]bool{},
	}
	for _, r := range []string{enrolEnrolled, enrolRefused, enrolThrottled} {
		m.enrolments.WithLabelValues(r)
	}
	m.reg.MustRegister(m.pushes, m.changes, m.conflicts, m.pulls, m.pullChanges, m.pullBytes, m.uploadBytes, m.uploads,
		m.enrolments, m.requests, m.unavailable, m.active, newPoolCollector(pools),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// pushResults are the results of a pushed change, as labels.
var pushResults = []string{syncproto.StatusApplied, syncproto.StatusDuplicate, syncproto.StatusRetry,
	syncproto.StatusRejected}

// addTenants makes every series of these tenants exist, at 0 until
// something happens: a series that appears with its first increment
// loses that increment to rate(), and an alert on a tenant's pushes
// needs the series before the first push.
func (m *metrics) addTenants(ids []string) {
	m.knownMu.Lock()
	defer m.knownMu.Unlock()
	for _, t := range ids {
		if m.known[t] {
			continue
		}
		m.known[t] = true
		for _, c := range []*prometheus.CounterVec{m.pushes, m.conflicts, m.pulls, m.pullChanges, m.pullBytes,
			m.uploadBytes} {
			c.WithLabelValues(t)
		}
		for _, r := range pushResults {
			m.changes.WithLabelValues(t, r)
		}
		for _, r := range []string{uploadCompleted, uploadDiscarded} {
			m.uploads.WithLabelValues(t, r)
		}
		m.active.addTenant(t)
	}
}

// pushed counts a push's results.
func (m *metrics) pushed(tenant string, results []syncproto.PushResult) {
	m.pushes.WithLabelValues(tenant).Inc()
	conflicts := 0
	counts := map[string]int{}
	for _, r := range results {
		counts[r.Status]++
		conflicts += r.Conflicts
	}
	for _, status := range pushResults {
		m.changes.WithLabelValues(tenant, status).Add(float64(counts[status]))
	}
	m.conflicts.WithLabelValues(tenant).Add(float64(conflicts))
}

// pulled counts a pull page.
func (m *metrics) pulled(tenant string, changes int, bytes int64) {
	m.pulls.WithLabelValues(tenant).Inc()
	m.pullChanges.WithLabelValues(tenant).Add(float64(changes))
	m.pullBytes.WithLabelValues(tenant).Add(float64(bytes))
}

// Results of an upload and of an enrolment, as labels.
const (
	uploadCompleted = "completed"
	uploadDiscarded = "discarded"

	enrolEnrolled  = "enrolled"
	enrolRefused   = "refused"
	enrolThrottled = "throttled"
)

// handler serves the registry in Prometheus' text format. A token, if not
// "", must come as "Authorization: Bearer <token>". Each scrape first
// adds the series of tenants made since the last (by any process); a
// database that is away leaves that out, not the scrape.
func (m *metrics) handler(token string, tenants func(context.Context) ([]string, error)) http.HandlerFunc {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
	return func(w http.ResponseWriter, r *http.Request) {
		if !allowed(w, r, http.MethodGet+","+http.MethodHead) {
			return
		}
		if token != "" {
			scheme, got, _ := strings.Cut(r.Header.Get("Authorization"), " ")
			if !strings.EqualFold(scheme, "Bearer") ||
				subtle.ConstantTimeCompare([]byte(strings.TrimSpace(got)), []byte(token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="syncd metrics"`)
				writeError(w, http.StatusUnauthorized, "metrics token required")
				return
			}
		}
		if ids, err := tenants(r.Context()); err == nil {
			m.addTenants(ids)
		}
		h.ServeHTTP(w, r)
	}
}

// instrument observes every request's duration by the pattern of the
// route that served it (which the mux sets on the request).
func (m *metrics) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "none"
		}
		m.requests.WithLabelValues(route, methodLabel(r.Method), statusClass(sw.status)).Observe(time.Since(start).Seconds())
	})
}

// methodLabel keeps the label to the methods of HTTP: a client choosing
// any other word must not make a series of its own.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions:
		return m
	}
	return "other"
}

func statusClass(status int) string {
	switch {
	case status == 0:
		return "2xx" // nothing written: net/http answers 200
	case status < 200 || status > 599:
		return "other"
	}
	return string(rune('0'+status/100)) + "xx"
}

// statusWriter remembers the status a handler answered. Unwrap lets
// http.ResponseController reach the connection (the pull flushes).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// activeDevices counts, per tenant, the devices that made an authenticated
// request to this process within activeWindow. Device ids stay in memory;
// only counts per tenant are exported. With several processes behind a
// load balancer each counts the devices it served.
type activeDevices struct {
	desc    *prometheus.Desc
	now     func() time.Time
	mu      sync.Mutex
	last    map[string]seenDevice // by device id
	tenants map[string]bool       // tenants ever seen, so that a count may fall to 0
}

type seenDevice struct {
	tenant string
	at     time.Time
}

func newActiveDevices(now func() time.Time) *activeDevices {
	return &activeDevices{now: now, last: map[string]seenDevice{}, tenants: map[string]bool{},
		desc: prometheus.NewDesc("syncd_active_devices",
			"Devices that made an authenticated request to this process in the last 15 minutes, by tenant.",
			[]string{"tenant"}, nil)}
}

// addTenant makes a tenant's count exist, at 0 while no device is active.
func (a *activeDevices) addTenant(tenant string) {
	a.mu.Lock()
	a.tenants[tenant] = true
	a.mu.Unlock()
}

// seen notes a request of a device.
func (a *activeDevices) seen(dev Device) {
	now := a.now()
	a.mu.Lock()
	a.last[dev.ID] = seenDevice{tenant: dev.Tenant, at: now}
	a.tenants[dev.Tenant] = true
	a.mu.Unlock()
}

func (a *activeDevices) Describe(ch chan<- *prometheus.Desc) { ch <- a.desc }

// Collect counts the active devices and forgets the others.
func (a *activeDevices) Collect(ch chan<- prometheus.Metric) {
	since := a.now().Add(-activeWindow)
	a.mu.Lock()
	counts := make(map[string]int, len(a.tenants))
	for t := range a.tenants {
		counts[t] = 0
	}
	for id, d := range a.last {
		if d.at.Before(since) {
			delete(a.last, id)
			continue
		}
		counts[d.tenant]++
	}
	a.mu.Unlock()
	for t, n := range counts {
		ch <- prometheus.MustNewConstMetric(a.desc, prometheus.GaugeValue, float64(n), t)
	}
}

// poolCollector reports the store's connection pools at each scrape: it
// reads the pools' own counters and sends no query, so it answers while
// the database is away too.
type poolCollector struct {
	pools                                   func() []PoolStats
	maxOpen, open, inUse, idle, waits, wait *prometheus.Desc
}

func newPoolCollector(pools func() []PoolStats) *poolCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("syncd_db_pool_"+name, help, []string{"pool"}, nil)
	}
	return &poolCollector{pools: pools,
		maxOpen: desc("max_open_connections", "The most connections the pool opens (0: no limit)."),
		open:    desc("open_connections", "Connections open, in use or idle."),
		inUse:   desc("in_use_connections", "Connections in use."),
		idle:    desc("idle_connections", "Connections open and idle."),
		waits:   desc("waits_total", "Times a request waited for a connection."),
		wait:    desc("wait_seconds_total", "Time requests waited for a connection, all told."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waits, c.wait} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pools() {
		gauge := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, p.Pool)
		}
		gauge(c.maxOpen, float64(p.MaxOpen))
		gauge(c.open, float64(p.Open))
		gauge(c.inUse, float64(p.InUse))
		gauge(c.idle, float64(p.Idle))
		ch <- prometheus.MustNewConstMetric(c.waits, prometheus.CounterValue, float64(p.WaitCount), p.Pool)
		ch <- prometheus.MustNewConstMetric(c.wait, prometheus.CounterValue, p.WaitDuration.Seconds(), p.Pool)
	}
}

package server

// /metrics read as Prometheus reads it: real pushes, pulls, uploads and
// enrolments against a real server on loopback, the exposition parsed
// with expfmt, every counter checked to have moved by what was done, and
// no label holding an id, a token or a personal value.

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// exposition is a parsed scrape of /metrics.
type exposition map[string]*dto.MetricFamily

// scrape fetches and parses /metrics of ts with token ("" for none).
func scrape(t *testing.T, ts *httptest.Server, token string) exposition {
	t.Helper()
	req, err := http.NewRequest("GET", ts.URL+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics content type %q, want Prometheus' text format", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as Prometheus text: %v", err)
	}
	return fams
}

// value returns the value of a counter or gauge, or the sample count of a
// histogram, with exactly these labels (0 if there is no such series).
func (e exposition) value(name string, labels ...string) float64 {
	f, ok := e[name]
	if !ok {
		return 0
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.Metric {
		if len(m.Label) != len(want) {
			continue
		}
		match := true
		for _, l := range m.Label {
			if want[l.GetName()] != l.GetValue() {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// labelValues lists every label of the server's own metrics as
// "family label=value".
func (e exposition) labelValues() []string {
	var out []string
	for name, f := range e {
		if !strings.HasPrefix(name, "syncd_") {
			continue
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				out = append(out, name+" "+l.GetName()+"="+l.GetValue())
			}
		}
	}
	sort.Strings(out)
	return out
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

func TestMetrics_CountWhatTheSyncDid(t *testing.T) {
	k := startKit(t)
	before := scrape(t, k.ts, "")
	// Every tenant's series are there, at 0, before anything happened.
	for _, tenant := range []string{tenantA, tenantB} {
		for _, name := range []string{"syncd_pushes_total", "syncd_pull_bytes_total", "syncd_active_devices"} {
			if !strings.Contains(strings.Join(before.labelValues(), "\n"), name+" tenant="+tenant) {
				t.Errorf("no %s of %s before its first sync", name, tenant)
			}
		}
	}

	a, b := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	c := k.enrol("c", tenantB, 4)
	if st, _, _ := k.do("POST", "/v1/enrol", "", enrolBody(t, "AAAA-BBBB-CCCC", []byte("not a key")), nil); st != http.StatusUnauthorized {
		t.Fatalf("wrong code: %d", st)
	}

	// Tenant A: applied, duplicate, retry, and a conflict.
	v, vk := a.create(domain.TypeVisit, domain.Fields{"place": "Saal 1", "day": "2025-03-02"})
	wantStatus(t, a.push([]syncproto.RecordKey{vk}, v), syncproto.StatusApplied)
	wantStatus(t, a.push(nil, v), syncproto.StatusDuplicate)
	orphan := a.change("create", domain.TypeVisit, domain.NewID(), 0, nil, domain.Fields{"place": "Saal 9"})
	wantStatus(t, a.push(nil, orphan), syncproto.StatusRetry)
	pullBytes, pulled := 0, 0
	pull := func(l *laptop) {
		st, body, _ := k.do("GET", "/v1/tenants/"+l.tenant+"/pull", l.token, nil, nil)
		if st != http.StatusOK {
			t.Fatalf("pull: %d %s", st, body)
		}
		pullBytes += len(body)
		pulled += bytes.Count(body, []byte("\n")) - 2 // less the page and end lines
	}
	pull(b)
	eb := b.change("update", domain.TypeVisit, v.RecordID, 1, domain.Fields{"place": "Saal 1"}, domain.Fields{"place": "Saal B"})
	ea := a.change("update", domain.TypeVisit, v.RecordID, 1, domain.Fields{"place": "Saal 1"}, domain.Fields{"place": "Saal A"})
	wantStatus(t, a.push(nil, ea), syncproto.StatusApplied)
	if rs := b.push(nil, eb); rs[0].Status != syncproto.StatusApplied || rs[0].Conflicts != 1 {
		t.Fatalf("concurrent edit: %+v", rs[0])
	}
	pull(a)
	if pulled != 1+4 { // b: the create; a: create, both updates, the conflict record
		t.Fatalf("pulled %d changes, want 5", pulled)
	}
	data := []byte("sealed bytes of a picture")
	sha := sha256hex([]byte("a picture"))
	upload(t, a, sha, v.RecordID, data, sha256hex(data))

	// Tenant B: a change whose id tenant A has taken is rejected.
	wantStatus(t, c.push(nil, ea), syncproto.StatusRejected)

	after := scrape(t, k.ts, "")
	moved := func(name string, labels ...string) float64 {
		return after.value(name, labels...) - before.value(name, labels...)
	}
	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"syncd_pushes_total", []string{"tenant", tenantA}, 5},
		{"syncd_pushes_total", []string{"tenant", tenantB}, 1},
		{"syncd_push_changes_total", []string{"tenant", tenantA, "result", "applied"}, 3},
		{"syncd_push_changes_total", []string{"tenant", tenantA, "result", "duplicate"}, 1},
		{"syncd_push_changes_total", []string{"tenant", tenantA, "result", "retry"}, 1},
		{"syncd_push_changes_total", []string{"tenant", tenantA, "result", "rejected"}, 0},
		{"syncd_push_changes_total", []string{"tenant", tenantB, "result", "rejected"}, 1},
		{"syncd_push_changes_total", []string{"tenant", tenantB, "result", "applied"}, 0},
		{"syncd_push_conflicts_total", []string{"tenant", tenantA}, 1},
		{"syncd_pulls_total", []string{"tenant", tenantA}, 2},
		{"syncd_pull_changes_total", []string{"tenant", tenantA}, 5},
		{"syncd_pull_bytes_total", []string{"tenant", tenantA}, float64(pullBytes)},
		{"syncd_upload_bytes_total", []string{"tenant", tenantA}, float64(len(data))},
		{"syncd_uploads_total", []string{"tenant", tenantA, "result", "completed"}, 1},
		{"syncd_enrolments_total", []string{"result", "enrolled"}, 3},
		{"syncd_enrolments_total", []string{"result", "refused"}, 1},
		{"syncd_http_request_duration_seconds", []string{"route", "/v1/tenants/{tenant}/push", "method", "POST",
			"status_class", "2xx"}, 6},
		{"syncd_http_request_duration_seconds", []string{"route", "/v1/tenants/{tenant}/pull", "method", "GET",
			"status_class", "2xx"}, 2},
		{"syncd_http_request_duration_seconds", []string{"route", "/v1/enrol", "method", "POST", "status_class", "4xx"}, 1},
		{"syncd_http_request_duration_seconds", []string{"route", "/v1/tenants/{tenant}/records/{record}/attachments/{sha}",
			"method", "PATCH", "status_class", "2xx"}, 1},
	} {
		if got := moved(w.name, w.labels...); got != w.want {
			t.Errorf("%s%v moved by %v, want %v", w.name, w.labels, got, w.want)
		}
	}
	// Gauges: what stands now.
	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"syncd_active_devices", []string{"tenant", tenantA}, 2},
		{"syncd_active_devices", []string{"tenant", tenantB}, 1},
	} {
		if got := after.value(w.name, w.labels...); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}
	checkPools(t, k.srv.st, after)
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "syncd_unavailable_responses_total"} {
		if _, ok := after[name]; !ok {
			t.Errorf("no %s", name)
		}
	}

	// No label holds an id, a token or a personal value.
	secrets := []string{a.id, b.id, c.id, a.token, b.token, c.token, a.seal.ID, b.seal.ID, v.RecordID, v.ID, ea.ID,
		eb.ID, orphan.RecordID, sha, sha256hex(data)}
	secrets = append(secrets, personalWords...)
	labels := after.labelValues()
	if !strings.Contains(strings.Join(labels, "\n"), "syncd_pushes_total tenant="+tenantA) {
		t.Fatalf("no labels to check: %v", labels)
	}
	for _, lv := range labels {
		if uuidRE.MatchString(lv) {
			t.Errorf("label with an id: %s", lv)
		}
		for _, s := range secrets {
			if strings.Contains(lv, s) {
				t.Errorf("label %s holds %q", lv, s)
			}
		}
		if strings.Contains(lv, " route=") && (strings.Contains(lv, tenantA) || strings.Contains(lv, tenantB)) {
			t.Errorf("route label with a tenant in the path: %s", lv)
		}
	}

	// A device falls out of the active count 15 minutes after its last
	// request.
	k.clock.Advance(activeWindow + time.Minute)
	later := scrape(t, k.ts, "")
	if got := later.value("syncd_active_devices", "tenant", tenantA); got != 0 {
		t.Errorf("active devices of %s after 16 idle minutes: %v", tenantA, got)
	}
}

// checkPools checks the pool metrics of a store that keeps pools: each
// pool that has a limit keeps to it, and SQLite's are its one writer and
// eight readers.
func checkPools(t *testing.T, st Store, e exposition) {
	t.Helper()
	ps, ok := st.(poolStatser)
	if !ok {
		return
	}
	fam := e["syncd_db_pool_open_connections"]
	if fam == nil || len(fam.Metric) != len(ps.PoolStats()) {
		t.Fatalf("pool metrics %v for pools %+v", fam, ps.PoolStats())
	}
	for _, p := range ps.PoolStats() {
		open, limit := e.value("syncd_db_pool_open_connections", "pool", p.Pool),
			e.value("syncd_db_pool_max_open_connections", "pool", p.Pool)
		if open < 1 || (limit > 0 && open > limit) {
			t.Errorf("pool %s: %v open of at most %v", p.Pool, open, limit)
		}
	}
	if _, ok := st.(*sqliteStore); !ok {
		return
	}
	for pool, want := range map[string]float64{"write": 1, "read": 8} {
		if got := e.value("syncd_db_pool_max_open_connections", "pool", pool); got != want {
			t.Errorf("SQLite %s pool: at most %v connections, want %v", pool, got, want)
		}
	}
}

// A client's made-up method does not make a series of its own.
func TestMetrics_UnknownMethodAndPath(t *testing.T) {
	k := startKit(t)
	k.do("BREW", "/v1/health", "", nil, nil)
	k.do("GET", "/v1/tenants/"+tenantA+"/nothing/"+domain.NewID(), "", nil, nil)
	e := scrape(t, k.ts, "")
	if got := e.value("syncd_http_request_duration_seconds", "route", "/v1/health", "method", "other",
		"status_class", "4xx"); got != 1 {
		t.Errorf("BREW /v1/health counted %v times as method other", got)
	}
	if got := e.value("syncd_http_request_duration_seconds", "route", "/", "method", "GET", "status_class", "4xx"); got != 1 {
		t.Errorf("an unknown path counted %v times under route /", got)
	}
	for _, lv := range e.labelValues() {
		if strings.Contains(lv, "BREW") || uuidRE.MatchString(lv) {
			t.Errorf("label %s", lv)
		}
	}
}

// With a token, /metrics answers only to it; each server has its own
// registry, so two in one process neither clash nor mix their counts.
func TestMetrics_TokenAndRegistryPerServer(t *testing.T) {
	k := startKit(t)
	a := k.enrol("a", tenantA, 2)
	v, vk := a.create(domain.TypeVisit, domain.Fields{"place": "Saal 1"})
	wantStatus(t, a.push([]syncproto.RecordKey{vk}, v), syncproto.StatusApplied)

	srv, err := Open(context.Background(), Config{DBPath: filepath.Join(t.TempDir(), "second.db"), MetricsToken: "scrape-me"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for _, auth := range []string{"", "Bearer wrong", "Basic scrape-me"} {
		req, _ := http.NewRequest("GET", ts.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("/metrics with %q: %d, want 401", auth, resp.StatusCode)
		}
	}
	second := scrape(t, ts, "scrape-me")
	if got := second.value("syncd_pushes_total", "tenant", tenantA); got != 0 {
		t.Errorf("the second server counts the first one's pushes: %v", got)
	}
	if got := scrape(t, k.ts, "").value("syncd_pushes_total", "tenant", tenantA); got != 1 {
		t.Errorf("the first server counts %v pushes, want 1", got)
	}
}

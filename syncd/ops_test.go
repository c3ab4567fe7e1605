package main

// What `syncd serve` offers operations: /v1/health, /v1/ready and
// /metrics in Prometheus' text format, counting what real agents did, and
// --metrics-token-file to keep /metrics to the scraper.

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/store"
)

// getMetrics fetches url's /metrics with token ("" for none); it returns
// the status and, for 200, the parsed exposition.
func getMetrics(t *testing.T, url, token string) (int, map[string]*dto.MetricFamily) {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("/metrics content type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return resp.StatusCode, fams
}

// counter returns the value of the series of name with these label
// values (name=value pairs), 0 if there is none.
func counter(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.Metric {
		if len(m.Label)*2 != len(labels) {
			continue
		}
		for _, l := range m.Label {
			found := false
			for i := 0; i+1 < len(labels); i += 2 {
				found = found || (labels[i] == l.GetName() && labels[i+1] == l.GetValue())
			}
			if !found {
				continue next
			}
		}
		if m.Counter != nil {
			return m.Counter.GetValue()
		}
		return m.Gauge.GetValue()
	}
	return 0
}

func TestServe_OperationsEndpoints(t *testing.T) {
	k := startKit(t)
	for _, path := range []string{"/v1/health", "/v1/ready"} {
		if st := k.raw("GET", path, "", nil); st != http.StatusOK {
			t.Errorf("%s: %d", path, st)
		}
	}
	a, b := k.laptop("a", "musterstadt"), k.laptop("b", "musterstadt")
	c, err := a.ss.CreateCase(k.ctx, anmeldung())
	if err != nil {
		t.Fatal(err)
	}
	sig := []byte("\x89PNG a signature from the pad")
	if _, _, err := a.ss.PutAttachment(k.ctx, c.ID, store.AnyVersion, domain.AttachmentSignaturePNG, sig); err != nil {
		t.Fatal(err)
	}
	ra := a.sync()
	rb := b.sync()
	if ra.Pushed == 0 || ra.Uploaded != 1 || rb.Pulled == 0 {
		t.Fatalf("sync: a %+v, b %+v", ra, rb)
	}

	st, fams := getMetrics(t, k.url, "")
	if st != http.StatusOK {
		t.Fatalf("/metrics: %d", st)
	}
	for _, w := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"syncd_push_changes_total", []string{"tenant", "musterstadt", "result", "applied"}, float64(ra.Pushed)},
		{"syncd_uploads_total", []string{"tenant", "musterstadt", "result", "completed"}, 1},
		{"syncd_upload_bytes_total", []string{"tenant", "musterstadt"}, float64(ra.Bytes)},
		{"syncd_enrolments_total", []string{"result", "enrolled"}, 2},
		{"syncd_active_devices", []string{"tenant", "musterstadt"}, 2},
	} {
		if got := counter(fams, w.name, w.labels...); got != w.want {
			t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
		}
	}
	if got := counter(fams, "syncd_pull_changes_total", "tenant", "musterstadt"); got < float64(rb.Pulled) {
		t.Errorf("pulled changes %v, b alone pulled %d", got, rb.Pulled)
	}
	for _, name := range []string{"syncd_http_request_duration_seconds", "syncd_db_pool_in_use_connections"} {
		if fams[name] == nil {
			t.Errorf("no %s", name)
		}
	}
}

func TestServe_MetricsToken(t *testing.T) {
	t.Setenv(envMasterKey, "")
	db, key := newServerDB(t, t.TempDir())
	tokenFile := filepath.Join(t.TempDir(), "metrics.token")
	if err := os.WriteFile(tokenFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if started, _, stderr := serveOnce(t, "--db", db, "--master-key", key, "--listen", "127.0.0.1:0",
		"--metrics-token-file", tokenFile); started || !strings.Contains(stderr, "empty") {
		t.Fatalf("serve started with an empty metrics token, or did not say why: %s", stderr)
	}
	if err := os.WriteFile(tokenFile, []byte("scrape-me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url := serveRunning(t, "--db", db, "--master-key", key, "--listen", "127.0.0.1:0", "--metrics-token-file", tokenFile)
	if st, _ := getMetrics(t, url, ""); st != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d", st)
	}
	if st, _ := getMetrics(t, url, "scrape-me"); st != http.StatusOK {
		t.Errorf("/metrics with the token: %d", st)
	}
	// The token guards /metrics only.
	resp, err := http.Get(url + "/v1/ready")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/v1/ready: %d", resp.StatusCode)
	}
}

// serveRunning runs `syncd serve` with args for the rest of the test and
// returns its URL.
func serveRunning(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := &lineWriter{first: make(chan string, 1)}
	errOut := &lockedBuffer{}
	done := make(chan int, 1)
	go func() { done <- run(ctx, append([]string{"serve"}, args...), out, errOut) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("serve did not stop")
		}
	})
	select {
	case line := <-out.first:
		i := strings.Index(line, "http://")
		if i < 0 {
			t.Fatalf("serve said %q", line)
		}
		return strings.TrimSpace(line[i:])
	case code := <-done:
		t.Fatalf("serve exited %d: %s", code, errOut.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	return ""
}

package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/domain"
	"github.com/buergerkoffer/kit/internal/syncproto"
	gojson "github.com/goccy/go-json"
)

// benchBatch builds a push of n new cases as a laptop sends them: each
// with its record key, plain status fields and sealed personal values.
func benchBatch(tb testing.TB, l *laptop, n int) []byte {
	var keys []syncproto.RecordKey
	var changes []syncproto.Change
	for i := 0; i < n; i++ {
		c, k := l.create(domain.TypeCase, domain.Fields{"service_id": "anmeldung", "status": "draft",
			"created_by": "clerk-1", "form.surname": "Mustermann", "form.given_names": fmt.Sprintf("Erika %d", i),
			"form.birth_date": "1964-08-12", "form.new_street": "Lindenweg 3", "form.new_postal_code": "53111"})
		keys, changes = append(keys, k), append(changes, c)
	}
	body, err := json.Marshal(l.request(keys, changes...))
	if err != nil {
		tb.Fatal(err)
	}
	l.sealSent = true
	return body
}

func benchPost(tb testing.TB, l *laptop, body []byte) {
	tb.Helper()
	if err := tryPost(l, body); err != nil {
		tb.Fatal(err)
	}
}

// tryPost pushes a batch and checks that every change was applied.
func tryPost(l *laptop, body []byte) error {
	req, err := http.NewRequest("POST", l.k.ts.URL+"/v1/tenants/"+l.tenant+"/push", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.token)
	resp, err := l.k.ts.Client().Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var pr syncproto.PushResponse
	if err := json.NewDecoder(resp.Body).Decode(&pr); err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("push: %d, %v", resp.StatusCode, err)
	}
	for _, r := range pr.Results {
		if r.Status != syncproto.StatusApplied {
			return fmt.Errorf("push result %+v", r)
		}
	}
	return nil
}

// BenchmarkPush measures pushes of 1,000 new cases each over HTTP on
// loopback (server, client and SQLite in one process).
func BenchmarkPush(b *testing.B) {
	k := startKit(b)
	a := k.enrol("a", tenantA, 2)
	const batch = 1000
	var elapsed time.Duration
	total := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		body := benchBatch(b, a, batch)
		b.StartTimer()
		start := time.Now()
		benchPost(b, a, body)
		elapsed += time.Since(start)
		total += batch
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "changes/s")
}

// BenchmarkPull measures a laptop pulling a tenant's whole feed (20,000
// changes of another laptop, so every record's key is re-wrapped for the
// page) in pages of syncproto.MaxPullLimit, reading the JSON lines.
func BenchmarkPull(b *testing.B) {
	k := startKit(b)
	a, r := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	const n = 20000
	for i := 0; i < n/1000; i++ {
		benchPost(b, a, benchBatch(b, a, 1000))
	}
	total := 0
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		after := int64(0)
		for {
			url := fmt.Sprintf("%s/v1/tenants/%s/pull?after=%d&limit=%d", k.ts.URL, tenantA, after, syncproto.MaxPullLimit)
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+r.token)
			resp, err := k.ts.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			var end syncproto.End
			for sc.Scan() {
				line := sc.Bytes()
				if bytes.HasPrefix(line, []byte(`{"entry"`)) {
					total++
					continue
				}
				if bytes.HasPrefix(line, []byte(`{"end"`)) {
					var pl syncproto.PullLine
					if err := json.Unmarshal(line, &pl); err != nil {
						b.Fatal(err)
					}
					end = *pl.End
				}
			}
			resp.Body.Close()
			if err := sc.Err(); err != nil {
				b.Fatal(err)
			}
			after = end.LastSeq
			if !end.More {
				break
			}
		}
		if after != int64(n) {
			b.Fatalf("pulled up to %d, want %d", after, n)
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "changes/s")
}

// BenchmarkPushParallel measures three laptops pushing at once (as in
// `syncd bench`): decoding and checking run in parallel, the write
// transactions one after another.
func BenchmarkPushParallel(b *testing.B) {
	k := startKit(b)
	ls := []*laptop{k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3), k.enrol("c", tenantA, 4)}
	const batch = 1000
	var elapsed time.Duration
	total := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		bodies := make([][]byte, len(ls))
		for j, l := range ls {
			bodies[j] = benchBatch(b, l, batch)
		}
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make([]error, len(ls))
		for j, l := range ls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[j] = tryPost(l, bodies[j])
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
		total += batch * len(ls)
	}
	b.ReportMetric(float64(total)/elapsed.Seconds(), "changes/s")
}

// BenchmarkPullFrames is BenchmarkPull in revision 2: the same feed, as
// frames, read with syncproto.PullReader.
func BenchmarkPullFrames(b *testing.B) {
	k := startKit(b)
	a, r := k.enrol("a", tenantA, 2), k.enrol("b", tenantA, 3)
	const n = 20000
	for i := 0; i < n/1000; i++ {
		benchPost(b, a, benchBatch(b, a, 1000))
	}
	total, bytesIn := 0, int64(0)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		after := int64(0)
		for {
			url := fmt.Sprintf("%s/v1/tenants/%s/pull?after=%d&limit=%d", k.ts.URL, tenantA, after, syncproto.MaxPullLimit)
			req, _ := http.NewRequest("GET", url, nil)
			req.Header.Set("Authorization", "Bearer "+r.token)
			req.Header.Set(syncproto.HeaderProtocol, "1-2")
			resp, err := k.ts.Client().Do(req)
			if err != nil {
				b.Fatal(err)
			}
			cr := &countingReader{r: resp.Body}
			pr := syncproto.NewPullReader(cr)
			var end *syncproto.End
			for end == nil {
				var line syncproto.PullLine
				if err := pr.Next(&line); err != nil {
					b.Fatal(err)
				}
				if line.Entry != nil {
					total++
				}
				end = line.End
			}
			resp.Body.Close()
			bytesIn += cr.n
			after = end.LastSeq
			if !end.More {
				break
			}
		}
		if after != int64(n) {
			b.Fatalf("pulled up to %d, want %d", after, n)
		}
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds(), "changes/s")
	b.ReportMetric(float64(bytesIn)/float64(total), "bytes/change")
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkApply measures the server's apply of one full push page
// (syncproto.MaxPushChanges changes) without HTTP: decoding the body,
// checking it and the write transaction, on the backend the tests use
// (BK_TEST_SERVER_DB=postgres for PostgreSQL). "create" pushes new cases
// with their keys; "update" pushes one edit of each of those cases (the
// records are read and rewritten, and half of them enter the office's
// inbox).
func BenchmarkApply(b *testing.B) {
	const page = syncproto.MaxPushChanges
	b.Run("create", func(b *testing.B) {
		k := startKit(b)
		a := k.enrol("a", tenantA, 2)
		dev := k.device(a)
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			body := benchBatch(b, a, page)
			b.StartTimer()
			elapsed += benchApply(b, k, dev, body)
		}
		b.ReportMetric(float64(page*b.N)/elapsed.Seconds(), "changes/s")
	})
	b.Run("update", func(b *testing.B) {
		k := startKit(b)
		a := k.enrol("a", tenantA, 2)
		dev := k.device(a)
		var elapsed time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			body := benchBatch(b, a, page)
			benchApply(b, k, dev, body)
			var req syncproto.PushRequest
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
			edits := make([]syncproto.Change, len(req.Changes))
			for j, c := range req.Changes {
				status := "in_progress"
				if j%2 == 0 {
					status = "sealed"
				}
				edits[j] = a.change("update", domain.TypeCase, c.RecordID, 1, domain.Fields{"status": "draft"},
					domain.Fields{"status": status, "sealed_at": "2025-03-01T09:00:00Z"})
			}
			body, err := json.Marshal(a.request(nil, edits...))
			if err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			elapsed += benchApply(b, k, dev, body)
		}
		b.ReportMetric(float64(page*b.N)/elapsed.Seconds(), "changes/s")
	})
}

// benchApply runs a push body through what the push handler does after
// reading it, and checks that every change was applied.
func benchApply(b *testing.B, k *kit, dev Device, body []byte) time.Duration {
	b.Helper()
	start := time.Now()
	var req syncproto.PushRequest
	if err := gojson.Unmarshal(body, &req); err != nil {
		b.Fatal(err)
	}
	if err := validatePush(&req); err != nil {
		b.Fatal(err)
	}
	resp, err := k.srv.push(k.ctx, dev, &req)
	if err != nil {
		b.Fatal(err)
	}
	took := time.Since(start)
	for _, r := range resp.Results {
		if r.Status != syncproto.StatusApplied {
			b.Fatalf("push result %+v", r)
		}
	}
	return took
}

// device returns the server's record of a laptop.
func (k *kit) device(l *laptop) Device {
	k.t.Helper()
	devs, err := k.srv.st.Devices(k.ctx, l.tenant)
	if err != nil {
		k.t.Fatal(err)
	}
	for _, d := range devs {
		if d.ID == l.id {
			return d
		}
	}
	k.t.Fatalf("no device %s", l.id)
	return Device{}
}

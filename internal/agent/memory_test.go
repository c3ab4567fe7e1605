package agent_test

// The agent streams: a backlog of 100k changes each way must not grow its
// heap. The server and the store here generate and drop what they send
// and get, so what the heap holds is the agent's.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

const backlog = 100_000

var secret = make([]byte, 300) // a sealed value's size

func change(i int) syncproto.Change {
	id := fmt.Sprintf("c-%07d", i)
	return syncproto.Change{ID: id, RecordID: "r-" + id, RecordType: "case", Op: "update",
		Fields: []string{"status", "form.surname"}, Secret: secret, HLC: "0000000001-0000"}
}

// bigLocal makes its outbox up as it is asked and drops what it pulls.
type bigLocal struct {
	*memLocal
	mu       sync.Mutex
	next     int // first change not yet pushed
	claimed  int // first change not yet in flight
	pulled   int
	peakHeap uint64
}

func (b *bigLocal) sample() {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.peakHeap = max(b.peakHeap, ms.HeapInuse)
}

func (b *bigLocal) ClaimPush(_ context.Context, n int, _ int64) (syncproto.PushRequest, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sample()
	req := syncproto.PushRequest{}
	for i := b.claimed; i < min(b.claimed+n, backlog); i++ {
		req.Changes = append(req.Changes, change(i))
	}
	b.claimed += len(req.Changes)
	return req, nil
}

// ReleasePush: every change is applied here, so only a push that stops
// early releases, and then it releases everything after the acknowledged.
func (b *bigLocal) ReleasePush(context.Context, syncproto.PushRequest) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.claimed = b.next
	return nil
}

func (b *bigLocal) ResetPush(context.Context) (int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.claimed - b.next
	b.claimed = b.next
	return int64(n), nil
}

func (b *bigLocal) AckPush(_ context.Context, req syncproto.PushRequest, resp syncproto.PushResponse) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.next += len(resp.Results)
	return nil
}

func (b *bigLocal) Pending(context.Context) (int64, int64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return int64(backlog - b.next), 0, nil
}

func (b *bigLocal) PendingUploads(context.Context, func(store.Upload) error) error { return nil }

func (b *bigLocal) ApplyPull(_ context.Context, _ syncproto.Page, entries []syncproto.Entry, lastSeq int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sample()
	b.pulled += len(entries)
	b.memLocal.mu.Lock()
	b.memLocal.checkpoint = lastSeq
	b.memLocal.mu.Unlock()
	return nil
}

func TestSyncOnce_LargeBacklogStaysSmall(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("100k changes each way: not in -short or -race runs")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/tenants/{t}/push", func(w http.ResponseWriter, r *http.Request) {
		var req syncproto.PushRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		res := syncproto.PushResponse{Results: make([]syncproto.PushResult, len(req.Changes))}
		for i, c := range req.Changes {
			res.Results[i] = syncproto.PushResult{ID: c.ID, Status: syncproto.StatusApplied, Seq: int64(i + 1)}
		}
		_ = json.NewEncoder(w).Encode(res)
	})
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(syncproto.Health{Status: "ok", Protocol: syncproto.Version})
	})
	mux.HandleFunc("GET /v1/tenants/{t}/pull", func(w http.ResponseWriter, r *http.Request) {
		after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
		limit, _ := strconv.ParseInt(r.URL.Query().Get("limit"), 10, 64)
		enc := json.NewEncoder(w)
		_ = enc.Encode(syncproto.PullLine{Page: &syncproto.Page{ID: "p", JWE: "j"}})
		last := min(after+limit, backlog)
		for seq := after + 1; seq <= last; seq++ {
			_ = enc.Encode(syncproto.PullLine{Entry: &syncproto.Entry{Seq: seq, Version: 1, Change: change(int(seq)),
				State: map[string]syncproto.FieldState{"status": {Src: "x", Version: 1}}}})
		}
		_ = enc.Encode(syncproto.PullLine{End: &syncproto.End{LastSeq: last, More: last < backlog, HeadSeq: backlog}})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	b := &bigLocal{memLocal: newMemLocal(srv.URL)}
	a := newAgent(t, b, func(c *agent.Config) { c.PullLimit = syncproto.MaxPullLimit })
	runtime.GC()
	rep, err := a.SyncOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pushed != backlog || rep.Pulled != backlog || b.pulled != backlog {
		t.Fatalf("report %+v", rep)
	}
	t.Logf("peak heap in use %.1f MiB for %d changes pushed and %d pulled", float64(b.peakHeap)/(1<<20), rep.Pushed, rep.Pulled)
	if b.peakHeap > 48<<20 {
		t.Errorf("peak heap %d MiB: the agent holds what it should stream", b.peakHeap>>20)
	}
}

package agent_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/internal/agent"
	"github.com/buergerkoffer/kit/internal/store"
)

func testConfig() agent.Config {
	return agent.Config{Interval: time.Hour, Poll: 5 * time.Millisecond, BackoffMin: 10 * time.Millisecond,
		BackoffMax: 50 * time.Millisecond, Client: agent.ClientConfig{RetryCount: -1, Timeout: 5 * time.Second}}
}

func newAgent(t *testing.T, l agent.Local, mod ...func(*agent.Config)) *agent.Agent {
	t.Helper()
	cfg := testConfig()
	for _, m := range mod {
		m(&cfg)
	}
	a, err := agent.New(cfg, l)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// run starts a.Run and returns a stop function that cancels it and waits.
func run(t *testing.T, a *agent.Agent) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run returned %v, want context.Canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not stop")
		}
	}
	t.Cleanup(stop)
	return stop
}

func TestSyncOnce_UploadsPushesAndPulls(t *testing.T) {
	f := newFakeServer(t)
	f.addRemote(4)
	l := newMemLocal(f.URL())
	l.write(5)
	l.addUpload("sha-1", sealedBytes(3000))
	a := newAgent(t, l, func(c *agent.Config) { c.PushBatch = 2; c.PullLimit = 3; c.PullChunk = 2 })
	rep, err := a.SyncOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Pushed != 5 || rep.Uploaded != 1 || rep.Bytes != 3000 || rep.Pulled != 9 || rep.Duplicates != 0 {
		t.Errorf("report %+v", rep)
	}
	if l.pending() != 0 || l.cp() != 9 {
		t.Errorf("pending %d, checkpoint %d", l.pending(), l.cp())
	}
	for id, n := range l.pulled {
		if n != 1 {
			t.Errorf("%s applied %d times", id, n)
		}
	}
	if l.maxChunk > 2 {
		t.Errorf("ApplyPull got %d entries at once, want at most PullChunk 2", l.maxChunk)
	}
	if f.hit("push") != 3 || len(f.pulls) != 3 {
		t.Errorf("%d pushes (want 3 batches of 2), pulls after %v", f.hit("push"), f.pulls)
	}
	want := map[string]string{store.StatePhase: agent.PhaseIdle, store.StateOnline: "true", store.StateLastError: "",
		store.StatePendingCount: "0", store.StateProgressDone: "5", store.StateProgressAll: "5", store.StateCheckpoint: "9"}
	for k, v := range want {
		if got := l.get(k); got != v {
			t.Errorf("state %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{store.StateLastSuccess, store.StateLastAttempt} {
		if _, err := time.Parse(time.RFC3339, l.get(k)); err != nil || !strings.HasSuffix(l.get(k), "Z") {
			t.Errorf("state %s = %q, want RFC 3339 UTC", k, l.get(k))
		}
	}

	// Nothing new: a second sync pushes nothing and pulls nothing.
	rep, err = a.SyncOnce(context.Background())
	if err != nil || rep.Pushed != 0 || rep.Pulled != 0 || rep.Uploaded != 0 {
		t.Errorf("second sync %+v, %v", rep, err)
	}
}

func TestSyncOnce_CutPullKeepsWhatItAppliedAndResumes(t *testing.T) {
	f := newFakeServer(t)
	f.addRemote(10)
	f.set(func(f *fakeServer) { f.cutPullAt = 7 })
	l := newMemLocal(f.URL())
	a := newAgent(t, l, func(c *agent.Config) { c.PullChunk = 3 })
	_, err := a.SyncOnce(context.Background())
	if !errors.Is(err, agent.ErrTruncated) {
		t.Fatalf("err %v, want ErrTruncated", err)
	}
	if l.cp() != 7 {
		t.Errorf("checkpoint %d after a pull cut after 7 entries", l.cp())
	}
	if got := l.get(store.StateLastError); got != "Keine Verbindung zum Server" {
		t.Errorf("last_error %q", got)
	}
	if l.get(store.StateOnline) != "false" {
		t.Errorf("online %q", l.get(store.StateOnline))
	}
	rep, err := a.SyncOnce(context.Background())
	if err != nil || rep.Pulled != 3 || l.cp() != 10 {
		t.Fatalf("resumed: %+v, %v, checkpoint %d", rep, err, l.cp())
	}
	if f.pulls[len(f.pulls)-1] != 7 {
		t.Errorf("resumed after %d, want 7", f.pulls[len(f.pulls)-1])
	}
	for id, n := range l.pulled {
		if n != 1 {
			t.Errorf("%s applied %d times", id, n)
		}
	}
	if l.get(store.StateLastError) != "" {
		t.Errorf("last_error %q after success", l.get(store.StateLastError))
	}
}

func TestSyncOnce_BatchWithoutProgressDoesNotSpin(t *testing.T) {
	f := newFakeServer(t)
	f.set(func(f *fakeServer) { f.retryAll = true })
	l := newMemLocal(f.URL())
	l.write(5)
	a := newAgent(t, l, func(c *agent.Config) { c.PushBatch = 2 })
	rep, err := a.SyncOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.hit("push") != 1 || rep.Retried != 2 || rep.Pushed != 0 || l.pending() != 5 {
		t.Errorf("%d pushes, report %+v, pending %d: want one push, then stop", f.hit("push"), rep, l.pending())
	}
	if f.hit("pull") != 1 {
		t.Errorf("pull skipped after a push without progress")
	}

	// Rejected ones are set aside and do not block the rest.
	f.set(func(f *fakeServer) { f.retryAll = false; f.rejectAll = true })
	rep, err = a.SyncOnce(context.Background())
	if err != nil || rep.Rejected != 2 || l.pending() != 3 {
		t.Fatalf("rejected: %+v, %v, pending %d", rep, err, l.pending())
	}
	f.set(func(f *fakeServer) { f.rejectAll = false })
	rep, err = a.SyncOnce(context.Background())
	if err != nil || rep.Pushed != 3 || l.pending() != 0 {
		t.Errorf("after rejection: %+v, %v, pending %d", rep, err, l.pending())
	}
}

func TestSyncOnce_OneFailedStepDoesNotStopTheOthers(t *testing.T) {
	f := newFakeServer(t)
	f.addRemote(2)
	// The attachment's PATCH fails with a 500; push and pull go on.
	f.set(func(f *fakeServer) { f.fail["patch"] = []int{500} })
	l := newMemLocal(f.URL())
	l.write(1)
	l.addUpload("sha-x", sealedBytes(10))
	a := newAgent(t, l)
	rep, err := a.SyncOnce(context.Background())
	if agent.StatusOf(err) != 500 {
		t.Fatalf("err %v, want the upload's 500", err)
	}
	if rep.Pushed != 1 || rep.Pulled != 3 || rep.Uploaded != 0 {
		t.Errorf("report %+v: push and pull should have run", rep)
	}
	if got := l.get(store.StateLastError); got != "Server antwortet nicht (500)" {
		t.Errorf("last_error %q", got)
	}
	rep, err = a.SyncOnce(context.Background())
	if err != nil || rep.Uploaded != 1 {
		t.Errorf("next sync: %+v, %v", rep, err)
	}
}

func TestSyncOnce_RevokedDevice(t *testing.T) {
	f := newFakeServer(t)
	l := newMemLocal(f.URL())
	l.write(1)
	f.set(func(f *fakeServer) { f.tokens = map[string]bool{} })
	a := newAgent(t, l)
	_, err := a.SyncOnce(context.Background())
	if !agent.IsUnauthorized(err) {
		t.Fatalf("err %v, want 401", err)
	}
	if l.get(store.StatePhase) != agent.PhaseRevoked || l.get(store.StateLastError) != "Gerät ist gesperrt – bitte an die IT wenden" {
		t.Errorf("state %v", l.state)
	}
	if f.hit("pull") != 0 {
		t.Errorf("pulled after the push was refused with 401")
	}
}

func TestSyncOnce_NotEnrolled(t *testing.T) {
	l := newMemLocal("http://127.0.0.1:1")
	l.enrolled = false
	a := newAgent(t, l)
	if _, err := a.SyncOnce(context.Background()); !errors.Is(err, store.ErrNotEnrolled) {
		t.Errorf("err %v, want ErrNotEnrolled", err)
	}
}

func TestRun_BacksOffAfterFailureThenSucceeds(t *testing.T) {
	f := newFakeServer(t)
	f.set(func(f *fakeServer) { f.fail["push"] = []int{503, 503, 503} })
	l := newMemLocal(f.URL())
	l.write(2)
	a := newAgent(t, l, func(c *agent.Config) { c.BackoffMin = 30 * time.Millisecond; c.BackoffMax = 200 * time.Millisecond })
	run(t, a)
	eventually(t, "the first failure recorded", func() bool {
		return l.get(store.StateLastError) == "Server antwortet nicht (503)" && l.get(store.StatePhase) == agent.PhaseBackoff
	})
	if next, err := time.Parse(time.RFC3339, l.get(store.StateNextAttempt)); err != nil || next.IsZero() {
		t.Errorf("next_attempt %q", l.get(store.StateNextAttempt))
	}
	if l.get(store.StateOnline) != "true" {
		t.Errorf("online %q: the server answered", l.get(store.StateOnline))
	}
	eventually(t, "success after the failures", func() bool { return l.pending() == 0 && l.get(store.StateLastError) == "" })
	if got := f.hit("push"); got != 4 {
		t.Errorf("%d pushes, want 3 failures and a success", got)
	}
	eventually(t, "idle", func() bool { return l.get(store.StatePhase) == agent.PhaseIdle })
	if l.get(store.StateLastSuccess) == "" {
		t.Error("no last_success")
	}
}

func TestRun_TriggerSyncsNow(t *testing.T) {
	f := newFakeServer(t)
	l := newMemLocal(f.URL())
	a := newAgent(t, l, func(c *agent.Config) { c.Poll = time.Hour })
	run(t, a)
	eventually(t, "the sync at start", func() bool { return f.hit("pull") == 1 })
	f.addRemote(2)
	a.Trigger()
	eventually(t, "the triggered sync", func() bool { return f.hit("pull") == 2 && l.cp() == 2 })
}

func TestRun_WatermarkChangeSyncs(t *testing.T) {
	f := newFakeServer(t)
	l := newMemLocal(f.URL())
	a := newAgent(t, l)
	run(t, a)
	eventually(t, "the sync at start", func() bool { return f.hit("pull") == 1 })
	time.Sleep(30 * time.Millisecond) // several polls
	if n := f.hit("pull"); n != 1 {
		t.Fatalf("%d syncs without a new watermark", n)
	}
	l.write(1)
	eventually(t, "the change pushed", func() bool { return l.pending() == 0 })
	l.mu.Lock()
	l.request++ // the app's "sync now"
	l.mu.Unlock()
	eventually(t, "the requested sync", func() bool { return f.hit("pull") == 3 })
}

func TestRun_IntervalSyncs(t *testing.T) {
	f := newFakeServer(t)
	l := newMemLocal(f.URL())
	a := newAgent(t, l, func(c *agent.Config) { c.Interval = 20 * time.Millisecond; c.Poll = time.Hour })
	run(t, a)
	eventually(t, "three syncs", func() bool { return f.hit("pull") >= 3 })
}

func TestRun_OfflineProbesHealthAndSyncsWhenBack(t *testing.T) {
	f := newFakeServer(t)
	f.set(func(f *fakeServer) { f.down = true })
	l := newMemLocal(f.URL())
	l.write(1)
	a := newAgent(t, l, func(c *agent.Config) { c.BackoffMin = 5 * time.Millisecond; c.BackoffMax = 20 * time.Millisecond })
	run(t, a)
	eventually(t, "offline recorded", func() bool {
		return l.get(store.StateOnline) == "false" && l.get(store.StateLastError) == "Keine Verbindung zum Server"
	})
	eventually(t, "health probes", func() bool { return f.hit("health") >= 3 })
	// The first sync asks the server's protocol revisions (health)
	// before it pushes, so it may stop there: at most that one push.
	if n := f.hit("push"); n > 1 {
		t.Errorf("%d pushes while offline: want probes, not syncs", n)
	}
	f.set(func(f *fakeServer) { f.down = false })
	eventually(t, "the sync when back", func() bool { return l.pending() == 0 && l.get(store.StateOnline) == "true" })
	if l.get(store.StateLastError) != "" {
		t.Errorf("last_error %q", l.get(store.StateLastError))
	}
}

func TestRun_RevokedStopsUntilEnrolledAgain(t *testing.T) {
	f := newFakeServer(t)
	f.set(func(f *fakeServer) { f.tokens = map[string]bool{} })
	l := newMemLocal(f.URL())
	l.write(1)
	a := newAgent(t, l)
	run(t, a)
	eventually(t, "revoked", func() bool { return l.get(store.StatePhase) == agent.PhaseRevoked })
	n := f.hit("push")
	l.write(1) // the clerk keeps working
	a.Trigger()
	time.Sleep(50 * time.Millisecond)
	if f.hit("push") != n {
		t.Errorf("a revoked agent kept pushing: %d, then %d", n, f.hit("push"))
	}
	// Enrolled again with a new token.
	f.set(func(f *fakeServer) { f.tokens = map[string]bool{"tok-2": true} })
	l.mu.Lock()
	l.enrol.Token = "tok-2"
	l.mu.Unlock()
	eventually(t, "syncing again", func() bool { return l.pending() == 0 && l.get(store.StatePhase) == agent.PhaseIdle })
}

func TestRun_WaitsForEnrolment(t *testing.T) {
	f := newFakeServer(t)
	l := newMemLocal(f.URL())
	l.enrolled = false
	l.write(1)
	a := newAgent(t, l)
	run(t, a)
	eventually(t, "not enrolled recorded", func() bool { return strings.Contains(l.get(store.StateLastError), "nicht beim Server angemeldet") })
	l.mu.Lock()
	l.enrolled = true
	l.mu.Unlock()
	eventually(t, "sync after enrolment", func() bool { return l.pending() == 0 })
}

func TestRun_CancelStopsWithoutLeaks(t *testing.T) {
	f := newFakeServer(t)
	f.addRemote(3)
	before := runtime.NumGoroutine()
	for i := range 3 {
		l := newMemLocal(f.URL())
		l.write(2)
		a := newAgent(t, l)
		stop := run(t, a)
		eventually(t, fmt.Sprintf("sync %d", i), func() bool { return l.pending() == 0 && l.cp() == int64(5+2*i) })
		stop()
	}
	// Stopping while backing off, too.
	f.set(func(f *fakeServer) { f.down = true })
	l := newMemLocal(f.URL())
	a := newAgent(t, l)
	stop := run(t, a)
	eventually(t, "offline", func() bool { return l.get(store.StateOnline) == "false" })
	stop()
	f.srv.CloseClientConnections()
	var now int
	for range 200 {
		if now = runtime.NumGoroutine(); now <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	buf := make([]byte, 1<<16)
	t.Errorf("%d goroutines before, %d after Run stopped:\n%s", before, now, buf[:runtime.Stack(buf, true)])
}

func TestNew_Defaults(t *testing.T) {
	if _, err := agent.New(agent.Config{}, nil); err == nil {
		t.Error("no store accepted")
	}
	a, err := agent.New(agent.Config{PushBatch: 1 << 20}, newMemLocal("http://x"))
	if err != nil || a == nil {
		t.Fatal(err)
	}
}

func TestDescribe(t *testing.T) {
	for err, want := range map[error]string{
		nil:                                     "",
		&agent.HTTPError{Status: 503}:           "Server antwortet nicht (503)",
		&agent.HTTPError{Status: 401}:           "Gerät ist gesperrt – bitte an die IT wenden",
		&agent.HTTPError{Status: 429}:           "Server ist ausgelastet (429) – neuer Versuch folgt automatisch",
		fmt.Errorf("x: %w", agent.ErrTruncated): "Keine Verbindung zum Server",
		store.ErrNotEnrolled:                    "Gerät ist noch nicht beim Server angemeldet – bitte an die IT wenden",
	} {
		if got := agent.Describe(err); got != want {
			t.Errorf("Describe(%v) = %q, want %q", err, got, want)
		}
	}
}

// A running agent says so even while it has nothing to do: the app shows
// "Sync-Dienst läuft nicht" when the heartbeat stops.
func TestRun_HeartbeatWhileNotEnrolled(t *testing.T) {
	l := newMemLocal("http://127.0.0.1:1")
	l.enrolled = false
	a := newAgent(t, l)
	stop := run(t, a)
	eventually(t, "the heartbeat", func() bool { return l.get(store.StateAgentSeen) != "" })
	stop()
	if ts, err := time.Parse(time.RFC3339, l.get(store.StateAgentSeen)); err != nil || time.Since(ts) > time.Minute {
		t.Errorf("agent_seen = %q", l.get(store.StateAgentSeen))
	}
}

// A pull page that names another server key (a rotation) has the agent
// store it, once; failing to store it does not fail the sync.
func TestSyncOnce_LearnsTheServerKeyAPageAnnounces(t *testing.T) {
	f := newFakeServer(t)
	f.addRemote(2)
	f.set(func(f *fakeServer) { f.serverKID, f.serverKey = "kid-2", "PEM 2" })
	l := newMemLocal(f.URL())
	l.enrol.ServerKeyID, l.enrol.ServerPublicKey = "kid-1", "PEM 1"
	a := newAgent(t, l, func(c *agent.Config) { c.PullLimit = 1 })
	if _, err := a.SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l.enrol.ServerKeyID != "kid-2" || l.enrol.ServerPublicKey != "PEM 2" || l.serverKeyCalls != 1 {
		t.Fatalf("enrolment %+v after %d SetServerKey calls, want kid-2 once", l.enrol, l.serverKeyCalls)
	}
	f.addRemote(1)
	if _, err := a.SyncOnce(context.Background()); err != nil || l.serverKeyCalls != 1 {
		t.Errorf("second sync: %v, %d SetServerKey calls, want still 1", err, l.serverKeyCalls)
	}

	f.set(func(f *fakeServer) { f.serverKID, f.serverKey = "kid-3", "PEM 3" })
	l.serverKeyErr = errors.New("disk full")
	f.addRemote(1)
	rep, err := a.SyncOnce(context.Background())
	if err != nil || rep.Pulled != 1 || l.enrol.ServerKeyID != "kid-2" {
		t.Errorf("sync with a key it cannot store: %+v, %v, kid %s", rep, err, l.enrol.ServerKeyID)
	}
}

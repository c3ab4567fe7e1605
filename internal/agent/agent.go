// Package agent is the laptop's side of sync (`syncd agent`): it uploads
// attachments, pushes the outbox and pulls the tenant's feed, whenever
// there is something to sync, and tells the app how it goes.
//
// It owns the HTTP client of the sync protocol (Client, over
// internal/syncproto) and the loop that decides when to sync (Agent). It
// owns no data: the field store (Local, implemented by *store.Store) hands
// it sealed bytes, field names and versions, and takes back what the
// server answered. The agent holds a device token and public keys only;
// it never sees a citizen's data and logs no token.
package agent

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/internal/backoff"
	"github.com/buergerkoffer/kit/internal/store"
	"github.com/buergerkoffer/kit/internal/syncproto"
)

// Defaults of Config. DefaultPushBatch is half the serial push's 1000:
// two batches are in flight at once (push.go), and with 500 the agent's
// peak RSS stays where the serial push had it (about 50 MiB in `syncd
// bench`, against 65 with 1000) at the same rate, the round trips
// overlapping.
const (
	DefaultInterval   = 30 * time.Second
	DefaultPoll       = time.Second
	DefaultPushBatch  = 500
	DefaultPullChunk  = 500
	DefaultBackoffMin = time.Second
	DefaultBackoffMax = 2 * time.Minute
)

// heartbeat is how often a running agent says so in the sync state.
const heartbeat = 20 * time.Second

// Config configures an Agent. Zero values mean the defaults.
type Config struct {
	Interval  time.Duration // sync at least this often (DefaultInterval)
	Poll      time.Duration // how often to look at the store's Watermark (DefaultPoll)
	PushBatch int           // changes per push (DefaultPushBatch, at most syncproto.MaxPushChanges)
	PullLimit int           // changes per pull page (syncproto.DefaultPullLimit)
	PullChunk int           // pulled entries per ApplyPull transaction (DefaultPullChunk)
	// BackoffMin and BackoffMax bound the wait after a failed sync: it
	// doubles with each failure in a row, with jitter, and respects a
	// server's Retry-After up to BackoffMax.
	BackoffMin, BackoffMax time.Duration
	// Client holds the HTTP client's options (timeout, retries, an
	// http.Client for tests); server URL, token and CA come from the
	// enrolment and are ignored here.
	Client ClientConfig
	Now    func() time.Time // time.Now
	Log    *slog.Logger     // nil: no log
	// NoPull skips the pull (a push-only sync: `syncd agent sync
	// --no-pull`, used to measure push alone).
	NoPull bool
}

// Agent syncs one field store with its server. Run it with Run; SyncOnce
// syncs once. It is safe for concurrent use.
type Agent struct {
	cfg     Config
	backoff backoff.Policy // after a failed sync: Retry-After is its floor
	local   Local
	log     *slog.Logger
	now     func() time.Time
	trigger chan struct{}

	syncMu sync.Mutex // one sync at a time
	// compactMore: the last compaction left pulled entries to look at
	// (guarded by syncMu).
	compactMore bool

	mu        sync.Mutex // guards client and clientKey
	client    *Client
	clientKey [3]string // server URL, token, CA it was made for
}

// New returns an agent for the field store local.
func New(cfg Config, local Local) (*Agent, error) {
	if local == nil {
		return nil, errors.New("agent: no field store")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.PushBatch <= 0 {
		cfg.PushBatch = DefaultPushBatch
	}
	cfg.PushBatch = min(cfg.PushBatch, syncproto.MaxPushChanges)
	if cfg.PullLimit <= 0 {
		cfg.PullLimit = syncproto.MaxPullLimit
	}
	cfg.PullLimit = min(cfg.PullLimit, syncproto.MaxPullLimit)
	if cfg.PullChunk <= 0 {
		cfg.PullChunk = DefaultPullChunk
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = DefaultBackoffMin
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = DefaultBackoffMax
	}
	cfg.BackoffMax = max(cfg.BackoffMax, cfg.BackoffMin)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Agent{cfg: cfg, local: local, log: log, now: cfg.Now, trigger: make(chan struct{}, 1),
		// The upper half of each wait is random, so that a town's laptops
		// do not all come back at once when the server does.
		backoff: backoff.Policy{Min: cfg.BackoffMin, Max: cfg.BackoffMax, Jitter: true}}, nil
}

// Trigger asks for a sync now; it does not wait for it. A running Run
// syncs at once (after the sync under way, if one is), even while it
// backs off.
func (a *Agent) Trigger() {
	select {
	case a.trigger <- struct{}{}:
	default: // one is asked for already
	}
}

// Close closes the idle connections of the agent's client.
func (a *Agent) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil {
		a.client.Close()
	}
}

// clientFor returns the client for an enrolment, made anew when the
// enrolment changed (a laptop enrolled again after it was revoked).
func (a *Agent) clientFor(e store.Enrolment) (*Client, error) {
	key := [3]string{e.ServerURL, e.Token, e.CAPEM}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.client != nil && a.clientKey == key {
		return a.client, nil
	}
	cc := a.cfg.Client
	cc.BaseURL, cc.Token, cc.CAPEM = e.ServerURL, e.Token, e.CAPEM
	if cc.Log == nil {
		cc.Log = a.log
	}
	c, err := NewClient(cc)
	if err != nil {
		return nil, err
	}
	if a.client != nil {
		a.client.Close()
	}
	a.client, a.clientKey = c, key
	return c, nil
}

// setState records values for the app. A failure to do so is logged, not
// returned: it must not stop a sync.
func (a *Agent) setState(ctx context.Context, kv map[string]string) {
	// Every write is a sign of life: a long sync writes progress, not
	// heartbeats.
	kv[store.StateAgentSeen] = fmtTime(a.now())
	if err := a.local.SetSyncState(ctx, kv); err != nil && ctx.Err() == nil {
		a.log.Warn("agent: sync state", "err", err)
	}
}

// What the loop is waiting for.
type loopState int

const (
	stIdle        loopState = iota // synced: next at Interval, or on a new watermark
	stBackoff                      // failed with an answer: sync again when the backoff ends
	stOffline                      // failed without an answer: probe health on the backoff schedule
	stRevoked                      // 401: wait for a new enrolment
	stNotEnrolled                  // no enrolment yet: wait for one
)

// Run syncs whenever there is something to sync, until ctx is done: at
// start; when the store's Watermark changes (a new change, or the app's
// "sync now"); every Interval; on Trigger; and, while offline, as soon as
// the server answers a health probe on the backoff schedule. After a
// failure it backs off (exponential, jitter); a watermark change does not
// cut a backoff short unless the agent is offline, where it costs one
// probe. A revoked device (401) stops syncing until it is enrolled again.
// Run returns ctx's error.
func (a *Agent) Run(ctx context.Context) error {
	defer a.Close()
	poll := time.NewTicker(a.cfg.Poll)
	defer poll.Stop()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()

	var (
		state     = stIdle
		failures  int
		enrolment store.Enrolment // of the last attempt
		badToken  string          // the token the server refused
		watermark string          // at the start of the last sync
		lastProbe time.Time
	)
	fail := func(err error) {
		failures++
		state = stBackoff
		if IsNetwork(err) {
			state = stOffline
		}
		d := a.backoff.AtLeast(failures, retryAfter(err))
		timer.Reset(d)
		a.setState(ctx, map[string]string{store.StatePhase: PhaseBackoff,
			store.StateNextAttempt: fmtTime(a.now().Add(d))})
	}
	doSync := func() {
		e, err := a.local.Enrolment(ctx)
		switch {
		case errors.Is(err, store.ErrNotEnrolled):
			timer.Stop()
			if state != stNotEnrolled {
				a.log.Info("agent: not enrolled yet, waiting for an enrolment")
				a.setState(ctx, map[string]string{store.StatePhase: PhaseIdle, store.StateOnline: "false",
					store.StateLastError: Describe(err), store.StateNextAttempt: ""})
			}
			state = stNotEnrolled
			return
		case err != nil:
			if ctx.Err() == nil {
				a.log.Warn("agent: enrolment", "err", err)
				fail(local("enrolment", err))
			}
			return
		case state == stRevoked && e.Token == badToken:
			return
		}
		enrolment = e
		if wm, err := a.local.Watermark(ctx); err == nil {
			watermark = wm
		}
		_, err = a.syncOnce(ctx, e)
		switch {
		case ctx.Err() != nil:
		case err == nil:
			failures, state = 0, stIdle
			timer.Reset(a.cfg.Interval)
			a.setState(ctx, map[string]string{store.StateNextAttempt: fmtTime(a.now().Add(a.cfg.Interval))})
		case IsUnauthorized(err):
			a.log.Warn("agent: the server refused this device's token; syncing stops until it is enrolled again")
			state, badToken, failures = stRevoked, e.Token, 0
			timer.Stop()
		default:
			fail(err)
		}
	}
	// probe asks the server whether it is back; true: sync now.
	probe := func() bool {
		lastProbe = time.Now()
		c, err := a.clientFor(enrolment)
		if err == nil {
			err = c.probe(ctx)
		}
		if err == nil || ctx.Err() != nil {
			return err == nil
		}
		a.log.Debug("agent: server still unreachable", "err", err)
		fail(err)
		return false
	}

	// The heartbeat tells the app that the agent runs, also while it
	// waits (offline, not enrolled) and writes nothing else.
	var lastBeat time.Time
	beat := func() {
		if now := a.now(); now.Sub(lastBeat) >= heartbeat || now.Before(lastBeat) {
			lastBeat = now
			a.setState(ctx, map[string]string{})
		}
	}
	beat()
	doSync()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-a.trigger:
			doSync()
		case <-timer.C:
			if state != stOffline || probe() {
				doSync()
			}
		case <-poll.C:
			beat()
			switch state {
			case stRevoked, stNotEnrolled:
				e, err := a.local.Enrolment(ctx)
				if err == nil && (state == stNotEnrolled || e.Token != badToken) {
					doSync()
				}
				continue
			}
			wm, err := a.local.Watermark(ctx)
			if err != nil {
				if ctx.Err() == nil {
					a.log.Debug("agent: watermark", "err", err)
				}
				continue
			}
			if wm == watermark {
				continue
			}
			switch state {
			case stIdle:
				doSync()
			case stOffline:
				watermark = wm
				if time.Since(lastProbe) >= a.cfg.BackoffMin && probe() {
					doSync()
				}
			}
		}
	}
}

// This file is the supervisor: it keeps a pad open across it being unplugged
// and plugged in again, as the app needs it. Pad is one session with the
// device; Watcher opens a new Pad whenever the old one went away.

package sigpad

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/internal/backoff"
)

// WatchKind says what a WatchEvent reports.
type WatchKind uint8

const (
	// WatchConnected: the pad was opened for the first time; Caps and Baud
	// are set.
	WatchConnected WatchKind = iota + 1
	// WatchSample carries a pen sample.
	WatchSample
	// WatchDisconnected: the pad went away (or failed); Err wraps
	// hardware.ErrDisconnected. The watcher keeps trying to open it again.
	WatchDisconnected
	// WatchReconnected: the pad is back after WatchDisconnected; Caps and
	// Baud are set (they may differ: another pad may have been plugged in).
	WatchReconnected
	// WatchOpenFailed: an attempt to open the pad failed; Err says why
	// (it wraps hardware.ErrDisconnected when there is no device at the
	// path, ErrNoReply when the device did not answer). It is reported
	// once per run of failed attempts, and not at all while a pad that was
	// just reported disconnected is still absent. The watcher keeps trying.
	WatchOpenFailed
)

func (k WatchKind) String() string {
	switch k {
	case WatchConnected:
		return "connected"
	case WatchSample:
		return "sample"
	case WatchDisconnected:
		return "disconnected"
	case WatchReconnected:
		return "reconnected"
	case WatchOpenFailed:
		return "open failed"
	}
	return fmt.Sprintf("WatchKind(%d)", uint8(k))
}

// WatchEvent is one thing that happened at a watched pad.
type WatchEvent struct {
	Kind   WatchKind
	Sample Sample // WatchSample
	Caps   Query  // WatchConnected, WatchReconnected
	Baud   int    // WatchConnected, WatchReconnected
	Err    error  // WatchDisconnected, WatchOpenFailed
}

// Watcher keeps the pad at one path open until Close or until the context
// given to Watch ends. It owns one goroutine, which owns the current Pad.
type Watcher struct {
	open  hardware.Opener
	path  string
	cfg   Config
	retry backoff.Policy // between attempts to open the pad

	events chan WatchEvent
	cancel context.CancelFunc
	done   chan struct{}
}

// Watch opens the pad at path with Open and forwards its samples. When the
// pad goes away it reports WatchDisconnected and calls Open again, pausing
// between attempts from retryMin, doubling up to retryMax, until the pad is
// back (WatchReconnected). A pad that is not there yet is waited for the same
// way. Zero retry bounds mean 100 ms and 2 s.
//
// Give path a name that stays the same across a replug, such as a
// /dev/serial/by-id link.
func Watch(ctx context.Context, open hardware.Opener, path string, cfg Config, retryMin, retryMax time.Duration) *Watcher {
	if retryMin <= 0 {
		retryMin = 100 * time.Millisecond
	}
	if retryMax < retryMin {
		retryMax = max(2*time.Second, retryMin)
	}
	cfg = cfg.withDefaults()
	ctx, cancel := context.WithCancel(ctx)
	w := &Watcher{
		open: open, path: path, cfg: cfg, retry: backoff.Policy{Min: retryMin, Max: retryMax},
		events: make(chan WatchEvent, cfg.Buffer),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go w.run(ctx)
	return w
}

// Events delivers what happens at the pad. It is closed once the watcher has
// stopped. Read it promptly: while its buffer is full, the pad's bytes wait
// in the serial port.
func (w *Watcher) Events() <-chan WatchEvent { return w.events }

// Done is closed when the watcher has stopped and the port is closed.
func (w *Watcher) Done() <-chan struct{} { return w.done }

// Close stops the watcher: the current pad is stopped and its port closed,
// a pending reopen is abandoned. It waits until that is done and is safe to
// call more than once.
func (w *Watcher) Close() {
	w.cancel()
	<-w.done
}

// run is the watcher's goroutine: open, forward, and on disconnect report
// and open again. It ends when ctx does.
func (w *Watcher) run(ctx context.Context) {
	defer close(w.done)
	defer close(w.events)
	kind, lost := WatchConnected, false
	for {
		pad := w.reopen(ctx, lost)
		if pad == nil {
			return
		}
		w.emit(ctx, WatchEvent{Kind: kind, Caps: pad.Caps(), Baud: pad.Baud()})
		err := w.forward(ctx, pad)
		pad.Close()
		if ctx.Err() != nil {
			return
		}
		w.emit(ctx, WatchEvent{Kind: WatchDisconnected, Err: err})
		kind, lost = WatchReconnected, true
	}
}

// reopen calls Open until it succeeds, pausing before each attempt with
// exponential backoff: at once the first time, after retryMin when the pad
// was just lost (that counts as the first failure). lost also says the pad
// was just reported disconnected, so that its absence need not be
// reported again. It returns nil when ctx ends first.
func (w *Watcher) reopen(ctx context.Context, lost bool) *Pad {
	failures := 0
	if lost {
		failures = 1
	}
	t := time.NewTimer(w.retry.Delay(failures))
	defer t.Stop()
	reported := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		pad, err := Open(ctx, w.open, w.path, w.cfg)
		if err == nil {
			return pad
		}
		if ctx.Err() != nil {
			return nil
		}
		if !reported && !(lost && errors.Is(err, hardware.ErrDisconnected)) {
			reported = true
			w.emit(ctx, WatchEvent{Kind: WatchOpenFailed, Err: err})
		}
		failures++
		t.Reset(w.retry.Delay(failures))
	}
}

// forward passes the pad's samples on until its read loop ends, and returns
// why it ended (nil when ctx ended).
func (w *Watcher) forward(ctx context.Context, pad *Pad) error {
	for ev := range pad.Events() {
		switch ev.Kind {
		case EventSample:
			if !w.emit(ctx, WatchEvent{Kind: WatchSample, Sample: ev.Sample}) {
				return nil
			}
		case EventDisconnected, EventFailed:
			if !errors.Is(ev.Err, hardware.ErrDisconnected) {
				return fmt.Errorf("%w: %w", hardware.ErrDisconnected, ev.Err)
			}
			return ev.Err
		}
	}
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("sigpad: pad on %s: read loop ended: %w", w.path, hardware.ErrDisconnected)
}

// emit delivers ev unless ctx ends first, and reports whether it did.
func (w *Watcher) emit(ctx context.Context, ev WatchEvent) bool {
	select {
	case w.events <- ev:
		return true
	case <-ctx.Done():
		return false
	}
}

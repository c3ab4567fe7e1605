// Supervisor tests: the real driver (hardware.OpenSerial) watches a pad
// simulator behind a stable symlink, across unplug and replug.
package sigpad_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sim"
	"github.com/buergerkoffer/kit/hardware/sim/padsim"
)

// watchWait bounds every wait for a watcher event.
const watchWait = 5 * time.Second

// fastStart keeps the start-up short; the simulator answers at once.
var fastStart = sigpad.Config{StopWait: 20 * time.Millisecond, QueryTimeout: 300 * time.Millisecond}

// plug starts a streaming pad simulator and points link at it, replacing
// what link pointed at in one step, as udev does with a by-id link.
func plug(t *testing.T, link string, cfg padsim.Config) *padsim.Sim {
	t.Helper()
	s, err := padsim.Start(context.Background(), cfg)
	if errors.Is(err, sim.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tmp := link + ".new"
	if err := os.Symlink(s.Path(), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	return s
}

// nextWatch returns the next event of kind, skipping samples; any other
// event, the channel closing or a timeout fails the test.
func nextWatch(t *testing.T, w *sigpad.Watcher, kind sigpad.WatchKind) sigpad.WatchEvent {
	t.Helper()
	timeout := time.After(watchWait)
	for {
		select {
		case ev, ok := <-w.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %v", kind)
			}
			if ev.Kind == kind {
				return ev
			}
			if ev.Kind != sigpad.WatchSample {
				t.Fatalf("event %v (%v) while waiting for %v", ev.Kind, ev.Err, kind)
			}
		case <-timeout:
			t.Fatalf("no %v event within %v", kind, watchWait)
		}
	}
}

// samples waits for n samples in a row.
func samples(t *testing.T, w *sigpad.Watcher, n int) {
	t.Helper()
	for range n {
		nextWatch(t, w, sigpad.WatchSample)
	}
}

// waitClosed drains events until the channel closes.
func waitClosed(t *testing.T, w *sigpad.Watcher) {
	t.Helper()
	timeout := time.After(watchWait)
	for {
		select {
		case _, ok := <-w.Events():
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("events not closed")
		}
	}
}

// The pad is unplugged while streaming and plugged in again behind the same
// link: both are reported, samples flow again, and Close leaves nothing.
func TestWatch_UnplugReplug(t *testing.T) {
	base := runtime.NumGoroutine()
	link := filepath.Join(t.TempDir(), "sigpad")
	simCfg := padsim.Config{Interval: time.Millisecond, Loop: true, Pause: 10 * time.Millisecond}
	s1 := plug(t, link, simCfg)

	w := sigpad.Watch(context.Background(), hardware.OpenSerial, link, fastStart, 10*time.Millisecond, 50*time.Millisecond)
	t.Cleanup(w.Close)
	ev := nextWatch(t, w, sigpad.WatchConnected)
	if ev.Caps != padsim.DefaultCaps || ev.Baud != 38400 {
		t.Errorf("connected with caps %+v at %d baud, want %+v at 38400", ev.Caps, ev.Baud, padsim.DefaultCaps)
	}
	samples(t, w, 20)

	if err := s1.Close(); err != nil { // unplug
		t.Fatal(err)
	}
	ev = nextWatch(t, w, sigpad.WatchDisconnected)
	if !errors.Is(ev.Err, hardware.ErrDisconnected) {
		t.Errorf("disconnect error %v, want ErrDisconnected", ev.Err)
	}

	s2 := plug(t, link, padsim.Config{Caps: sigpad.Query{MaxX: 9000, MaxY: 6000, MaxPressure: 511}, Baud: 19200,
		Interval: time.Millisecond, Loop: true, Pause: 10 * time.Millisecond})
	ev = nextWatch(t, w, sigpad.WatchReconnected)
	if ev.Caps != s2.Caps() || ev.Baud != 19200 {
		t.Errorf("reconnected with caps %+v at %d baud, want %+v at 19200", ev.Caps, ev.Baud, s2.Caps())
	}
	samples(t, w, 20)

	w.Close()
	waitClosed(t, w)
	w.Close() // twice is fine
	s2.Close()
	waitGoroutines(t, base)
}

// A pad that is not there at first is reported once and picked up when it
// appears.
func TestWatch_WaitsForDevice(t *testing.T) {
	link := filepath.Join(t.TempDir(), "sigpad")
	w := sigpad.Watch(context.Background(), hardware.OpenSerial, link, fastStart, 10*time.Millisecond, 50*time.Millisecond)
	t.Cleanup(w.Close)
	ev := nextWatch(t, w, sigpad.WatchOpenFailed)
	if !errors.Is(ev.Err, hardware.ErrDisconnected) {
		t.Errorf("open error %v, want ErrDisconnected", ev.Err)
	}
	plug(t, link, padsim.Config{Interval: time.Millisecond, Loop: true, Pause: 10 * time.Millisecond})
	nextWatch(t, w, sigpad.WatchConnected)
	samples(t, w, 5)
}

// Close and a cancelled context stop a watcher that is waiting for an absent
// pad at once, even with nobody reading its events, and leave no goroutine.
func TestWatch_StopsWhileAbsent(t *testing.T) {
	base := runtime.NumGoroutine()
	link := filepath.Join(t.TempDir(), "sigpad")

	w := sigpad.Watch(context.Background(), hardware.OpenSerial, link, fastStart, time.Hour, time.Hour)
	nextWatch(t, w, sigpad.WatchOpenFailed)
	start := time.Now()
	w.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v", took)
	}
	waitClosed(t, w)

	ctx, cancel := context.WithCancel(context.Background())
	w = sigpad.Watch(ctx, hardware.OpenSerial, link, sigpad.Config{Buffer: 1}, time.Hour, time.Hour)
	// Not read: the open failure fills the buffer of one.
	for end := time.Now().Add(watchWait); len(w.Events()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("open failure not reported")
		}
	}
	cancel()
	select {
	case <-w.Done():
	case <-time.After(time.Second):
		t.Fatal("watcher still running after the context ended")
	}
	waitClosed(t, w)
	w.Close()
	waitGoroutines(t, base)
}

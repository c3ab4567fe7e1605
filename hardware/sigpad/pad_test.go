// Driver tests: the real driver (hardware.OpenSerial on the slave side of a
// pseudo-terminal) against the pad simulator speaking ISDv4 on the master.
package sigpad_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sim"
	"github.com/buergerkoffer/kit/hardware/sim/padsim"
)

func startSim(t *testing.T, cfg padsim.Config) *padsim.Sim {
	t.Helper()
	s, err := padsim.Start(context.Background(), cfg)
	if errors.Is(err, sim.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPad(t *testing.T, path string, cfg sigpad.Config) *sigpad.Pad {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	pad, err := sigpad.Open(ctx, hardware.OpenSerial, path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pad.Close() })
	return pad
}

// collect reads n samples from the pad (or fails after a while).
func collect(t *testing.T, pad *sigpad.Pad, n int) []sigpad.Sample {
	t.Helper()
	var got []sigpad.Sample
	timeout := time.After(10 * time.Second)
	for len(got) < n {
		select {
		case ev, ok := <-pad.Events():
			if !ok {
				t.Fatalf("events closed after %d of %d samples", len(got), n)
			}
			if ev.Kind != sigpad.EventSample {
				t.Fatalf("event %v (%v) after %d of %d samples", ev.Kind, ev.Err, len(got), n)
			}
			got = append(got, ev.Sample)
		case <-timeout:
			t.Fatalf("got %d of %d samples", len(got), n)
		}
	}
	return got
}

// checkSamples asserts that the samples are exactly the pens, with their raw
// packets, in order, and with times that never go back.
func checkSamples(t *testing.T, got []sigpad.Sample, pens []sigpad.Pen) {
	t.Helper()
	for i, s := range got {
		if s.Pen != pens[i] {
			t.Fatalf("sample %d = %+v, want %+v", i, s.Pen, pens[i])
		}
		if raw := pens[i].Encode(); s.Raw != raw {
			t.Fatalf("sample %d raw % x, want % x", i, s.Raw, raw)
		}
		if i > 0 && s.Time.Before(got[i-1].Time) {
			t.Fatalf("sample %d at %v is before sample %d at %v", i, s.Time, i-1, got[i-1].Time)
		}
	}
}

func shortStroke() []sigpad.Pen {
	var pens []sigpad.Pen
	for i := range 40 {
		pens = append(pens, sigpad.Pen{X: 3000 + 37*i, Y: 4000 + 11*i, Pressure: 200 + 5*i, Proximity: true, Tip: i > 2 && i < 37})
	}
	return pens
}

// Full start-up at 38400: a pad that streams hover packets from power-up is
// stopped and flushed, queried, started; its samples arrive exactly.
func TestPad_StartUp(t *testing.T) {
	caps := sigpad.Query{MaxX: 20000, MaxY: 12000, MaxPressure: 1023, Firmware: 0x123}
	pens := shortStroke()
	s := startSim(t, padsim.Config{Caps: caps, Trace: padsim.PenTrace(pens), Interval: time.Millisecond, PowerOnSampling: true})
	pad := openPad(t, s.Path(), sigpad.Config{})

	if got := pad.Caps(); got != caps {
		t.Errorf("Caps = %+v, want %+v", got, caps)
	}
	if got := pad.Baud(); got != 38400 {
		t.Errorf("Baud = %d, want 38400", got)
	}
	waitReceived(t, s, "0*1")
	checkSamples(t, collect(t, pad, len(pens)), pens)
}

// A pad that streamed into a port nobody read until its buffer was full
// (it drops what does not fit) still starts when a driver comes.
func TestPad_StartsAfterBacklog(t *testing.T) {
	pens := shortStroke()
	s := startSim(t, padsim.Config{Trace: padsim.PenTrace(pens), Interval: 50 * time.Microsecond, PowerOnSampling: true})
	for end := time.Now().Add(8 * time.Second); s.Dropped() == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatal("the line never filled up")
		}
	}
	pad := openPad(t, s.Path(), sigpad.Config{})
	checkSamples(t, collect(t, pad, len(pens)), pens)
}

// A pad that runs at 19200: the query at 38400 gets only garbage, the driver
// reopens at 19200 and the pad starts.
func TestPad_FallsBackTo19200(t *testing.T) {
	pens := shortStroke()
	s := startSim(t, padsim.Config{Baud: 19200, Trace: padsim.PenTrace(pens), Interval: time.Millisecond})
	pad := openPad(t, s.Path(), sigpad.Config{QueryTimeout: 300 * time.Millisecond})

	if got := pad.Baud(); got != 19200 {
		t.Fatalf("Baud = %d, want 19200", got)
	}
	if got := pad.Caps(); got != padsim.DefaultCaps {
		t.Errorf("Caps = %+v, want %+v", got, padsim.DefaultCaps)
	}
	// Stop and query at 38400 (garbled), then stop, query, start at 19200.
	waitReceived(t, s, "0*0*1")
	checkSamples(t, collect(t, pad, len(pens)), pens)
}

// Line noise between packets costs no sample and changes none.
func TestPad_StrokeWithNoise(t *testing.T) {
	pens := padsim.Mustermann(padsim.DefaultCaps)[:300]
	s := startSim(t, padsim.Config{Trace: padsim.PenTrace(pens), Interval: time.Millisecond, NoiseEvery: 2, Seed: 7})
	pad := openPad(t, s.Path(), sigpad.Config{})

	checkSamples(t, collect(t, pad, len(pens)), pens)
	if st := pad.Stats(); st.Stray+st.Dropped == 0 {
		t.Errorf("the driver saw no noise: %+v", st)
	}
}

// Unplugging the pad is reported as the last event, then Events closes.
func TestPad_DisconnectReported(t *testing.T) {
	s := startSim(t, padsim.Config{Trace: padsim.PenTrace(shortStroke()), Interval: time.Millisecond})
	pad := openPad(t, s.Path(), sigpad.Config{})
	collect(t, pad, 5)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(5 * time.Second)
	var last sigpad.Event
	for {
		select {
		case ev, ok := <-pad.Events():
			if !ok {
				if last.Kind != sigpad.EventDisconnected || !errors.Is(last.Err, hardware.ErrDisconnected) {
					t.Fatalf("last event %v (%v), want disconnected wrapping hardware.ErrDisconnected", last.Kind, last.Err)
				}
				select {
				case <-pad.Done():
				case <-time.After(time.Second):
					t.Fatal("Done not closed after Events")
				}
				if err := pad.Close(); err != nil {
					t.Errorf("Close after disconnect: %v", err)
				}
				return
			}
			last = ev
		case <-timeout:
			t.Fatal("no disconnect reported")
		}
	}
}

// Close stops the pad ('0'), ends the read loop and leaves no goroutine.
func TestPad_CloseStopsPadAndGoroutine(t *testing.T) {
	s := startSim(t, padsim.Config{Interval: time.Millisecond, Loop: true})
	before := runtime.NumGoroutine()
	pad, err := sigpad.Open(context.Background(), hardware.OpenSerial, s.Path(), sigpad.Config{})
	if err != nil {
		t.Fatal(err)
	}
	collect(t, pad, 10)
	if err := pad.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := pad.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	for range pad.Events() {
		// drain what was buffered; the channel must be closed
	}
	waitReceived(t, s, "0*10")
	if s.Streaming() {
		t.Error("pad still streaming after Close")
	}
	waitGoroutines(t, before)
}

// Cancelling Open's context ends the read loop like Close.
func TestPad_ContextEndsReadLoop(t *testing.T) {
	s := startSim(t, padsim.Config{Interval: time.Millisecond, Loop: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pad, err := sigpad.Open(ctx, hardware.OpenSerial, s.Path(), sigpad.Config{})
	if err != nil {
		t.Fatal(err)
	}
	collect(t, pad, 3)
	cancel()
	select {
	case <-pad.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("read loop still running after the context ended")
	}
	if err := pad.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	waitReceived(t, s, "0*10")
}

// A port where nothing answers: ErrNoReply after trying both rates.
func TestPad_NoReply(t *testing.T) {
	p, err := sim.OpenPTY()
	if errors.Is(err, sim.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	before := runtime.NumGoroutine()
	_, err = sigpad.Open(context.Background(), hardware.OpenSerial, p.SlavePath,
		sigpad.Config{StopWait: 10 * time.Millisecond, QueryTimeout: 150 * time.Millisecond})
	if !errors.Is(err, sigpad.ErrNoReply) {
		t.Fatalf("Open = %v, want ErrNoReply", err)
	}
	waitGoroutines(t, before)
}

// waitReceived waits until the simulated pad has received exactly want
// (it reads the driver's commands asynchronously).
func waitReceived(t *testing.T, s *padsim.Sim, want string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for {
		got := s.Received()
		if bytes.Equal(got, []byte(want)) {
			return
		}
		if time.Now().After(deadline) || len(got) > len(want) {
			t.Fatalf("pad received %q, want %q", got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

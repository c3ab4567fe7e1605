// Tests for the driver: the real Reader on hardware.OpenSerial (tarm/serial)
// reads the simulated reader on a real pseudo-terminal, in every framing,
// through line noise and split reads, and across the reader being unplugged
// and plugged in again.
package idreader_test

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/idreader"
	"github.com/buergerkoffer/kit/hardware/sim"
	"github.com/buergerkoffer/kit/hardware/sim/mrzsim"
)

// wait bounds every wait for an event.
const wait = 3 * time.Second

func startSim(t *testing.T, cfg mrzsim.Config) *mrzsim.Simulator {
	t.Helper()
	s, err := mrzsim.Start(context.Background(), cfg)
	if errors.Is(err, sim.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func startReader(t *testing.T, cfg idreader.Config) *idreader.Reader {
	t.Helper()
	if cfg.RetryMin == 0 {
		cfg.RetryMin, cfg.RetryMax = 10*time.Millisecond, 50*time.Millisecond
	}
	r, err := idreader.Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// next returns the next event of one of the given kinds, failing the test
// if none comes in time. Events of other kinds are collected in skipped.
func next(t *testing.T, r *idreader.Reader, skipped *[]idreader.Event, kinds ...idreader.EventKind) idreader.Event {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case ev, ok := <-r.Events():
			if !ok {
				t.Fatalf("events closed while waiting for %v", kinds)
			}
			for _, k := range kinds {
				if ev.Kind == k {
					return ev
				}
			}
			if skipped != nil {
				*skipped = append(*skipped, ev)
			}
		case <-timeout:
			t.Fatalf("no %v event within %v", kinds, wait)
		}
	}
}

// Every sample arrives, in order and parsed, in every framing, read by a
// driver set to that framing and by one set to accept any.
func TestReader_EveryFraming(t *testing.T) {
	framings := map[mrzsim.Framing]idreader.Framing{
		mrzsim.PlainCR:   idreader.FramingPlain,
		mrzsim.PlainCRLF: idreader.FramingPlain,
		mrzsim.STX:       idreader.FramingSTX,
		mrzsim.RTE:       idreader.FramingRTE,
	}
	for simFraming, framing := range framings {
		for _, drv := range []idreader.Framing{framing, idreader.FramingAuto} {
			t.Run(string(simFraming)+"/"+drv.String(), func(t *testing.T) {
				s := startSim(t, mrzsim.Config{Framing: simFraming})
				r := startReader(t, idreader.Config{Path: s.Path(), Framing: drv})
				var other []idreader.Event
				for _, want := range mrzsim.Samples() {
					if err := s.Send(); err != nil {
						t.Fatal(err)
					}
					ev := next(t, r, &other, idreader.EventDocument)
					if !reflect.DeepEqual(ev.Document.Lines, want) {
						t.Fatalf("got %q, want %q", ev.Document.Lines, want)
					}
					if !ev.Result.Valid {
						t.Errorf("%s parsed with errors %v", ev.Result.Format, ev.Result.Errors)
					}
				}
				if len(other) != 0 {
					t.Errorf("unexpected events %v", other)
				}
			})
		}
	}
}

// Line noise before each document and documents arriving a few bytes at a
// time: every document comes through, the noise is reported.
func TestReader_GarbageAndSplitReads(t *testing.T) {
	for _, f := range mrzsim.Framings {
		t.Run(string(f), func(t *testing.T) {
			s := startSim(t, mrzsim.Config{Framing: f, Garbage: []byte("\x00\xff\x80#"), Chunk: 7, ChunkPause: 2 * time.Millisecond})
			r := startReader(t, idreader.Config{Path: s.Path()})
			docs := mrzsim.Samples()[:3]
			var frameErrs []idreader.Event
			for _, want := range docs {
				if err := s.Send(); err != nil {
					t.Fatal(err)
				}
				ev := next(t, r, &frameErrs, idreader.EventDocument)
				if !reflect.DeepEqual(ev.Document.Lines, want) {
					t.Fatalf("got %q, want %q", ev.Document.Lines, want)
				}
			}
			if len(frameErrs) == 0 {
				t.Fatal("line noise not reported")
			}
			for _, ev := range frameErrs {
				if ev.Kind != idreader.EventFrameError || !errors.Is(ev.Err, idreader.ErrFrame) {
					t.Errorf("event %v %v, want frame errors only", ev.Kind, ev.Err)
				}
			}
		})
	}
}

// The reader is unplugged in the middle of a document and plugged in again:
// the driver reports both, finds it again behind its stable link, and the
// half document is not glued to the next one.
func TestReader_UnplugReplug(t *testing.T) {
	s := startSim(t, mrzsim.Config{Framing: mrzsim.PlainCR, LinkDir: t.TempDir()})
	r := startReader(t, idreader.Config{Path: s.Path()})

	if err := s.Send(); err != nil {
		t.Fatal(err)
	}
	next(t, r, nil, idreader.EventDocument)

	half := mrzsim.Encode(mrzsim.PlainCR, mrzsim.Samples()[1])[:40]
	if err := s.SendRaw(half); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // let the driver read the half document
	if err := s.Unplug(); err != nil {
		t.Fatal(err)
	}
	ev := next(t, r, nil, idreader.EventDisconnected)
	if !errors.Is(ev.Err, hardware.ErrDisconnected) {
		t.Errorf("disconnect error %v, want ErrDisconnected", ev.Err)
	}

	if err := s.Replug(); err != nil {
		t.Fatal(err)
	}
	next(t, r, nil, idreader.EventReconnected)
	want := mrzsim.Samples()[2]
	if err := s.SendDocument(want); err != nil {
		t.Fatal(err)
	}
	var between []idreader.Event
	ev = next(t, r, &between, idreader.EventDocument)
	if !reflect.DeepEqual(ev.Document.Lines, want) {
		t.Errorf("after replug got %q, want %q", ev.Document.Lines, want)
	}
	if len(between) != 0 {
		t.Errorf("events before the document: %v", between)
	}
}

// With WaitForDevice the driver starts before the reader is plugged in.
func TestReader_WaitForDevice(t *testing.T) {
	dir := t.TempDir()
	r := startReader(t, idreader.Config{Path: filepath.Join(dir, mrzsim.LinkName), WaitForDevice: true})
	next(t, r, nil, idreader.EventDisconnected)
	s := startSim(t, mrzsim.Config{LinkDir: dir})
	next(t, r, nil, idreader.EventReconnected)
	if err := s.Send(); err != nil {
		t.Fatal(err)
	}
	next(t, r, nil, idreader.EventDocument)
}

func TestStart_NoDevice(t *testing.T) {
	_, err := idreader.Start(context.Background(), idreader.Config{Path: filepath.Join(t.TempDir(), "ttyUSB0")})
	if !errors.Is(err, hardware.ErrDisconnected) {
		t.Errorf("Start without device: %v, want ErrDisconnected", err)
	}
}

// Close and a cancelled context both stop the driver: the events channel
// closes and no goroutine is left behind, also while it waits to reopen.
func TestReader_StopsWithoutLeaks(t *testing.T) {
	base := runtime.NumGoroutine()
	s, err := mrzsim.Start(context.Background(), mrzsim.Config{LinkDir: t.TempDir()})
	if errors.Is(err, sim.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}

	// Stopped by Close while reading.
	r, err := idreader.Start(context.Background(), idreader.Config{Path: s.Path()})
	if err != nil {
		t.Fatal(err)
	}
	s.Send()
	next(t, r, nil, idreader.EventDocument)
	start := time.Now()
	r.Close()
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v", took)
	}
	if _, ok := <-r.Events(); ok {
		t.Error("events still open after Close")
	}

	// Stopped by its context while waiting to reopen an unplugged reader,
	// with no one reading its events.
	ctx, cancel := context.WithCancel(context.Background())
	r, err = idreader.Start(ctx, idreader.Config{Path: s.Path(), RetryMin: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	s.Unplug()
	time.Sleep(300 * time.Millisecond) // let it notice and start waiting
	cancel()
	select {
	case <-drain(r.Events()):
	case <-time.After(wait):
		t.Fatal("events not closed after cancel")
	}
	r.Close()
	s.Close()

	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drain reads ch until it closes and then closes the returned channel.
func drain(ch <-chan idreader.Event) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range ch {
		}
	}()
	return done
}

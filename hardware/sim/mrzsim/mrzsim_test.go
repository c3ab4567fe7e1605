// Tests for the simulated reader: its bytes are what the driver's decoders
// understand, its samples are valid MRZs, and it behaves like a device on a
// real pseudo-terminal (sending, unplugging, replugging, never hanging).
package mrzsim_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/idreader"
	"github.com/buergerkoffer/kit/hardware/sim"
	"github.com/buergerkoffer/kit/hardware/sim/mrzsim"
	"github.com/buergerkoffer/kit/internal/mrz"
)

// The driver's decoder reads back every sample in every framing.
func TestEncode_DecodesInDriver(t *testing.T) {
	for _, f := range mrzsim.Framings {
		for _, doc := range mrzsim.Samples() {
			d := idreader.NewDecoder(idreader.FramingAuto)
			docs, errs := d.Feed(mrzsim.Encode(f, doc))
			more, errs2 := d.Flush()
			docs = append(docs, more...)
			if len(docs) != 1 || !reflect.DeepEqual(docs[0].Lines, doc) || len(errs)+len(errs2) != 0 {
				t.Errorf("%s: decoded %v, errors %v %v", f, docs, errs, errs2)
			}
		}
	}
}

// The RTE block follows the documented layout: LEN counts 'O' through ETX,
// BCC is the XOR of everything after SOH through ETX.
func TestEncode_RTELayout(t *testing.T) {
	doc := mrzsim.Samples()[1] // TD1: three lines of 30, not padded
	b := mrzsim.Encode(mrzsim.RTE, doc)
	n := int(b[1]) | int(b[2])<<8
	if got, want := n, 2+1+1+3*31+1; got != want {
		t.Errorf("LEN = %d, want %d", got, want)
	}
	if got, want := len(b), 1+2+n+1; got != want {
		t.Fatalf("block is %d bytes, want %d", got, want)
	}
	if !bytes.Equal(b[3:6], []byte("OU\x02")) || b[len(b)-2] != 0x03 {
		t.Errorf("header or ETX wrong: % x", b)
	}
	var x byte
	for _, c := range b[1 : len(b)-1] {
		x ^= c
	}
	if x != b[len(b)-1] {
		t.Errorf("BCC %#x, want %#x", b[len(b)-1], x)
	}
}

func TestSamples_AreValid(t *testing.T) {
	for _, doc := range mrzsim.Samples() {
		r, err := mrz.Parse(doc)
		if err != nil || !r.Valid {
			t.Errorf("sample %s/%s: %v %v", doc[0][:5], r.Format, err, r.Errors)
		}
	}
}

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

// readFor collects what arrives on port for the given time.
func readFor(port hardware.Port, d time.Duration) ([]byte, error) {
	var got []byte
	buf := make([]byte, 256)
	for end := time.Now().Add(d); time.Now().Before(end); {
		n, err := port.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func TestSimulator_SendsOnRequest(t *testing.T) {
	s := startSim(t, mrzsim.Config{Framing: mrzsim.STX, Garbage: []byte("\x00\xff"), Chunk: 5})
	port, err := hardware.OpenSerial(s.Path(), 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()
	if err := s.Send(); err != nil {
		t.Fatal(err)
	}
	got, err := readFor(port, 500*time.Millisecond)
	want := append([]byte("\x00\xff"), mrzsim.Encode(mrzsim.STX, mrzsim.Samples()[0])...)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("read %q, %v; want %q", got, err, want)
	}
}

// Unplugging removes the stable link and the device; replugging brings a new
// device behind the same link.
func TestSimulator_UnplugReplug(t *testing.T) {
	dir := t.TempDir()
	s := startSim(t, mrzsim.Config{LinkDir: dir})
	link := filepath.Join(dir, mrzsim.LinkName)
	if got := s.Path(); got != link {
		t.Fatalf("Path = %q, want %q", got, link)
	}
	if _, err := os.Readlink(link); err != nil {
		t.Fatal(err)
	}
	port, err := hardware.OpenSerial(link, 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer port.Close()

	if err := s.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(link); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("link still there after unplug: %v", err)
	}
	if err := s.Send(); !errors.Is(err, mrzsim.ErrUnplugged) {
		t.Errorf("Send while unplugged: %v, want ErrUnplugged", err)
	}
	if _, err := readFor(port, 2*time.Second); !errors.Is(err, hardware.ErrDisconnected) {
		t.Errorf("driver read after unplug: %v, want ErrDisconnected", err)
	}

	if err := s.Replug(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Readlink(link); err != nil {
		t.Fatalf("no link after replug: %v", err)
	}
	port2, err := hardware.OpenSerial(link, 9600)
	if err != nil {
		t.Fatal(err)
	}
	defer port2.Close()
	if err := s.Send(); err != nil {
		t.Fatal(err)
	}
	got, _ := readFor(port2, 300*time.Millisecond)
	if want := mrzsim.Encode(mrzsim.PlainCR, mrzsim.Samples()[0]); !bytes.Equal(got, want) {
		t.Errorf("after replug read %q, want %q", got, want)
	}
}

// A simulator no one reads from drops what it cannot send instead of
// blocking, and Close returns.
func TestSimulator_NobodyReadingDoesNotBlock(t *testing.T) {
	s := startSim(t, mrzsim.Config{})
	done := make(chan error, 1)
	go func() { done <- s.SendRaw(make([]byte, 4<<20)) }()
	select {
	case err := <-done:
		if err == nil {
			t.Error("4 MiB into an unread pty succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("SendRaw blocked")
	}
	if err := s.Close(); err != nil {
		t.Error(err)
	}
}

// The interval sender sends by itself and stops with Close.
func TestSimulator_IntervalStopsOnClose(t *testing.T) {
	base := runtime.NumGoroutine()
	s := startSim(t, mrzsim.Config{Interval: 20 * time.Millisecond, Framing: mrzsim.RTE})
	port, err := hardware.OpenSerial(s.Path(), 9600)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readFor(port, 300*time.Millisecond)
	port.Close()
	d := idreader.NewDecoder(idreader.FramingRTE)
	if docs, _ := d.Feed(got); len(docs) < 2 {
		t.Errorf("got %d documents in 300 ms at a 20 ms interval", len(docs))
	}
	s.Close()
	waitGoroutines(t, base)
}

// waitGoroutines waits (bounded) until no more goroutines run than base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > base {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), base, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

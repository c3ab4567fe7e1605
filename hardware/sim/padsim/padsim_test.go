package padsim_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sim"
	"github.com/buergerkoffer/kit/hardware/sim/padsim"
)

var update = flag.Bool("update", false, "rewrite traces/mustermann.isdv4 from the generator")

// buildSampleTrace is how traces/mustermann.isdv4 was made: the query reply,
// then Mustermann's packets with 1–6 bytes of line noise after every 40th.
func buildSampleTrace() []byte {
	q := padsim.DefaultCaps.Encode()
	raw := append([]byte(nil), q[:]...)
	rng := rand.New(rand.NewPCG(19794, 7))
	for i, p := range padsim.PenTrace(padsim.Mustermann(padsim.DefaultCaps)) {
		raw = append(raw, p...)
		if i%40 == 39 {
			for range 1 + rng.IntN(6) {
				raw = append(raw, byte(rng.UintN(256)))
			}
		}
	}
	return raw
}

func TestSampleTrace(t *testing.T) {
	want := buildSampleTrace()
	if *update {
		if err := os.WriteFile("traces/mustermann.isdv4", want, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Skip("rewrote traces/mustermann.isdv4; the next build embeds it")
	}
	raw := padsim.SampleTrace()
	if !bytes.Equal(raw, want) {
		t.Fatalf("built-in trace (%d bytes) differs from the generator (%d bytes); run go test -run TestSampleTrace -update", len(raw), len(want))
	}
	sig, stats := sigpad.ParseRaw(raw, 7500*time.Microsecond)
	if sig.Caps != padsim.DefaultCaps {
		t.Errorf("caps %+v, want %+v", sig.Caps, padsim.DefaultCaps)
	}
	if got := len(sig.Strokes()); got != 3 {
		t.Errorf("%d strokes, want 3 (name, t-bar, underline)", got)
	}
	pens := padsim.Mustermann(padsim.DefaultCaps)
	if got, want := stats.Packets, len(pens)+1; got != want {
		t.Errorf("%d packets decoded, want %d (query + pen packets)", got, want)
	}
	if stats.Stray == 0 {
		t.Error("no line noise in the sample trace")
	}
}

func TestMustermann_StaysOnThePad(t *testing.T) {
	caps := sigpad.Query{MaxX: 10000, MaxY: 6000, MaxPressure: 255}
	pens := padsim.Mustermann(caps)
	strokes, inStroke := 0, false
	for i, p := range pens {
		if p.X < 0 || p.X > caps.MaxX || p.Y < 0 || p.Y > caps.MaxY || p.Pressure > caps.MaxPressure {
			t.Fatalf("pen %d off the pad: %+v", i, p)
		}
		if p.Tip && !inStroke {
			strokes++
		}
		inStroke = p.Tip
	}
	if strokes != 3 {
		t.Errorf("%d strokes, want 3", strokes)
	}
	if last := pens[len(pens)-1]; last.Proximity {
		t.Error("the pen does not leave proximity at the end")
	}
}

func TestSplitRaw(t *testing.T) {
	p := sigpad.Pen{X: 5, Proximity: true}.Encode()
	raw := append([]byte{0x01, 0x02}, p[:]...)
	raw = append(raw, 0x80, 0x03)
	got := padsim.SplitRaw(raw)
	want := [][]byte{{0x01, 0x02}, p[:], {0x80, 0x03}}
	if len(got) != len(want) {
		t.Fatalf("SplitRaw = %x, want %x", got, want)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Errorf("packet %d = % x, want % x", i, got[i], want[i])
		}
	}
}

func start(t *testing.T, cfg padsim.Config) *padsim.Sim {
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

func open(t *testing.T, path string, baud int) hardware.Port {
	t.Helper()
	p, err := hardware.OpenSerial(path, baud)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// readFor collects what arrives within d.
func readFor(port hardware.Port, d time.Duration, enough int) []byte {
	var got []byte
	buf := make([]byte, 256)
	for end := time.Now().Add(d); time.Now().Before(end) && len(got) < enough; {
		n, err := port.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			break
		}
	}
	return got
}

func TestSim_AnswersQuery(t *testing.T) {
	caps := sigpad.Query{MaxX: 12000, MaxY: 9000, MaxPressure: 511, Firmware: 300}
	s := start(t, padsim.Config{Caps: caps})
	port := open(t, s.Path(), 38400)
	if _, err := port.Write([]byte{sigpad.CmdQuery}); err != nil {
		t.Fatal(err)
	}
	got := readFor(port, 2*time.Second, sigpad.QueryPacketLen)
	want := caps.Encode()
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("query reply % x, want % x", got, want)
	}
}

// A pad at 19200 baud, asked at 38400, sends only garbage; asked again at
// 19200 it answers.
func TestSim_WrongBaudGarbles(t *testing.T) {
	s := start(t, padsim.Config{Baud: 19200})
	port := open(t, s.Path(), 38400)
	if _, err := port.Write([]byte{sigpad.CmdStop, sigpad.CmdQuery, sigpad.CmdStart}); err != nil {
		t.Fatal(err)
	}
	got := readFor(port, 300*time.Millisecond, 1<<10)
	var d sigpad.Decoder
	if pk := d.Decode(nil, got); len(pk) != 0 {
		t.Fatalf("at the wrong rate the pad sent packets %+v (raw % x)", pk, got)
	}
	if len(got) == 0 {
		t.Error("at the wrong rate the pad sent nothing; want garbage")
	}
	if s.Streaming() {
		t.Error("a start command at the wrong rate started the pad")
	}
	port.Close()

	port = open(t, s.Path(), 19200)
	if _, err := port.Write([]byte{sigpad.CmdQuery}); err != nil {
		t.Fatal(err)
	}
	got = readFor(port, 2*time.Second, sigpad.QueryPacketLen)
	want := padsim.DefaultCaps.Encode()
	if !bytes.Equal(got, want[:]) {
		t.Fatalf("at the right rate: % x, want % x", got, want)
	}
}

// After '1' the pad streams its trace; noise between packets does not cost a
// packet; after '0' it is quiet.
func TestSim_StreamsTraceWithNoise(t *testing.T) {
	var pens []sigpad.Pen
	for i := range 50 {
		pens = append(pens, sigpad.Pen{X: 1000 + 10*i, Y: 2000 + 5*i, Pressure: 100 + i, Proximity: true, Tip: true})
	}
	s := start(t, padsim.Config{
		Trace: padsim.PenTrace(pens), Interval: time.Millisecond, NoiseEvery: 3, Seed: 42,
	})
	port := open(t, s.Path(), 38400)
	if _, err := port.Write([]byte{sigpad.CmdStart}); err != nil {
		t.Fatal(err)
	}
	var d sigpad.Decoder
	var got []sigpad.Pen
	buf := make([]byte, 256)
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end) && len(got) < len(pens); {
		n, err := port.Read(buf)
		for _, p := range d.Decode(nil, buf[:n]) {
			got = append(got, p.Pen)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != len(pens) {
		t.Fatalf("got %d pen packets, want %d", len(got), len(pens))
	}
	for i := range pens {
		if got[i] != pens[i] {
			t.Fatalf("packet %d = %+v, want %+v", i, got[i], pens[i])
		}
	}
	if st := d.Stats(); st.Stray+st.Dropped == 0 {
		t.Errorf("no noise seen (stats %+v)", st)
	}
	if _, err := port.Write([]byte{sigpad.CmdStop}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if s.Streaming() {
		t.Error("still streaming after stop")
	}
	if got, want := s.Received(), []byte("10"); !bytes.Equal(got, want) {
		t.Errorf("received commands %q, want %q", got, want)
	}
}

// Close ends the simulator promptly even while a driver holds the port and
// the pad is streaming into it.
func TestSim_CloseWhileStreaming(t *testing.T) {
	s := start(t, padsim.Config{Interval: time.Millisecond, Loop: true, Pause: time.Millisecond})
	port := open(t, s.Path(), 38400)
	if _, err := port.Write([]byte{sigpad.CmdStart}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Close hangs")
	}
}

// Without Loop the pad draws its trace once per start command: the next
// citizen's signature screen (a new start) gets the whole trace again.
func TestSim_StartDrawsTheTraceAgain(t *testing.T) {
	var pens []sigpad.Pen
	for i := range 20 {
		pens = append(pens, sigpad.Pen{X: 1000 + 10*i, Y: 2000, Pressure: 200, Proximity: true, Tip: true})
	}
	s := start(t, padsim.Config{Trace: padsim.PenTrace(pens), Interval: time.Millisecond})
	port := open(t, s.Path(), 38400)
	count := func() int {
		if _, err := port.Write([]byte{sigpad.CmdStart}); err != nil {
			t.Fatal(err)
		}
		var d sigpad.Decoder
		return len(d.Decode(nil, readFor(port, 2*time.Second, len(pens)*sigpad.PenPacketLen)))
	}
	if n := count(); n != len(pens) {
		t.Fatalf("first start: %d packets, want %d", n, len(pens))
	}
	// Nothing more while the pen stays away.
	if b := readFor(port, 100*time.Millisecond, 1); len(b) != 0 {
		t.Fatalf("%d bytes after the trace ended", len(b))
	}
	if _, err := port.Write([]byte{sigpad.CmdStop}); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != len(pens) {
		t.Fatalf("second start: %d packets, want %d", n, len(pens))
	}
}

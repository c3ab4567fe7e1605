package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sigpad/iso19794"
	"github.com/buergerkoffer/kit/hardware/sim"
	"github.com/buergerkoffer/kit/hardware/sim/padsim"
)

// sigpadOut is a buffer that a command's goroutine writes while the test
// reads it.
type sigpadOut struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *sigpadOut) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *sigpadOut) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestSigpadDecode_KnownBytes(t *testing.T) {
	in := []byte{
		0xC0, 0x33, 0x32, 0x20, 0x1A, 0x7F, 0x07, 0x00, 0x00, 0x04, 0x19, // query reply
		0x55,                                                 // line noise
		0xA1, 0x10, 0x20, 0x05, 0x06, 0x40, 0x07, 0x00, 0x00, // DOMAIN.md's example
		0xA3, 0x01, // cut short …
		0xA0, 0x10, 0x21, 0x05, 0x07, 0x00, 0x00, 0x00, 0x00, // … by a hover packet
	}
	var stdout, stderr bytes.Buffer
	code := cmdSigpad(context.Background(), []string{"decode"}, bytes.NewReader(in), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	want := `{"type":"query","max_x":26312,"max_y":16488,"max_pressure":1023,"firmware":537}
{"type":"pen","x":8320,"y":2584,"pressure":960,"proximity":true,"tip":true,"side":false,"eraser":false}
{"type":"pen","x":8324,"y":2588,"pressure":0,"proximity":true,"tip":false,"side":false,"eraser":false}
`
	if got := stdout.String(); got != want {
		t.Errorf("stdout:\n%s\nwant:\n%s", got, want)
	}
	if got := stderr.String(); !strings.Contains(got, "1 cut-short packets, 1 noise bytes") {
		t.Errorf("stderr %q, want the skipped bytes counted", got)
	}
}

func TestSigpad_Usage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := cmdSigpad(context.Background(), nil, nil, &stdout, &stderr); code != 2 {
		t.Errorf("no command: exit %d, want 2", code)
	}
	if code := cmdSigpad(context.Background(), []string{"frobnicate"}, nil, &stdout, &stderr); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code := cmdSigpad(context.Background(), []string{"render"}, strings.NewReader(""), &stdout, &stderr); code != 2 {
		t.Errorf("render without -out: exit %d, want 2", code)
	}
}

func TestSigpadRender_SampleTrace(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sig.png")
	var stdout, stderr bytes.Buffer
	code := cmdSigpad(context.Background(), []string{"render", "--out", out}, bytes.NewReader(padsim.SampleTrace()), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if s := img.Bounds().Size(); s.X > 800 || s.Y > 300 || s.X < 400 {
		t.Errorf("PNG is %v, want it to fit 800×300", s)
	}
}

func TestSigpadISO_SampleTrace(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sig.iso")
	var stdout, stderr bytes.Buffer
	code := cmdSigpad(context.Background(), []string{"iso", "-out", out, "-interval", "5ms"}, bytes.NewReader(padsim.SampleTrace()), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr.String())
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := iso19794.Unmarshal(data)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := rec.Points()
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := sigpad.ParseRaw(padsim.SampleTrace(), 5*time.Millisecond)
	if len(pts) != len(sig.Points) || pts[1].T != 5*time.Millisecond {
		t.Errorf("%d points (second at %v), want %d (second at 5ms)", len(pts), pts[1].T, len(sig.Points))
	}
}

// The simulator and the listener, as a technician runs them in two
// terminals: listen prints the pad's query reply and then its samples.
func TestSigpad_SimulateAndListen(t *testing.T) {
	pty, err := sim.OpenPTY()
	if errors.Is(err, sim.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	pty.Close()
	simCtx, stopSim := context.WithCancel(context.Background())
	defer stopSim()
	var simOut, simErr sigpadOut
	simDone := make(chan int, 1)
	go func() {
		simDone <- simulateSigpad(simCtx, []string{"-interval", "1ms", "-noise", "5", "-max-x", "20000"}, &simOut, &simErr)
	}()
	var path string
	for end := time.Now().Add(5 * time.Second); path == ""; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("simulate printed no path; stderr %s", simErr.String())
		}
		if line, _, ok := strings.Cut(simOut.String(), "\n"); ok {
			path = line
		}
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var out, errOut sigpadOut
	done := make(chan int, 1)
	go func() { done <- listenSigpad(ctx, path, 0, &out, &errOut) }()
	for end := time.Now().Add(10 * time.Second); strings.Count(out.String(), "\n") < 30; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("listen printed %q; stderr %s", out.String(), errOut.String())
		}
	}
	stop()
	if code := <-done; code != 0 {
		t.Errorf("listen exit %d, stderr %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var q queryLine
	if err := json.Unmarshal([]byte(lines[0]), &q); err != nil || q.Type != "query" || q.MaxX != 20000 {
		t.Errorf("first line %s, want the query reply with max_x 20000", lines[0])
	}
	var p penLine
	if err := json.Unmarshal([]byte(lines[1]), &p); err != nil || p.Type != "pen" || p.Time == "" || !p.Proximity {
		t.Errorf("second line %s, want a pen sample with a time", lines[1])
	}

	stopSim()
	if code := <-simDone; code != 0 {
		t.Errorf("simulate exit %d, stderr %s", code, simErr.String())
	}
}

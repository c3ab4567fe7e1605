// This file is hwtool's signature pad: decoding raw ISDv4 bytes, rendering
// them as a PNG or an ISO/IEC 19794-7 record, listening to a real pad and
// running the pad simulator. main.go dispatches here.

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sigpad/iso19794"
	"github.com/buergerkoffer/kit/hardware/sim/padsim"
)

const sigpadUsage = `usage: hwtool sigpad <command> [flags]

commands:
  decode                      read raw ISDv4 bytes on stdin, print one JSON line per packet
  render -out sig.png         read raw ISDv4 bytes on stdin, write the signature as PNG
  iso -out sig.iso            read raw ISDv4 bytes on stdin, write an ISO/IEC 19794-7 record
  listen -port PATH [-baud N] start the pad on PATH and print its samples as JSON lines
  simulate [flags]            run the pad simulator and print its port path
`

// cmdSigpad runs `hwtool sigpad …`.
func cmdSigpad(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, sigpadUsage)
		return 2
	}
	switch args[0] {
	case "decode":
		return sigpadDecode(stdin, stdout, stderr)
	case "render", "iso":
		return sigpadExport(args[0], args[1:], stdin, stderr)
	case "listen":
		fs := flag.NewFlagSet("sigpad listen", flag.ContinueOnError)
		fs.SetOutput(stderr)
		port := fs.String("port", "", "serial port of the pad (e.g. /dev/ttyUSB0, COM3)")
		baud := fs.Int("baud", 0, "baud rate; 0 tries 38400, then 19200")
		if err := fs.Parse(args[1:]); err != nil {
			return 2
		}
		if *port == "" {
			fmt.Fprintln(stderr, "hwtool sigpad listen: -port is required")
			return 2
		}
		return listenSigpad(ctx, *port, *baud, stdout, stderr)
	case "simulate":
		return simulateSigpad(ctx, args[1:], stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, sigpadUsage)
		return 0
	}
	fmt.Fprintf(stderr, "hwtool sigpad: unknown command %q\n%s", args[0], sigpadUsage)
	return 2
}

// JSON lines. Field order is part of the output format.
type (
	queryLine struct {
		Type        string `json:"type"`
		MaxX        int    `json:"max_x"`
		MaxY        int    `json:"max_y"`
		MaxPressure int    `json:"max_pressure"`
		Firmware    int    `json:"firmware"`
	}
	controlLine struct {
		Type   string `json:"type"`
		DataID int    `json:"data_id"`
	}
	penLine struct {
		Type      string `json:"type"`
		X         int    `json:"x"`
		Y         int    `json:"y"`
		Pressure  int    `json:"pressure"`
		Proximity bool   `json:"proximity"`
		Tip       bool   `json:"tip"`
		Side      bool   `json:"side"`
		Eraser    bool   `json:"eraser"`
		Time      string `json:"time,omitempty"`
	}
	eventLine struct {
		Type  string `json:"type"`
		Error string `json:"error"`
	}
)

func packetLine(p sigpad.Packet) any {
	if p.Kind == sigpad.KindQuery {
		if p.Query.DataID != 0 {
			return controlLine{Type: "control", DataID: p.Query.DataID}
		}
		return newQueryLine(p.Query)
	}
	return newPenLine(p.Pen, time.Time{})
}

func newQueryLine(q sigpad.Query) queryLine {
	return queryLine{Type: "query", MaxX: q.MaxX, MaxY: q.MaxY, MaxPressure: q.MaxPressure, Firmware: q.Firmware}
}

func newPenLine(p sigpad.Pen, t time.Time) penLine {
	l := penLine{
		Type: "pen", X: p.X, Y: p.Y, Pressure: p.Pressure,
		Proximity: p.Proximity, Tip: p.Tip, Side: p.Side, Eraser: p.Eraser,
	}
	if !t.IsZero() {
		l.Time = t.UTC().Format(time.RFC3339Nano)
	}
	return l
}

// sigpadDecode prints stdin's packets as they arrive, so that it also works
// on a live capture piped in.
func sigpadDecode(stdin io.Reader, stdout, stderr io.Writer) int {
	var dec sigpad.Decoder
	out := bufio.NewWriter(stdout)
	enc := json.NewEncoder(out)
	buf := make([]byte, 4096)
	for {
		n, err := stdin.Read(buf)
		for _, b := range buf[:n] {
			if p, ok := dec.Push(b); ok {
				if err := enc.Encode(packetLine(p)); err != nil {
					fmt.Fprintf(stderr, "hwtool sigpad decode: %v\n", err)
					return 1
				}
			}
		}
		if err := out.Flush(); err != nil {
			fmt.Fprintf(stderr, "hwtool sigpad decode: %v\n", err)
			return 1
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fmt.Fprintf(stderr, "hwtool sigpad decode: read: %v\n", err)
			return 1
		}
	}
	s := dec.Stats()
	if dec.Pending() > 0 {
		s.Dropped++
	}
	if s.Dropped+s.Stray+s.Touch > 0 {
		fmt.Fprintf(stderr, "hwtool sigpad decode: %d packets; skipped %d cut-short packets, %d noise bytes, %d touch packets\n",
			s.Packets, s.Dropped, s.Stray, s.Touch)
	}
	return 0
}

// sigpadExport reads raw bytes and writes a PNG (render) or an ISO/IEC
// 19794-7 record (iso).
func sigpadExport(what string, args []string, stdin io.Reader, stderr io.Writer) int {
	fs := flag.NewFlagSet("sigpad "+what, flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "output file")
	interval := fs.Duration("interval", 7500*time.Microsecond, "time between packets (raw bytes carry no time)")
	width := fs.Int("width", sigpad.PNGMaxWidth, "render: maximum width in pixels")
	height := fs.Int("height", sigpad.PNGMaxHeight, "render: maximum height in pixels")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *out == "" {
		fmt.Fprintf(stderr, "hwtool sigpad %s: -out is required\n", what)
		return 2
	}
	raw, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool sigpad %s: read stdin: %v\n", what, err)
		return 1
	}
	sig, _ := sigpad.ParseRaw(raw, *interval)
	if sig.Empty() {
		fmt.Fprintf(stderr, "hwtool sigpad %s: no pen strokes in the input\n", what)
		return 1
	}
	var data []byte
	switch what {
	case "render":
		var buf bytes.Buffer
		if err := png.Encode(&buf, sig.RenderInk(*width, *height)); err != nil {
			fmt.Fprintf(stderr, "hwtool sigpad render: %v\n", err)
			return 1
		}
		data = buf.Bytes()
	case "iso":
		if data, err = iso19794.Marshal(sig); err != nil {
			fmt.Fprintf(stderr, "hwtool sigpad iso: %v\n", err)
			return 1
		}
	}
	if err := writeFileAtomic(*out, data); err != nil {
		fmt.Fprintf(stderr, "hwtool sigpad %s: %v\n", what, err)
		return 1
	}
	return 0
}

// writeFileAtomic writes via a temporary file and a rename.
func writeFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// listenSigpad starts the pad on port and prints its query reply, then one
// JSON line per sample, until ctx ends (exit 0) or the pad goes away (1).
func listenSigpad(ctx context.Context, port string, baud int, stdout, stderr io.Writer) int {
	var cfg sigpad.Config
	if baud != 0 {
		cfg.Bauds = []int{baud}
	}
	pad, err := sigpad.Open(ctx, hardware.OpenSerial, port, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool sigpad listen: %v\n", err)
		return 1
	}
	defer pad.Close()
	fmt.Fprintf(stderr, "hwtool sigpad listen: pad on %s at %d baud\n", port, pad.Baud())
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(newQueryLine(pad.Caps())); err != nil {
		fmt.Fprintf(stderr, "hwtool sigpad listen: %v\n", err)
		return 1
	}
	for ev := range pad.Events() {
		switch ev.Kind {
		case sigpad.EventSample:
			if err := enc.Encode(newPenLine(ev.Sample.Pen, ev.Sample.Time)); err != nil {
				fmt.Fprintf(stderr, "hwtool sigpad listen: %v\n", err)
				return 1
			}
		default:
			enc.Encode(eventLine{Type: ev.Kind.String(), Error: ev.Err.Error()})
			fmt.Fprintf(stderr, "hwtool sigpad listen: %v\n", ev.Err)
			return 1
		}
	}
	if err := pad.Close(); err != nil {
		fmt.Fprintf(stderr, "hwtool sigpad listen: %v\n", err)
		return 1
	}
	return 0
}

// simulateSigpad runs the pad simulator until ctx ends. The first line on
// stdout is the port path for the driver.
func simulateSigpad(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sigpad simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	baud := fs.Int("baud", 38400, "baud rate the pad runs at (38400 or 19200)")
	trace := fs.String("trace", "", "raw ISDv4 capture to replay; \"sample\" is the built-in one; empty: a generated signature")
	noise := fs.Int("noise", 0, "insert line noise after every N packets (0: none)")
	loop := fs.Bool("loop", true, "replay the trace again after a pause")
	interval := fs.Duration("interval", 7500*time.Microsecond, "time between packets")
	maxX := fs.Int("max-x", padsim.DefaultCaps.MaxX, "max x in the query reply")
	maxY := fs.Int("max-y", padsim.DefaultCaps.MaxY, "max y in the query reply")
	maxP := fs.Int("max-pressure", padsim.DefaultCaps.MaxPressure, "max pressure in the query reply")
	fw := fs.Int("firmware", padsim.DefaultCaps.Firmware, "firmware version in the query reply")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg := padsim.Config{
		Caps:       sigpad.Query{MaxX: *maxX, MaxY: *maxY, MaxPressure: *maxP, Firmware: *fw},
		Baud:       *baud,
		Interval:   *interval,
		Loop:       *loop,
		NoiseEvery: *noise,
		Seed:       uint64(time.Now().UnixNano()),
	}
	switch *trace {
	case "":
	case "sample":
		cfg.Trace = padsim.SplitRaw(padsim.SampleTrace())
	default:
		raw, err := os.ReadFile(*trace)
		if err != nil {
			fmt.Fprintf(stderr, "hwtool sigpad simulate: %v\n", err)
			return 1
		}
		cfg.Trace = padsim.SplitRaw(raw)
	}
	s, err := padsim.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool sigpad simulate: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, s.Path())
	fmt.Fprintf(stderr, "hwtool sigpad simulate: ISDv4 pad at %d baud on %s (stop with Ctrl-C)\n", s.Baud(), s.Path())
	<-ctx.Done()
	if err := s.Close(); err != nil {
		fmt.Fprintf(stderr, "hwtool sigpad simulate: %v\n", err)
		return 1
	}
	return 0
}

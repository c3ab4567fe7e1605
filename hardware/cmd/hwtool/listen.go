// This file is `hwtool listen`: show what a real device on a serial port
// sends, through the same driver the app uses. For an ID-document reader
// that is one JSON line per document on stdout, and the driver's events
// (unplugged, back, dropped bytes) on stderr.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/buergerkoffer/kit/hardware/idreader"
)

func cmdListen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	device, rest, err := splitDevice(args)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool listen: %v\nusage: hwtool listen --port P --device mrz|sigpad [--baud N]\n", err)
		return 2
	}
	fs := newFlagSet("listen --device "+device, stderr)
	port := fs.String("port", "", "serial port, e.g. /dev/serial/by-id/… or COM3")
	var baud *int
	var framing *string
	switch device {
	case "mrz":
		baud = fs.Int("baud", 9600, "line speed")
		framing = fs.String("framing", "auto", "what the reader sends: auto, plain, stx or rte")
	case "sigpad":
		baud = fs.Int("baud", 38400, "line speed (the pad speaks 38400 or 19200)")
	default:
		fmt.Fprintf(stderr, "hwtool listen: unknown device %q (want mrz or sigpad)\n", device)
		return 2
	}
	if err := fs.Parse(rest); err != nil {
		return 2
	}
	if *port == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "hwtool listen: --port is required")
		fs.Usage()
		return 2
	}
	if device == "sigpad" {
		return listenSigpad(ctx, *port, *baud, stdout, stderr)
	}
	f, err := idreader.ParseFraming(*framing)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool listen: %v\n", err)
		return 2
	}
	return listenMRZ(ctx, *port, *baud, f, stdout, stderr)
}

// listenMRZ prints every document the reader at port sends until ctx ends.
// A reader that is not plugged in yet is waited for.
func listenMRZ(ctx context.Context, port string, baud int, framing idreader.Framing, stdout, stderr io.Writer) int {
	r, err := idreader.Start(ctx, idreader.Config{Path: port, Baud: baud, Framing: framing, WaitForDevice: true})
	if err != nil {
		fmt.Fprintf(stderr, "hwtool listen: %v\n", err)
		return 1
	}
	defer r.Close()
	fmt.Fprintf(stderr, "hwtool listen: reading ID documents on %s at %d baud (%s framing); interrupt to stop\n", port, baud, framing)
	enc := json.NewEncoder(stdout)
	for ev := range r.Events() {
		switch ev.Kind {
		case idreader.EventDocument:
			if err := enc.Encode(ev.Result); err != nil {
				fmt.Fprintf(stderr, "hwtool listen: %v\n", err)
				return 1
			}
		case idreader.EventDisconnected:
			fmt.Fprintf(stderr, "hwtool listen: reader not available, waiting for it: %v\n", ev.Err)
		case idreader.EventReconnected:
			fmt.Fprintln(stderr, "hwtool listen: reader is back")
		case idreader.EventFrameError:
			fmt.Fprintf(stderr, "hwtool listen: %v\n", ev.Err)
		}
	}
	return 0
}

// This file is `hwtool simulate`: run a simulated device on a
// pseudo-terminal and print the port to open, so that the app, `hwtool
// listen` or a technician's terminal program can be tried without hardware.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/buergerkoffer/kit/hardware/sim/mrzsim"
)

func cmdSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	device, rest, err := splitDevice(args)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool simulate: %v\nusage: hwtool simulate --device mrz|sigpad [...]\n", err)
		return 2
	}
	switch device {
	case "mrz":
		return simulateMRZ(ctx, rest, stdout, stderr)
	case "sigpad":
		return simulateSigpad(ctx, rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "hwtool simulate: unknown device %q (want mrz or sigpad)\n", device)
	return 2
}

// simulateMRZ runs a simulated ID-document reader until ctx ends.
func simulateMRZ(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("simulate --device mrz", stderr)
	framing := fs.String("framing", string(mrzsim.PlainCR), "how documents are framed: plain-cr, plain-crlf, stx or rte")
	interval := fs.Duration("interval", 3*time.Second, "send the next document this often")
	docsFile := fs.String("docs", "", "JSON file of documents: [[line, …], …] or [{\"mrz\": [line, …]}, …]; default: built-in specimens")
	garbage := fs.Bool("garbage", false, "send line noise before every document")
	chunk := fs.Int("chunk", 0, "split writes into pieces of this many bytes")
	link := fs.String("link", "", "keep a symlink to the port in this directory (stable across replugs, like /dev/serial/by-id)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *interval <= 0 {
		fs.Usage()
		return 2
	}
	f, err := mrzsim.ParseFraming(*framing)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool simulate: %v\n", err)
		return 2
	}
	cfg := mrzsim.Config{Documents: mrzsim.Samples(), Framing: f, Interval: *interval, Chunk: *chunk, LinkDir: *link}
	if *garbage {
		cfg.Garbage = []byte("\x00\xff\x80#")
	}
	if *docsFile != "" {
		if cfg.Documents, err = readDocs(*docsFile); err != nil {
			fmt.Fprintf(stderr, "hwtool simulate: %v\n", err)
			return 1
		}
	}
	s, err := mrzsim.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool simulate: %v\n", err)
		return 1
	}
	defer s.Close()
	fmt.Fprintln(stdout, s.Path())
	fmt.Fprintf(stderr, "hwtool simulate: ID-document reader on %s, %d documents, %s framing, one every %v; interrupt to stop\n",
		s.Path(), len(cfg.Documents), f, *interval)
	<-ctx.Done()
	return 0
}

// readDocs reads a document list: an array of line arrays, or an array of
// objects with an "mrz" field (the layout of the shared test vectors).
func readDocs(path string) ([][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read documents: %w", err)
	}
	var lists [][]string
	if err := json.Unmarshal(b, &lists); err == nil && len(lists) > 0 {
		return lists, nil
	}
	var objs []struct {
		MRZ []string `json:"mrz"`
	}
	if err := json.Unmarshal(b, &objs); err != nil {
		return nil, fmt.Errorf("read documents from %s: %w", path, err)
	}
	lists = nil
	for _, o := range objs {
		if len(o.MRZ) > 0 {
			lists = append(lists, o.MRZ)
		}
	}
	if len(lists) == 0 {
		return nil, fmt.Errorf("read documents from %s: no documents", path)
	}
	return lists, nil
}

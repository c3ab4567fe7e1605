// This file is `hwtool mrz`: decode one document's MRZ from stdin, in any
// framing a reader uses, and print what it says as JSON. Technicians use it
// to check a capture from a reader; tests use it to check the parser.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/buergerkoffer/kit/hardware/idreader"
	"github.com/buergerkoffer/kit/internal/mrz"
)

// maxMRZInput bounds what `hwtool mrz` reads looking for a document.
const maxMRZInput = 1 << 20

// Exit codes of `hwtool mrz`.
const (
	exitValid   = 0
	exitInvalid = 1
	exitNotMRZ  = 2
)

func cmdMRZ(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("mrz", stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hwtool mrz < capture\n\nReads one document's MRZ lines (plain, STX…ETX or RTE framed) from stdin\nand prints them as JSON. Exit 0 valid, 1 check digits failed, 2 not an MRZ.")
	}
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return exitNotMRZ
	}

	lines, raw, err := readDocument(ctx, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool mrz: %v\n", err)
		return exitNotMRZ
	}
	if lines == nil {
		// No framing held a whole document. Take the input as bare text
		// so that the parser can say what is wrong with it.
		lines = textLines(raw)
	}
	res, err := mrz.Parse(lines)
	if err != nil {
		fmt.Fprintf(stderr, "hwtool mrz: %v\n", err) // says what is wrong, never the input
		return exitNotMRZ
	}
	enc := json.NewEncoder(stdout)
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(stderr, "hwtool mrz: %v\n", err)
		return exitNotMRZ
	}
	if !res.Valid {
		return exitInvalid
	}
	return exitValid
}

// readDocument reads stdin until the decoder has a document or stdin ends.
// It returns the document's lines (nil if none) and everything read.
func readDocument(ctx context.Context, stdin io.Reader) ([]string, []byte, error) {
	dec := idreader.NewDecoder(idreader.FramingAuto)
	var raw []byte
	buf := make([]byte, 4096)
	in := io.LimitReader(stdin, maxMRZInput)
	for {
		if err := ctx.Err(); err != nil {
			return nil, raw, fmt.Errorf("reading stdin: %w", err)
		}
		n, err := in.Read(buf)
		raw = append(raw, buf[:n]...)
		if docs, _ := dec.Feed(buf[:n]); len(docs) > 0 {
			return docs[0].Lines, raw, nil
		}
		if errors.Is(err, io.EOF) {
			docs, _ := dec.Flush()
			if len(docs) > 0 {
				return docs[0].Lines, raw, nil
			}
			return nil, raw, nil
		}
		if err != nil {
			return nil, raw, fmt.Errorf("reading stdin: %w", err)
		}
	}
}

// textLines splits raw into lines at CR and LF, dropping blank ones.
func textLines(raw []byte) []string {
	var lines []string
	start := 0
	for i := 0; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == '\r' || raw[i] == '\n' {
			if i > start {
				lines = append(lines, string(raw[start:i]))
			}
			start = i + 1
		}
	}
	return lines
}

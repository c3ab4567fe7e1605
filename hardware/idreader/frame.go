// This file turns the bytes an ID-document reader sends into MRZ lines. The
// readers on the market frame their lines in one of three ways; a Decoder
// understands one of them, or all three at once (FramingAuto), and survives split
// reads, line noise and a reader switched on mid-frame.

package idreader

import (
	"errors"
	"fmt"
	"strings"
)

// Framing is how a reader wraps the lines of a Machine Readable Zone.
type Framing int

const (
	// FramingAuto accepts every framing below, telling them apart by their first
	// byte (SOH, STX, or an MRZ character).
	FramingAuto Framing = iota
	// FramingPlain is bare lines, each ending in CR or CR LF (LF alone, a space or
	// a tab also end a line).
	FramingPlain
	// FramingSTX is lines wrapped in STX (0x02) … ETX (0x03): one line or a whole
	// document per frame, lines inside separated by CR or CR LF.
	FramingSTX
	// FramingRTE is the 3M/Gemalto "RTE Native" block, one document per block:
	//
	//	SOH  LEN_LO LEN_HI  'O' 'U'  STX  FLAG  line CR line CR [line CR]  ETX  BCC
	//
	// LEN (little-endian) counts the bytes from 'O' through ETX inclusive.
	// BCC is the XOR of every byte after SOH up to and including ETX, that
	// is LEN_LO, LEN_HI and the LEN bytes that follow them. FLAG is the
	// reader's record flag; it is not interpreted. Lines of two-line
	// documents are padded with '_' to 44 characters; padding is removed.
	// The simulator (hardware/sim/mrzsim) encodes with the same definition.
	FramingRTE
)

// Control bytes of the framings.
const (
	soh byte = 0x01
	stx byte = 0x02
	etx byte = 0x03
	cr  byte = '\r'
	lf  byte = '\n'
	pad byte = '_' // RTE's filler after the lines of two-line documents
)

// rteMaxLen bounds LEN: three lines of 44 with CR LF and padding is far
// below it. A larger LEN is line noise, not a frame.
const rteMaxLen = 512

// maxLine bounds a line before its terminator: 44 characters plus padding.
const maxLine = 64

var framingNames = [...]string{FramingAuto: "auto", FramingPlain: "plain", FramingSTX: "stx", FramingRTE: "rte"}

func (f Framing) String() string {
	if f >= 0 && int(f) < len(framingNames) {
		return framingNames[f]
	}
	return fmt.Sprintf("Framing(%d)", int(f))
}

// ParseFraming reads a framing name: auto, plain, stx or rte.
func ParseFraming(s string) (Framing, error) {
	for f, name := range framingNames {
		if strings.EqualFold(s, name) {
			return Framing(f), nil
		}
	}
	return 0, fmt.Errorf("idreader: unknown framing %q (want auto, plain, stx or rte)", s)
}

// ErrFrame is what every *FrameError wraps.
var ErrFrame = errors.New("idreader: frame error")

// FrameError reports bytes a Decoder dropped and why. It never carries the
// bytes themselves: they may be part of someone's MRZ.
type FrameError struct {
	Framing Framing // the framing the bytes were read as
	Reason  string  // what was wrong, e.g. "bad checksum"
	Bytes   int     // how many bytes were dropped
}

func (e *FrameError) Error() string {
	return fmt.Sprintf("idreader: %s: %s (%d bytes dropped)", e.Framing, e.Reason, e.Bytes)
}

// Unwrap makes every FrameError match ErrFrame.
func (e *FrameError) Unwrap() error { return ErrFrame }

// Document is the MRZ lines of one document as a reader sent them, without
// framing and padding. The lines are personal data.
type Document struct {
	Lines   []string
	Framing Framing // how the document arrived
}

// where the decoder is in the byte stream
type state int

const (
	outside state = iota // between frames: plain lines, or waiting for SOH or STX
	inSTX                // after STX, before ETX
	inRTE                // after SOH, before BCC
)

// Decoder turns a byte stream from one reader into documents. Feed it what
// the port delivers, in whatever pieces; call Flush at the end of a finite
// stream. A Decoder is not safe for concurrent use.
type Decoder struct {
	framing Framing
	state   state
	line    []byte // the line being read (plain or STX)
	long    int    // bytes of the current line beyond maxLine
	frame   []byte // RTE: the bytes after SOH so far
	garbage int    // a run of skipped bytes not yet reported
	skipped int    // all bytes dropped so far
	asm     assembler

	docs []Document
	errs []error
}

// NewDecoder returns a decoder for one framing, or for all of them
// (FramingAuto). Bytes of another framing than the chosen one are garbage.
func NewDecoder(f Framing) *Decoder {
	return &Decoder{framing: f}
}

// Skipped is how many bytes the decoder has dropped so far.
func (d *Decoder) Skipped() int { return d.skipped }

// Feed decodes p and returns the documents completed by it, and a
// *FrameError for each run of bytes it dropped. It never fails otherwise.
func (d *Decoder) Feed(p []byte) ([]Document, []error) {
	for _, c := range p {
		d.step(c)
	}
	return d.take()
}

// Flush ends the stream: a line without its terminator is taken as ended,
// and what cannot complete any more (a frame cut off, a document missing a
// line, a run of garbage) is reported.
func (d *Decoder) Flush() ([]Document, []error) {
	switch d.state {
	case outside:
		d.endLine(FramingPlain)
	case inSTX:
		d.drop(FramingSTX, "frame not terminated", len(d.line)+1)
	case inRTE:
		d.drop(FramingRTE, "frame not terminated", len(d.frame)+1)
	}
	d.reset()
	d.flushGarbage()
	if n := d.asm.pending(); n > 0 {
		d.fail(d.framing, "incomplete document", n)
		d.asm.reset()
	}
	return d.take()
}

// Reset forgets everything partial without reporting it, as after the
// reader was unplugged.
func (d *Decoder) Reset() {
	d.reset()
	d.garbage = 0
	d.asm.reset()
	d.docs, d.errs = nil, nil
}

func (d *Decoder) take() ([]Document, []error) {
	docs, errs := d.docs, d.errs
	d.docs, d.errs = nil, nil
	return docs, errs
}

func (d *Decoder) accepts(f Framing) bool { return d.framing == FramingAuto || d.framing == f }

// step moves the state machine by one byte.
func (d *Decoder) step(c byte) {
	switch d.state {
	case outside:
		d.stepOutside(c)
	case inSTX:
		d.stepSTX(c)
	case inRTE:
		d.stepRTE(c)
	}
}

func (d *Decoder) stepOutside(c byte) {
	switch {
	case c == soh && d.accepts(FramingRTE):
		d.abandonLine()
		d.flushGarbage()
		d.state, d.frame = inRTE, d.frame[:0]
	case c == stx && d.accepts(FramingSTX):
		d.abandonLine()
		d.flushGarbage()
		d.state = inSTX
	case isSeparator(c):
		d.endLine(FramingPlain) // between frames of other framings: white space is no garbage
	case isLineChar(c) && d.accepts(FramingPlain):
		d.flushGarbage()
		d.addToLine(c)
	default:
		d.abandonLine()
		d.garbage++
	}
}

func (d *Decoder) stepSTX(c byte) {
	switch {
	case c == etx:
		d.endLine(FramingSTX)
		d.state = outside
	case isSeparator(c):
		d.endLine(FramingSTX)
	case isLineChar(c):
		d.flushGarbage()
		d.addToLine(c)
	case c == stx:
		d.drop(FramingSTX, "frame not terminated", len(d.line)+1)
		d.line, d.long = d.line[:0], 0
	case c == soh && d.accepts(FramingRTE):
		d.drop(FramingSTX, "frame not terminated", len(d.line)+1)
		d.line, d.long = d.line[:0], 0
		d.state, d.frame = inRTE, d.frame[:0]
	default:
		d.abandonLine()
		d.garbage++
	}
}

// stepRTE collects an RTE block. The header is checked as it arrives, so a
// stray SOH in line noise costs a few bytes, not a whole block.
func (d *Decoder) stepRTE(c byte) {
	d.frame = append(d.frame, c)
	f := d.frame
	switch len(f) {
	case 1:
		return
	case 2:
		if n := rteLen(f); n < 5 || n > rteMaxLen {
			d.resync("bad length")
		}
		return
	case 3:
		if c != 'O' {
			d.resync("bad header")
		}
		return
	case 4:
		if c != 'U' {
			d.resync("bad header")
		}
		return
	case 5:
		if c != stx {
			d.resync("bad header")
		}
		return
	}
	if len(f) < 2+rteLen(f)+1 {
		return
	}
	// f = LEN_LO LEN_HI 'O' 'U' STX FLAG body… ETX BCC
	if f[len(f)-2] != etx {
		d.resync("ETX missing")
		return
	}
	if bcc := RTEChecksum(f[:len(f)-1]); bcc != f[len(f)-1] {
		d.resync("bad checksum")
		return
	}
	body := f[6 : len(f)-2]
	d.state = outside
	d.frameDocument(body)
	d.frame = d.frame[:0]
}

// RTEChecksum is the BCC of an RTE block: the XOR of b, which must be every
// byte after SOH up to and including ETX.
func RTEChecksum(b []byte) byte {
	var x byte
	for _, c := range b {
		x ^= c
	}
	return x
}

func rteLen(f []byte) int { return int(f[0]) | int(f[1])<<8 }

// resync gives up on the RTE block being read: its SOH is dropped and the
// bytes after it are read again, since a real block may start among them.
func (d *Decoder) resync(reason string) {
	replay := append([]byte(nil), d.frame...)
	d.frame = d.frame[:0]
	d.state = outside
	d.fail(FramingRTE, reason, 1)
	for _, c := range replay {
		d.step(c)
	}
}

// frameDocument takes the lines of one RTE block as one document.
func (d *Decoder) frameDocument(body []byte) {
	if n := d.asm.pending(); n > 0 {
		d.fail(d.framing, "incomplete document", n)
		d.asm.reset()
	}
	lines := strings.FieldsFunc(string(body), func(r rune) bool { return r == '\r' || r == '\n' })
	for _, l := range lines {
		d.addLine(FramingRTE, strings.TrimRight(l, string(pad)))
	}
	if n := d.asm.pending(); n > 0 {
		d.fail(FramingRTE, "incomplete document", n)
		d.asm.reset()
	}
}

func (d *Decoder) addToLine(c byte) {
	if len(d.line) < maxLine {
		d.line = append(d.line, c)
	} else {
		d.long++
	}
}

// endLine hands a finished line to the assembler.
func (d *Decoder) endLine(f Framing) {
	if len(d.line) == 0 && d.long == 0 {
		return
	}
	if d.long > 0 {
		d.fail(f, "line too long", len(d.line)+d.long)
	} else {
		d.addLine(f, strings.TrimRight(string(d.line), string(pad)))
	}
	d.line, d.long = d.line[:0], 0
}

// abandonLine counts a line cut by garbage as garbage.
func (d *Decoder) abandonLine() {
	d.garbage += len(d.line) + d.long
	d.line, d.long = d.line[:0], 0
}

func (d *Decoder) addLine(f Framing, line string) {
	doc, err := d.asm.add(line)
	for _, e := range err {
		d.fail(f, e.reason, e.bytes)
	}
	if doc != nil {
		d.docs = append(d.docs, Document{Lines: doc, Framing: f})
	}
}

func (d *Decoder) flushGarbage() {
	if d.garbage > 0 {
		d.fail(d.framing, "unexpected bytes", d.garbage)
		d.garbage = 0
	}
}

func (d *Decoder) drop(f Framing, reason string, n int) {
	d.flushGarbage()
	d.fail(f, reason, n)
}

func (d *Decoder) fail(f Framing, reason string, n int) {
	d.skipped += n
	d.errs = append(d.errs, &FrameError{Framing: f, Reason: reason, Bytes: n})
}

func (d *Decoder) reset() {
	d.state = outside
	d.line, d.long = d.line[:0], 0
	d.frame = d.frame[:0]
}

func isSeparator(c byte) bool { return c == cr || c == lf || c == ' ' || c == '\t' }

// isLineChar is an MRZ character, or RTE's padding.
func isLineChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '<' || c == pad
}

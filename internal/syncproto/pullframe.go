package syncproto

// The pull of revision 2: the same lines as revision 1 (a Page, Entries,
// an End), framed in binary instead of JSON, because a pull is almost all
// entries and an entry was mostly repetition: key names, the record type,
// the device and clerk ids, field names, state sources equal to the
// change's own id, base64 and the record's wrapped key with every entry of
// it. Sealed values and wrapped keys travel as raw bytes. Measured on the
// bench's 200-byte records after zstd, an entry costs ~448 bytes instead
// of ~496 as JSON lines; uncompressed ~500 instead of ~1,470.
//
// A frame is a kind byte, the payload's length (uvarint) and the payload:
//
//	'P' Page, JSON
//	'E' Entry, binary (below)
//	'O' the pulling device's own change: seq (delta, uvarint) and version;
//	    the device holds the rest (it pushed it, and the server merged it
//	    as pushed: every field its own, deleted as its op says)
//	'N' End, JSON
//
// An entry is, in this order: seq as the delta to the previous frame's
// (uvarint), version, id, record id, record type (dict), op (dict), the
// field names (count, dict each), the plain values (count, then name
// (dict), old and new (str) each, by name), the sealed values (bytes),
// base version, hlc (str), device (dict), clerk (dict), created at (str),
// a flags byte (1: state is canonical, 2: deleted, 4: key follows), the
// state unless canonical (count, then name (dict), source (id) and version
// each, by name), and the key if flagged. A canonical state is the change
// itself at the entry's version for exactly its fields, which is what a
// change that met no conflict has.
//
// An hlc is a tag byte: 0 and a str, or 1 and, for the canonical form
// (15 digits of wall clock, '-', 10 of counter), the wall clock's
// difference to the previous hlc's (zigzag varint) and the counter. A
// created-at time is a tag byte: 0 and a str, or 1 and, for the UTC form
// of RFC 3339 with nanoseconds that time.Format writes, its difference in
// nanoseconds to the previous one (zigzag varint).
//
// An id is a tag byte: 0 and 16 bytes, a lowercase UUID XORed with the
// previous UUID of the stream (ids made in a row share their clock bits);
// 1 and a str. A str is its length (uvarint) and bytes. A dict string is
// an index into the strings seen so far in the stream, or, one past the
// last, a new string (str) that joins them.

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"time"
)

// Content types of a pull answer: the JSON lines of revision 1 and the
// frames of revision 2.
const (
	PullTypeLines  = "application/x-ndjson"
	PullTypeFrames = "application/x-buergerkoffer-pull"
	// FramesRevision is the first revision whose pull is framed.
	FramesRevision = 2
)

// QueryOwnFull is the pull parameter ("own=full") that asks a revision-2
// server for the device's own changes in full instead of as 'O' frames:
// the device lost its record of one (a restore from a backup, or a push
// whose answer never arrived) and needs the whole change.
const QueryOwnFull = "own"

// ErrMalformed is a pull stream that is not one.
var ErrMalformed = errors.New("syncproto: malformed pull frame")

// Frame kinds.
const (
	framePage  = 'P'
	frameEntry = 'E'
	frameOwn   = 'O'
	frameEnd   = 'N'
)

// Bounds a reader enforces on what comes from the network.
const (
	maxFrameBytes = MaxBodyBytes + 1<<20 // an entry carries at most a pushed change
	maxDict       = 1 << 16
)

const (
	flagCanonical = 1 << iota
	flagDeleted
	flagKey
)

const (
	idUUID = 0
	idText = 1
)

// PullWriter writes the frames of a revision-2 pull. Frames go to a
// buffered writer; Flush sends them on.
type PullWriter struct {
	w       *bufio.Writer
	dict    map[string]uint64
	prevSeq int64
	prevID  [16]byte
	clocks         // the previous hlc and time
	buf     []byte // the current frame's payload
}

// clocks are the previous hlc and created-at time of a stream: both go as
// the difference to them, which is small for changes made in a row.
type clocks struct {
	wall int64 // hlc wall clock, ms
	nano int64 // created at, Unix ns
}

// NewPullWriter returns a writer of frames to w.
func NewPullWriter(w *bufio.Writer) *PullWriter {
	return &PullWriter{w: w, dict: map[string]uint64{}}
}

// Page writes the page frame.
func (p *PullWriter) Page(pg Page) error { return p.json(framePage, pg) }

// End writes the end frame.
func (p *PullWriter) End(e End) error { return p.json(frameEnd, e) }

// Own writes the frame of the pulling device's own change.
func (p *PullWriter) Own(seq, version int64) error {
	p.buf = binary.AppendUvarint(p.buf[:0], uint64(seq-p.prevSeq))
	p.buf = binary.AppendUvarint(p.buf, uint64(version))
	p.prevSeq = seq
	return p.frame(frameOwn)
}

// Entry writes an entry frame. e.Own entries go as Own frames.
func (p *PullWriter) Entry(e *Entry) error {
	if e.Own {
		return p.Own(e.Seq, e.Version)
	}
	b := binary.AppendUvarint(p.buf[:0], uint64(e.Seq-p.prevSeq))
	p.prevSeq = e.Seq
	b = binary.AppendUvarint(b, uint64(e.Version))
	b = p.appendID(b, e.ID)
	b = p.appendID(b, e.RecordID)
	b = p.appendDict(b, e.RecordType)
	b = p.appendDict(b, e.Op)
	b = binary.AppendUvarint(b, uint64(len(e.Fields)))
	for _, f := range e.Fields {
		b = p.appendDict(b, f)
	}
	b = binary.AppendUvarint(b, uint64(len(e.Plain)))
	for _, name := range sortedKeys(e.Plain) {
		b = p.appendDict(b, name)
		b = appendStr(b, e.Plain[name].Old)
		b = appendStr(b, e.Plain[name].New)
	}
	b = appendBytes(b, e.Secret)
	b = binary.AppendUvarint(b, uint64(e.BaseVersion))
	b = p.appendHLC(b, e.HLC)
	b = p.appendDict(b, e.Device)
	b = p.appendDict(b, e.Clerk)
	b = p.appendTime(b, e.CreatedAt)
	var flags byte
	canonical := CanonicalState(e)
	if canonical {
		flags |= flagCanonical
	}
	if e.Deleted {
		flags |= flagDeleted
	}
	if len(e.Key) > 0 {
		flags |= flagKey
	}
	b = append(b, flags)
	if !canonical {
		b = binary.AppendUvarint(b, uint64(len(e.State)))
		for _, name := range sortedKeys(e.State) {
			b = p.appendDict(b, name)
			b = p.appendID(b, e.State[name].Src)
			b = binary.AppendUvarint(b, uint64(e.State[name].Version))
		}
	}
	if len(e.Key) > 0 {
		b = appendBytes(b, e.Key)
	}
	p.buf = b
	return p.frame(frameEntry)
}

// CanonicalState reports whether an entry's state is the change itself,
// at the entry's version, for exactly the fields it names.
func CanonicalState(e *Entry) bool {
	if len(e.State) != len(e.Fields) {
		return false
	}
	for _, f := range e.Fields {
		if st, ok := e.State[f]; !ok || st.Src != e.ID || st.Version != e.Version {
			return false
		}
	}
	return true
}

func (p *PullWriter) json(kind byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("syncproto: pull frame: %w", err)
	}
	p.buf = append(p.buf[:0], b...)
	return p.frame(kind)
}

func (p *PullWriter) frame(kind byte) error {
	var head [1 + binary.MaxVarintLen64]byte
	head[0] = kind
	n := binary.PutUvarint(head[1:], uint64(len(p.buf)))
	if _, err := p.w.Write(head[:1+n]); err != nil {
		return err
	}
	_, err := p.w.Write(p.buf)
	return err
}

func (p *PullWriter) appendDict(b []byte, s string) []byte {
	if i, ok := p.dict[s]; ok {
		return binary.AppendUvarint(b, i)
	}
	i := uint64(len(p.dict))
	if i < maxDict {
		p.dict[s] = i
	}
	// Past the bound the string is sent anew each time (a reader keeps
	// no more than maxDict either).
	return appendStr(binary.AppendUvarint(b, i), s)
}

func (p *PullWriter) appendID(b []byte, id string) []byte {
	u, ok := parseUUID(id)
	if !ok {
		return appendStr(append(b, idText), id)
	}
	b = append(b, idUUID)
	for i := range u {
		b = append(b, u[i]^p.prevID[i])
	}
	p.prevID = u
	return b
}

func appendStr(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendBytes(b []byte, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// parseUUID reads a lowercase canonical UUID (8-4-4-4-12 hex digits),
// the only form that turns back into the same string.
func parseUUID(s string) (u [16]byte, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return u, false
	}
	j := 0
	for i := 0; i < 36; {
		if i == 8 || i == 13 || i == 18 || i == 23 {
			i++
			continue
		}
		hi, ok1 := lowerHex(s[i])
		lo, ok2 := lowerHex(s[i+1])
		if !ok1 || !ok2 {
			return u, false
		}
		u[j] = hi<<4 | lo
		i, j = i+2, j+1
	}
	return u, true
}

func lowerHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// PullReader reads the frames of a revision-2 pull.
type PullReader struct {
	r       *bufio.Reader
	dict    []string
	prevSeq int64
	prevID  [16]byte
	clocks
	buf []byte
}

// NewPullReader returns a reader of the frames in r.
func NewPullReader(r io.Reader) *PullReader {
	return &PullReader{r: bufio.NewReaderSize(r, 64<<10)}
}

// Next reads the next frame into line (which it resets). It returns
// io.EOF at the end of the stream between frames, io.ErrUnexpectedEOF
// within one, an error wrapping ErrMalformed for a frame that is not one,
// and the reader's error otherwise.
func (p *PullReader) Next(line *PullLine) error {
	*line = PullLine{}
	kind, err := p.r.ReadByte()
	if err != nil {
		return err
	}
	n, err := binary.ReadUvarint(p.r)
	if err != nil {
		return unexpected(err)
	}
	if n > maxFrameBytes {
		return fmt.Errorf("%w: frame of %d bytes", ErrMalformed, n)
	}
	if uint64(cap(p.buf)) < n {
		p.buf = make([]byte, n)
	}
	p.buf = p.buf[:n]
	if _, err := io.ReadFull(p.r, p.buf); err != nil {
		return unexpected(err)
	}
	d := &frameDecoder{b: p.buf, p: p}
	switch kind {
	case framePage:
		line.Page = &Page{}
		err = json.Unmarshal(p.buf, line.Page)
	case frameEnd:
		line.End = &End{}
		err = json.Unmarshal(p.buf, line.End)
	case frameOwn:
		line.Entry = &Entry{Own: true}
		line.Entry.Seq = p.seq(d.uvarint())
		line.Entry.Version = d.int()
	case frameEntry:
		line.Entry = d.entry()
	default:
		return fmt.Errorf("%w: kind %q", ErrMalformed, kind)
	}
	if err != nil {
		return fmt.Errorf("%w: %q frame: %w", ErrMalformed, kind, err)
	}
	if d.err != nil {
		return fmt.Errorf("%w: %q frame: %w", ErrMalformed, kind, d.err)
	}
	if len(d.b) != 0 && (kind == frameOwn || kind == frameEntry) {
		return fmt.Errorf("%w: %q frame: %d bytes left over", ErrMalformed, kind, len(d.b))
	}
	return nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (p *PullReader) seq(delta uint64) int64 {
	p.prevSeq += int64(delta)
	return p.prevSeq
}

// frameDecoder reads one frame's payload; the first error sticks and
// every later read returns zero values.
type frameDecoder struct {
	b   []byte
	p   *PullReader
	err error
}

func (d *frameDecoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, a...)
	}
	d.b = nil
}

func (d *frameDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

// int reads a uvarint that must fit an int64.
func (d *frameDecoder) int() int64 {
	v := d.uvarint()
	if v > 1<<62 {
		d.fail("number out of range")
		return 0
	}
	return int64(v)
}

// count reads a count of items of at least one byte each.
func (d *frameDecoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		d.fail("count %d past the frame", v)
		return 0
	}
	return int(v)
}

func (d *frameDecoder) bytes() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length %d past the frame", n)
		return nil
	}
	if n == 0 {
		return nil
	}
	v := make([]byte, n)
	copy(v, d.b[:n])
	d.b = d.b[n:]
	return v
}

func (d *frameDecoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("length %d past the frame", n)
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *frameDecoder) byte1() byte {
	if len(d.b) == 0 {
		d.fail("frame too short")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *frameDecoder) dict() string {
	i := d.uvarint()
	p := d.p
	switch {
	case d.err != nil:
		return ""
	case i < uint64(len(p.dict)):
		return p.dict[i]
	case i == uint64(len(p.dict)):
		s := d.str()
		if d.err == nil && len(p.dict) < maxDict {
			p.dict = append(p.dict, s)
		}
		return s
	case i >= maxDict:
		return d.str() // past the bound: sent anew each time
	}
	d.fail("string %d of %d", i, len(p.dict))
	return ""
}

func (d *frameDecoder) id() string {
	switch d.byte1() {
	case idUUID:
		if len(d.b) < 16 {
			d.fail("frame too short for an id")
			return ""
		}
		var u [16]byte
		for i := range u {
			u[i] = d.b[i] ^ d.p.prevID[i]
		}
		d.b = d.b[16:]
		d.p.prevID = u
		return formatUUID(u)
	case idText:
		return d.str()
	}
	d.fail("id tag")
	return ""
}

func (d *frameDecoder) entry() *Entry {
	e := &Entry{}
	e.Seq = d.p.seq(d.uvarint())
	e.Version = d.int()
	e.ID = d.id()
	e.RecordID = d.id()
	e.RecordType = d.dict()
	e.Op = d.dict()
	e.Fields = make([]string, d.count())
	for i := range e.Fields {
		e.Fields[i] = d.dict()
	}
	if n := d.count(); n > 0 {
		e.Plain = make(map[string]FieldChange, n)
		for range n {
			name := d.dict()
			e.Plain[name] = FieldChange{Old: d.str(), New: d.str()}
		}
	}
	e.Secret = d.bytes()
	e.BaseVersion = d.int()
	e.HLC = d.hlc()
	e.Device = d.dict()
	e.Clerk = d.dict()
	e.CreatedAt = d.time()
	flags := d.byte1()
	if flags&flagCanonical != 0 {
		e.State = make(map[string]FieldState, len(e.Fields))
		for _, f := range e.Fields {
			e.State[f] = FieldState{Src: e.ID, Version: e.Version}
		}
	} else {
		n := d.count()
		e.State = make(map[string]FieldState, n)
		for range n {
			name := d.dict()
			e.State[name] = FieldState{Src: d.id(), Version: d.int()}
		}
	}
	e.Deleted = flags&flagDeleted != 0
	if flags&flagKey != 0 {
		e.Key = d.bytes()
	}
	return e
}

// Tags of hlc and created-at values.
const (
	clockText  = 0
	clockDelta = 1
)

const (
	hlcWallDigits = 15
	hlcLogDigits  = 10
)

// parseHLC reads the canonical form of an hlc timestamp, the only one
// that turns back into the same string.
func parseHLC(s string) (wall int64, logical uint64, ok bool) {
	if len(s) != hlcWallDigits+1+hlcLogDigits || s[hlcWallDigits] != '-' {
		return 0, 0, false
	}
	for i := range len(s) {
		if i != hlcWallDigits && (s[i] < '0' || s[i] > '9') {
			return 0, 0, false
		}
	}
	w, err1 := strconv.ParseInt(s[:hlcWallDigits], 10, 64)
	l, err2 := strconv.ParseUint(s[hlcWallDigits+1:], 10, 64)
	return w, l, err1 == nil && err2 == nil
}

func formatHLC(wall int64, logical uint64) (string, bool) {
	if wall < 0 || wall > 999_999_999_999_999 || logical > 9_999_999_999 {
		return "", false
	}
	b := make([]byte, 0, hlcWallDigits+1+hlcLogDigits)
	w := strconv.FormatInt(wall, 10)
	l := strconv.FormatUint(logical, 10)
	for range hlcWallDigits - len(w) {
		b = append(b, '0')
	}
	b = append(append(b, w...), '-')
	for range hlcLogDigits - len(l) {
		b = append(b, '0')
	}
	return string(append(b, l...)), true
}

func (p *PullWriter) appendHLC(b []byte, s string) []byte {
	wall, logical, ok := parseHLC(s)
	if !ok {
		return appendStr(append(b, clockText), s)
	}
	b = binary.AppendVarint(append(b, clockDelta), wall-p.wall)
	p.wall = wall
	return binary.AppendUvarint(b, logical)
}

// parseTime reads the form of a time that formatTime writes back the same.
func parseTime(s string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Location() != time.UTC || t.Year() < 1678 || t.Year() > 2261 {
		return 0, false // out of UnixNano's range
	}
	return t.UnixNano(), formatTime(t.UnixNano()) == s
}

func formatTime(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

func (p *PullWriter) appendTime(b []byte, s string) []byte {
	ns, ok := parseTime(s)
	if !ok {
		return appendStr(append(b, clockText), s)
	}
	b = binary.AppendVarint(append(b, clockDelta), ns-p.nano)
	p.nano = ns
	return b
}

func (d *frameDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *frameDecoder) hlc() string {
	switch d.byte1() {
	case clockText:
		return d.str()
	case clockDelta:
		wall := d.p.wall + d.varint()
		logical := d.uvarint()
		s, ok := formatHLC(wall, logical)
		if !ok && d.err == nil {
			d.fail("hlc out of range")
		}
		d.p.wall = wall
		return s
	}
	d.fail("hlc tag")
	return ""
}

func (d *frameDecoder) time() string {
	switch d.byte1() {
	case clockText:
		return d.str()
	case clockDelta:
		ns := d.p.nano + d.varint()
		d.p.nano = ns
		if d.err != nil {
			return ""
		}
		return formatTime(ns)
	}
	d.fail("time tag")
	return ""
}

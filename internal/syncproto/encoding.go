package syncproto

// Content codings of push and pull bodies, negotiated with the standard
// headers so that programs from before them keep working:
//
//   - Every request of an agent says Accept-Encoding: zstd, gzip; the
//     server compresses push answers and pull streams with the first it
//     supports (flushing per pull chunk, so the stream still streams) and
//     says so in Content-Encoding. A request without the header (an older
//     agent) gets identity.
//   - Every answer of the server says Accept-Encoding: zstd, gzip (RFC
//     7694): the codings it takes in request bodies. An agent compresses a
//     push body only after an answer of its server said so, so an older
//     server never gets a body it cannot read.
//   - The server applies its body limits to the decompressed bytes (413);
//     a compressed body that is corrupt or cut short is answered 400.
//
// zstd (github.com/klauspost/compress) is preferred: at the same speed it
// compresses JSON lines about a third better than gzip; gzip is there for
// clients that have no zstd (curl, browsers, proxies).

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Content codings.
const (
	EncodingZstd     = "zstd"
	EncodingGzip     = "gzip"
	EncodingIdentity = "identity"
	// AcceptEncoding is what agents ask for and what servers take.
	AcceptEncoding = "zstd, gzip"
)

// maxWindow bounds the zstd window a decoder accepts (a frame asking for
// more is refused, not allocated): the largest body there is.
const maxWindow = MaxBodyBytes

// CodingError is a compressed body that does not decode: corrupt, cut
// short, or of an unknown coding. The server answers it 400.
type CodingError struct {
	Coding string
	Err    error
}

func (e *CodingError) Error() string {
	return fmt.Sprintf("body in %s coding does not decode: %v", e.Coding, e.Err)
}

func (e *CodingError) Unwrap() error { return e.Err }

// ErrUnknownCoding is a Content-Encoding this program does not speak.
var ErrUnknownCoding = errors.New("unsupported content coding")

// PickEncoding returns the coding to answer a request with the given
// Accept-Encoding header: zstd, else gzip, else "" (identity). A coding
// given q=0 is refused; "*" stands for any coding not named.
func PickEncoding(accept string) string {
	if accept == "" {
		return ""
	}
	zq, gq := acceptQ(accept, EncodingZstd), acceptQ(accept, EncodingGzip)
	switch {
	case zq > 0 && zq >= gq:
		return EncodingZstd
	case gq > 0:
		return EncodingGzip
	}
	return ""
}

// Accepts reports whether an Accept-Encoding header admits coding.
func Accepts(accept, coding string) bool { return acceptQ(accept, coding) > 0 }

// acceptQ is the quality an Accept-Encoding header gives coding (0: not
// acceptable).
func acceptQ(accept, coding string) float64 {
	star := -1.0
	for _, part := range strings.Split(accept, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
					q = f
				}
			}
		}
		switch name {
		case coding:
			return q
		case "*":
			star = q
		}
	}
	return max(star, 0)
}

// Encoder compresses a body. Close ends the stream (it does not close
// the writer underneath) and returns the encoder to its pool: it must not
// be used after.
type Encoder interface {
	io.Writer
	Flush() error
	Close() error
}

var (
	zstdEncoders = sync.Pool{New: func() any {
		// One goroutine per stream: a request's body is encoded on the
		// request's goroutine. Errors come only from bad options.
		e, _ := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault),
			zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))
		return e
	}}
	gzipEncoders = sync.Pool{New: func() any {
		w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression)
		return w
	}}
	zstdDecoders = sync.Pool{New: func() any {
		d, _ := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxWindow),
			zstd.WithDecoderMaxMemory(maxWindow))
		return d
	}}
	gzipDecoders sync.Pool // *gzip.Reader; made on first use (NewReader reads the header)
)

// NewEncoder returns a pooled encoder of coding writing to w.
func NewEncoder(w io.Writer, coding string) (Encoder, error) {
	switch coding {
	case EncodingZstd:
		e := zstdEncoders.Get().(*zstd.Encoder)
		e.Reset(w)
		return &zstdEncoder{e: e}, nil
	case EncodingGzip:
		g := gzipEncoders.Get().(*gzip.Writer)
		g.Reset(w)
		return &gzipEncoder{w: g}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCoding, coding)
}

type zstdEncoder struct{ e *zstd.Encoder }

func (z *zstdEncoder) Write(b []byte) (int, error) { return z.e.Write(b) }
func (z *zstdEncoder) Flush() error                { return z.e.Flush() }
func (z *zstdEncoder) Close() error {
	err := z.e.Close()
	z.e.Reset(nil)
	zstdEncoders.Put(z.e)
	z.e = nil
	return err
}

type gzipEncoder struct{ w *gzip.Writer }

func (g *gzipEncoder) Write(b []byte) (int, error) { return g.w.Write(b) }
func (g *gzipEncoder) Flush() error                { return g.w.Flush() }
func (g *gzipEncoder) Close() error {
	err := g.w.Close()
	g.w.Reset(io.Discard)
	gzipEncoders.Put(g.w)
	g.w = nil
	return err
}

// zstdOneShot compresses whole bodies (Compress): EncodeAll may run on
// several goroutines at once, and the encoder keeps its state for good,
// where a sync.Pool would drop it at a garbage collection and make the
// next push allocate it anew.
var zstdOneShot, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(2), zstd.WithEncoderLevel(zstd.SpeedDefault),
	zstd.WithWindowSize(1<<20), zstd.WithLowerEncoderMem(true))

// Compress returns body compressed in coding, in one piece.
func Compress(body []byte, coding string) ([]byte, error) {
	if coding == EncodingZstd {
		return zstdOneShot.EncodeAll(body, make([]byte, 0, len(body)/3+64)), nil
	}
	buf := bytes.NewBuffer(make([]byte, 0, len(body)/3+64))
	e, err := NewEncoder(buf, coding)
	if err != nil {
		return nil, err
	}
	if _, err := e.Write(body); err != nil {
		e.Close()
		return nil, err
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// NewDecoder returns a pooled decoder of coding reading from r. Its read
// errors other than io.EOF are *CodingError; Close returns it to its pool
// (it does not close r). Identity ("" or "identity") returns r as it is.
func NewDecoder(r io.Reader, coding string) (io.ReadCloser, error) {
	switch strings.ToLower(strings.TrimSpace(coding)) {
	case "", EncodingIdentity:
		return io.NopCloser(r), nil
	case EncodingZstd:
		d := zstdDecoders.Get().(*zstd.Decoder)
		if err := d.Reset(r); err != nil {
			zstdDecoders.Put(d)
			return nil, &CodingError{Coding: EncodingZstd, Err: err}
		}
		return &decoder{r: d, coding: EncodingZstd, release: func() { d.Reset(nil); zstdDecoders.Put(d) }}, nil
	case EncodingGzip:
		// The gzip reader reads the header at once: a lazy start keeps
		// NewDecoder from blocking on the network.
		return &decoder{coding: EncodingGzip, start: func() (io.Reader, func(), error) {
			br := bufio.NewReaderSize(r, 4096)
			g, _ := gzipDecoders.Get().(*gzip.Reader)
			var err error
			if g == nil {
				g, err = gzip.NewReader(br)
			} else {
				err = g.Reset(br)
			}
			if err != nil {
				return nil, nil, err
			}
			g.Multistream(false)
			return g, func() { gzipDecoders.Put(g) }, nil
		}}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownCoding, coding)
}

// decoder wraps a stream decoder: typed errors, pooled release.
type decoder struct {
	r       io.Reader
	coding  string
	start   func() (io.Reader, func(), error)
	release func()
	err     error
}

func (d *decoder) Read(b []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	if d.r == nil && d.start != nil {
		r, release, err := d.start()
		d.start = nil
		if err != nil {
			d.err = codingErr(d.coding, err)
			return 0, d.err
		}
		d.r, d.release = r, release
	}
	if d.r == nil {
		return 0, io.ErrClosedPipe
	}
	n, err := d.r.Read(b)
	if err != nil && !errors.Is(err, io.EOF) {
		err = codingErr(d.coding, err)
		d.err = err
	}
	return n, err
}

// codingErr wraps a decoder's error, but lets an error of the reader
// underneath (a body over its limit, a connection gone) through as it is
// inside the CodingError chain, so errors.As finds both.
func codingErr(coding string, err error) error {
	var ce *CodingError
	if errors.As(err, &ce) {
		return err
	}
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &CodingError{Coding: coding, Err: err}
}

func (d *decoder) Close() error {
	if d.release != nil {
		d.release()
		d.release = nil
	}
	d.r = nil
	if d.err == nil {
		d.err = io.ErrClosedPipe
	}
	return nil
}

package server

// Content codings (syncproto/encoding.go): request bodies in zstd or gzip
// are decoded before any handler reads them, so every body limit applies to
// the decoded bytes; push answers and pull streams are compressed for
// agents that ask, flushed with every flush of the handler. Every answer
// names the codings the server takes (Accept-Encoding).

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

// decodeRequests wraps every endpoint: a body with a Content-Encoding the
// server speaks is decoded on the way in; another coding is answered 415
// with the codings it takes.
func decodeRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Accept-Encoding", syncproto.AcceptEncoding)
		coding := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
		if coding == "" || coding == syncproto.EncodingIdentity || r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		// The compressed bytes are bounded too: more of them than the
		// largest decoded body is no body the server takes.
		raw := http.MaxBytesReader(w, r.Body, syncproto.MaxBodyBytes)
		dec, err := syncproto.NewDecoder(raw, coding)
		if errors.Is(err, syncproto.ErrUnknownCoding) {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported Content-Encoding (the server takes "+syncproto.AcceptEncoding+")")
			return
		}
		if err != nil {
			writeError(w, http.StatusBadRequest, "compressed body does not decode")
			return
		}
		defer dec.Close()
		r2 := r.Clone(r.Context())
		r2.Body = &decodedBody{ReadCloser: dec, raw: raw}
		r2.Header.Del("Content-Encoding")
		r2.Header.Del("Content-Length")
		r2.ContentLength = -1
		next.ServeHTTP(w, r2)
	})
}

// decodedBody closes the decoder and the raw body.
type decodedBody struct {
	io.ReadCloser
	raw io.Closer
}

func (d *decodedBody) Close() error {
	d.ReadCloser.Close()
	return d.raw.Close()
}

// compressAnswers wraps a handler whose answers are worth compressing
// (push results, pull streams): it answers in the coding the request's
// Accept-Encoding prefers, identity when it names none the server has.
func compressAnswers(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		coding := syncproto.PickEncoding(r.Header.Get("Accept-Encoding"))
		if coding == "" || r.Method == http.MethodHead {
			h(w, r)
			return
		}
		cw := &compressWriter{ResponseWriter: w, coding: coding}
		defer cw.finish()
		h(cw, r)
	}
}

// compressWriter compresses what a handler writes. The encoder starts with
// the header, so an answer without a body (none written) stays empty.
type compressWriter struct {
	http.ResponseWriter
	coding      string
	enc         syncproto.Encoder
	wroteHeader bool
	plain       bool // a status without a body (1xx, 204, 304): no coding
}

func (c *compressWriter) WriteHeader(status int) {
	if c.wroteHeader {
		return
	}
	c.wroteHeader = true
	h := c.Header()
	if status < 200 || status == http.StatusNoContent || status == http.StatusNotModified || h.Get("Content-Encoding") != "" {
		c.plain = true
		c.ResponseWriter.WriteHeader(status)
		return
	}
	h.Set("Content-Encoding", c.coding)
	h.Del("Content-Length")
	c.ResponseWriter.WriteHeader(status)
	// The coding is one this package asked for: it exists.
	c.enc, _ = syncproto.NewEncoder(c.ResponseWriter, c.coding)
}

func (c *compressWriter) Write(b []byte) (int, error) {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	if c.enc == nil {
		return c.ResponseWriter.Write(b)
	}
	return c.enc.Write(b)
}

// FlushError sends what was written so far as a complete zstd block or
// deflate sync point, then flushes the connection: http.ResponseController
// (the pull's flush per chunk) calls it.
func (c *compressWriter) FlushError() error {
	if !c.wroteHeader {
		c.WriteHeader(http.StatusOK)
	}
	if c.enc != nil {
		if err := c.enc.Flush(); err != nil {
			return err
		}
	}
	return http.NewResponseController(c.ResponseWriter).Flush()
}

// Flush is FlushError for http.Flusher.
func (c *compressWriter) Flush() { _ = c.FlushError() }

// Unwrap lets http.ResponseController reach the connection's deadlines.
func (c *compressWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// finish ends the compressed stream and returns the encoder to its pool.
func (c *compressWriter) finish() {
	if c.enc != nil {
		_ = c.enc.Close() // a client gone: nothing to tell it
		c.enc = nil
	}
}

package agent

// The HTTP transport under the client: the pinned CA, a watchdog that
// ends an attempt once no byte has moved for a while, and the content
// codings (syncproto/encoding.go). A total deadline per request would cut
// a large pull or upload on a slow mobile link; a stall deadline only cuts
// connections that are dead.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/buergerkoffer/kit/internal/syncproto"
)

// newHTTPClient builds the http.Client of a Client from cfg; what the
// server's answers say about the codings it takes goes to codecs.
func newHTTPClient(cfg ClientConfig, codecs *codecState) (*http.Client, error) {
	hc := &http.Client{}
	if cfg.HTTPClient != nil {
		*hc = *cfg.HTTPClient
	}
	base := hc.Transport
	if cfg.CAPEM != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(cfg.CAPEM)) {
			return nil, errors.New("agent: client: the CA certificate is not valid PEM")
		}
		var tr *http.Transport
		switch t := base.(type) {
		case nil:
			tr = defaultTransport()
		case *http.Transport:
			tr = t.Clone()
		default:
			return nil, fmt.Errorf("agent: client: cannot pin a CA on a %T transport", base)
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if tr.TLSClientConfig != nil {
			tc = tr.TLSClientConfig.Clone()
		}
		// Pinning: the pool holds the enrolment's CA and nothing else.
		tc.RootCAs = pool
		tr.TLSClientConfig = tc
		base = tr
	} else if base == nil {
		base = defaultTransport()
	}
	hc.Transport = &codingTransport{next: &stallTransport{next: base, timeout: cfg.Timeout}, state: codecs}
	// Redirects are not part of the protocol; the token stays with the
	// server the device was enrolled with.
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return hc, nil
}

func defaultTransport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 4
	return tr
}

// stallTransport cancels an attempt (with cause errStalled) once neither
// the request body nor the response body has moved a byte for timeout,
// and while the server thinks about its answer for that long.
type stallTransport struct {
	next    http.RoundTripper
	timeout time.Duration
}

func (t *stallTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := newWatchdog(t.timeout, func() { cancel(errStalled) })
	r2 := req.Clone(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		r2.Body = &progressReader{rc: req.Body, w: w}
		if req.GetBody != nil {
			r2.GetBody = func() (io.ReadCloser, error) {
				b, err := req.GetBody()
				if err != nil {
					return nil, err
				}
				return &progressReader{rc: b, w: w}, nil
			}
		}
	}
	resp, err := t.next.RoundTrip(r2)
	if err != nil {
		w.stop()
		cancel(nil)
		return nil, err
	}
	w.kick()
	resp.Body = &progressReader{rc: resp.Body, w: w, done: func() { w.stop(); cancel(nil) }}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// transport underneath.
func (t *stallTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// watchdog calls fire once timeout passed since the last kick. Kicks are
// one atomic store; the timer re-arms itself for the time left.
type watchdog struct {
	timeout time.Duration
	last    atomic.Int64 // unix nanoseconds of the last progress
	stopped atomic.Bool
	timer   *time.Timer
	fire    func()
}

func newWatchdog(timeout time.Duration, fire func()) *watchdog {
	w := &watchdog{timeout: timeout, fire: fire}
	w.kick()
	// Armed only once w.timer is set: check re-arms it.
	w.timer = time.AfterFunc(time.Hour, w.check)
	w.timer.Reset(timeout)
	return w
}

func (w *watchdog) kick() { w.last.Store(time.Now().UnixNano()) }

func (w *watchdog) check() {
	if w.stopped.Load() {
		return
	}
	idle := time.Since(time.Unix(0, w.last.Load()))
	if idle >= w.timeout {
		w.fire()
		return
	}
	w.timer.Reset(w.timeout - idle)
}

func (w *watchdog) stop() {
	w.stopped.Store(true)
	w.timer.Stop()
}

// progressReader kicks the watchdog on every read that moves bytes.
type progressReader struct {
	rc   io.ReadCloser
	w    *watchdog
	done func()
	once atomic.Bool
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.rc.Read(b)
	if n > 0 {
		p.w.kick()
	}
	return n, err
}

func (p *progressReader) Close() error {
	err := p.rc.Close()
	if p.done != nil && p.once.CompareAndSwap(false, true) {
		p.done()
	}
	return err
}

// codecState is what the client knows of its server's codings.
type codecState struct {
	// zstdBodies: the server's last answer said it takes zstd request
	// bodies (Accept-Encoding on an answer, RFC 7694). Until one says so,
	// and again once one does not, push bodies go uncompressed: an older
	// server never gets a body it cannot read.
	zstdBodies atomic.Bool
	// off: never compress nor ask for compressed answers (tests playing
	// an older agent).
	off bool
	// serverProtocol is the syncproto.HeaderProtocol of the server's last
	// answer (a string; "1" before any).
	serverProtocol atomic.Value
}

// codingTransport asks for compressed answers, decodes them (the layers
// above see plain bodies, whose size limits then bound the decoded
// bytes), and notes which codings the server takes in request bodies.
type codingTransport struct {
	next  http.RoundTripper
	state *codecState
}

func (t *codingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.state.off && req.Header.Get("Accept-Encoding") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("Accept-Encoding", syncproto.AcceptEncoding)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if p := resp.Header.Get(syncproto.HeaderProtocol); p != "" { // an answer of syncd serve, not of a proxy
		t.state.serverProtocol.Store(p)
		t.state.zstdBodies.Store(!t.state.off && syncproto.Accepts(resp.Header.Get("Accept-Encoding"), syncproto.EncodingZstd))
	}
	coding := strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding")))
	if coding == "" || coding == syncproto.EncodingIdentity || req.Method == http.MethodHead {
		return resp, nil
	}
	dec, err := syncproto.NewDecoder(resp.Body, coding)
	if err != nil {
		resp.Body.Close()
		return nil, fmt.Errorf("agent: answer in Content-Encoding %q: %w: %w", coding, ErrProtocol, err)
	}
	resp.Body = &decodedBody{ReadCloser: dec, raw: resp.Body}
	resp.Header.Del("Content-Encoding")
	resp.Header.Del("Content-Length")
	resp.ContentLength = -1
	resp.Uncompressed = true
	return resp, nil
}

// CloseIdleConnections reaches the transport underneath.
func (t *codingTransport) CloseIdleConnections() {
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// decodedBody closes the decoder (back to its pool) and the raw body.
type decodedBody struct {
	io.ReadCloser
	raw io.Closer
}

func (d *decodedBody) Close() error {
	d.ReadCloser.Close()
	return d.raw.Close()
}

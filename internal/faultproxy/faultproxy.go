// Package faultproxy owns a fault-injecting TCP proxy for tests and the
// soak test: it sits in front of a server address and makes the network
// misbehave the way a mobile link in a town hall's basement does. It
// refuses, drops, delays, cuts and stalls connections, replays an HTTP
// request to the server, or goes down altogether.
//
// Every decision comes from a *rand.Rand seeded with Faults.Seed, drawn
// when a connection is accepted, so a run with the same seed and the same
// order of connections injects the same faults.
package faultproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the parameters of Faults.
const (
	DefaultDropMaxBytes = 64 << 10
	DefaultCutMaxBytes  = 64 << 10
	DefaultDelayMax     = 50 * time.Millisecond
	DefaultStallFor     = time.Second
)

// maxDuplicateBytes bounds the request the proxy buffers to replay it.
const maxDuplicateBytes = 16 << 20

// Faults says what the proxy does to each new connection. The
// probabilities are in [0,1]; zero parameters mean the defaults.
type Faults struct {
	Seed int64

	// Refuse accepts a connection and closes it at once.
	Refuse float64
	// Drop closes a connection after a random number of bytes, below
	// DropMaxBytes, counted in both directions together.
	Drop         float64
	DropMaxBytes int64
	// Delay adds a random latency in [DelayMin, DelayMax) before each
	// chunk it forwards, in either direction.
	Delay              float64
	DelayMin, DelayMax time.Duration
	// Cut closes the connection after a random number of bytes of the
	// answer (server to client), below CutMaxBytes.
	Cut         float64
	CutMaxBytes int64
	// Stall holds the server's answer once it starts, for StallFor, and
	// then closes the connection without forwarding it: a link that hangs.
	Stall    float64
	StallFor time.Duration
	// Duplicate sends the connection's first HTTP request (one with a
	// Content-Length or no body) to the server a second time, on a
	// connection of its own, and discards that answer: a POST arrives
	// twice.
	Duplicate float64
	// Down resets every connection, including those open when it is set:
	// the network is gone.
	Down bool
}

func (f Faults) withDefaults() Faults {
	if f.DropMaxBytes <= 0 {
		f.DropMaxBytes = DefaultDropMaxBytes
	}
	if f.CutMaxBytes <= 0 {
		f.CutMaxBytes = DefaultCutMaxBytes
	}
	if f.DelayMax <= 0 {
		f.DelayMax = DefaultDelayMax
	}
	f.DelayMin = min(max(f.DelayMin, 0), f.DelayMax)
	if f.StallFor <= 0 {
		f.StallFor = DefaultStallFor
	}
	return f
}

// Stats counts what went through the proxy and each fault it injected.
type Stats struct {
	Conns     int64 // connections accepted
	BytesUp   int64 // forwarded client to server (not counting duplicates)
	BytesDown int64 // forwarded server to client

	Refused    int64
	Dropped    int64
	Delayed    int64 // connections delayed, not reads
	Cut        int64
	Stalled    int64
	Duplicated int64 // requests replayed
	Down       int64 // connections reset while down
}

// Proxy is a running fault-injecting proxy. Its methods are safe for
// concurrent use.
type Proxy struct {
	ln     net.Listener
	target string
	ctx    context.Context // done when the proxy closes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	faults Faults
	rng    *rand.Rand
	live   map[net.Conn]struct{} // client and server sides
	closed bool

	conns, up, down                                       atomic.Int64
	refused, dropped, delayed, cut, stalled, dup, downCnt atomic.Int64
}

// Start listens on a free loopback port and forwards to target
// (host:port). The proxy stops when ctx ends or Close is called; it starts
// without faults.
func Start(ctx context.Context, target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	pctx, cancel := context.WithCancel(ctx)
	p := &Proxy{ln: ln, target: target, ctx: pctx, cancel: cancel, live: map[net.Conn]struct{}{}}
	p.Set(Faults{})
	p.wg.Add(2)
	go func() {
		defer p.wg.Done()
		<-pctx.Done()
		p.shutdown()
	}()
	go func() {
		defer p.wg.Done()
		p.accept()
	}()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is http://Addr().
func (p *Proxy) URL() string { return "http://" + p.Addr() }

// Close stops accepting, closes every connection and waits for all of the
// proxy's goroutines.
func (p *Proxy) Close() error {
	p.cancel()
	p.wg.Wait()
	return nil
}

// shutdown closes the listener and every live connection.
func (p *Proxy) shutdown() {
	p.mu.Lock()
	p.closed = true
	for c := range p.live {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
}

// Set replaces the faults, for connections accepted from now on (and
// Down for open ones too), and reseeds the random source with f.Seed.
func (p *Proxy) Set(f Faults) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = f.withDefaults()
	p.rng = rand.New(rand.NewPCG(uint64(f.Seed), uint64(f.Seed)^0x9e3779b97f4a7c15))
	if f.Down {
		for c := range p.live {
			reset(c)
		}
	}
}

// Stats returns the counts so far.
func (p *Proxy) Stats() Stats {
	return Stats{
		Conns: p.conns.Load(), BytesUp: p.up.Load(), BytesDown: p.down.Load(),
		Refused: p.refused.Load(), Dropped: p.dropped.Load(), Delayed: p.delayed.Load(), Cut: p.cut.Load(),
		Stalled: p.stalled.Load(), Duplicated: p.dup.Load(), Down: p.downCnt.Load(),
	}
}

// reset closes c with an RST where it can: a connection the network lost.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

// track adds c to the live connections; false if the proxy is closing.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.live[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.live, c)
	p.mu.Unlock()
	c.Close()
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			continue // a transient accept error
		}
		p.conns.Add(1)
		pl := p.plan()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(c, pl)
		}()
	}
}

// plan is what happens to one connection.
type plan struct {
	down, refuse bool
	dropAfter    int64 // total bytes; 0: never
	delayMin     time.Duration
	delayMax     time.Duration // 0: no delay
	cutAfter     int64         // bytes down; 0: never
	stallFor     time.Duration
	duplicate    bool
	seed         uint64 // for the delays
}

// plan draws the faults of a new connection. It always draws the same
// numbers, whatever the probabilities, so that one connection's faults do
// not shift the next one's.
func (p *Proxy) plan() plan {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, r := p.faults, p.rng
	var pl plan
	pl.down = f.Down
	pl.refuse = r.Float64() < f.Refuse
	drop, dropN := r.Float64() < f.Drop, 1+r.Int64N(f.DropMaxBytes)
	delay := r.Float64() < f.Delay
	cut, cutN := r.Float64() < f.Cut, 1+r.Int64N(f.CutMaxBytes)
	stall := r.Float64() < f.Stall
	pl.duplicate = r.Float64() < f.Duplicate
	pl.seed = r.Uint64()
	if drop {
		pl.dropAfter = dropN
	}
	if delay {
		pl.delayMin, pl.delayMax = f.DelayMin, f.DelayMax
	}
	if cut {
		pl.cutAfter = cutN
	}
	if stall {
		pl.stallFor = f.StallFor
	}
	return pl
}

// conn is one proxied connection.
type conn struct {
	p         *Proxy
	pl        plan
	c, s      net.Conn
	mu        sync.Mutex
	total     int64     // bytes both ways, for Drop
	downN     int64     // bytes down, for Cut
	faulted   sync.Once // Drop or Cut counted
	stallOnce sync.Once
}

func (p *Proxy) serve(c net.Conn, pl plan) {
	if !p.track(c) {
		c.Close()
		return
	}
	defer p.untrack(c)
	switch {
	case pl.down:
		p.downCnt.Add(1)
		reset(c)
		return
	case pl.refuse:
		p.refused.Add(1)
		return
	}
	var d net.Dialer
	s, err := d.DialContext(p.ctx, "tcp", p.target)
	if err != nil {
		reset(c)
		return
	}
	if !p.track(s) {
		s.Close()
		return
	}
	defer p.untrack(s)
	if pl.delayMax > 0 {
		p.delayed.Add(1)
	}
	k := &conn{p: p, pl: pl, c: c, s: s}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		k.pipe(s, c, true)
	}()
	go func() {
		defer wg.Done()
		k.pipe(c, s, false)
	}()
	wg.Wait()
}

func (k *conn) closeBoth() {
	k.c.Close()
	k.s.Close()
}

// pipe forwards src to dst; up is client to server.
func (k *conn) pipe(dst, src net.Conn, up bool) {
	p, pl := k.p, k.pl
	dir := uint64(2)
	if up {
		dir = 1
	}
	rng := rand.New(rand.NewPCG(pl.seed, dir))
	var dup *dupBuffer
	if up && pl.duplicate {
		dup = &dupBuffer{}
	}
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if pl.delayMax > 0 && !k.sleep(pl.delayMin+time.Duration(rng.Int64N(int64(pl.delayMax-pl.delayMin)+1))) {
				k.closeBoth()
				return
			}
			if !up && pl.stallFor > 0 {
				stalled := false
				k.stallOnce.Do(func() {
					stalled = true
					p.stalled.Add(1)
				})
				if stalled {
					k.sleep(pl.stallFor)
					k.closeBoth()
					return
				}
			}
			if dup != nil {
				if req, done := dup.add(buf[:n]); done {
					dup = nil
					if req != nil {
						p.replay(req)
					}
				}
			}
			m, last := k.allow(n, up)
			if chunk := buf[:m]; len(chunk) > 0 {
				if _, werr := dst.Write(chunk); werr != nil {
					k.closeBoth()
					return
				}
				if up {
					p.up.Add(int64(len(chunk)))
				} else {
					p.down.Add(int64(len(chunk)))
				}
			}
			if last {
				k.closeBoth()
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					tc.CloseWrite()
					return
				}
			}
			k.closeBoth()
			return
		}
	}
}

// allow says how much of a chunk of n bytes may go on, and whether the
// connection ends after it (Drop, Cut), counting the fault once.
func (k *conn) allow(n int, up bool) (int, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	m, last := int64(n), false
	if k.pl.dropAfter > 0 && k.total+m >= k.pl.dropAfter {
		m, last = k.pl.dropAfter-k.total, true
		k.faulted.Do(func() { k.p.dropped.Add(1) })
	}
	if !up && k.pl.cutAfter > 0 && k.downN+m >= k.pl.cutAfter {
		if c := k.pl.cutAfter - k.downN; c <= m {
			m, last = c, true
			k.faulted.Do(func() { k.p.cut.Add(1) })
		}
	}
	k.total += m
	if !up {
		k.downN += m
	}
	return int(m), last
}

// sleep waits d; false if the proxy closed meanwhile.
func (k *conn) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-k.p.ctx.Done():
		return false
	}
}

// replay sends req to the server on a connection of its own and discards
// the answer, in a goroutine the proxy owns.
func (p *Proxy) replay(req []byte) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		var d net.Dialer
		s, err := d.DialContext(p.ctx, "tcp", p.target)
		if err != nil {
			return
		}
		if !p.track(s) {
			s.Close()
			return
		}
		defer p.untrack(s)
		if _, err := s.Write(req); err != nil {
			return
		}
		p.dup.Add(1)
		resp, err := http.ReadResponse(bufio.NewReader(s), nil)
		if err != nil {
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
}

// dupBuffer collects the first HTTP request of a connection.
type dupBuffer struct {
	b    []byte
	want int // total length once the header is parsed; 0: not yet
}

// add appends a chunk; done is true once the request is complete (req is
// its bytes) or cannot be replayed (req is nil).
func (d *dupBuffer) add(chunk []byte) (req []byte, done bool) {
	d.b = append(d.b, chunk...)
	if d.want == 0 {
		i := bytes.Index(d.b, []byte("\r\n\r\n"))
		if i < 0 {
			if len(d.b) > 64<<10 {
				return nil, true
			}
			return nil, false
		}
		head := d.b[:i+4]
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil || len(r.TransferEncoding) > 0 || strings.EqualFold(r.Header.Get("Expect"), "100-continue") {
			return nil, true
		}
		cl := max(r.ContentLength, 0)
		if int64(len(head))+cl > maxDuplicateBytes {
			return nil, true
		}
		d.want = len(head) + int(cl)
	}
	if len(d.b) >= d.want {
		return bytes.Clone(d.b[:d.want]), true
	}
	return nil, false
}

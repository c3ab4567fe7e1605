// Package padsim is the signature pad simulator: the device end of a
// pseudo-terminal that speaks Wacom ISDv4 like a real pad. It answers the
// stop ('0'), query ('*') and start ('1') commands and, once started, streams
// pen packets from a Trace (a recorded raw capture, or a generated
// signature) at the pad's sample rate, optionally with line noise between
// packets.
//
// A pseudo-terminal has no real baud rate, so a pad "running at" another
// rate than the driver's is simulated: on every command byte the simulator
// reads the line speed the driver set on the slave side (the termios of a
// Linux pty master is its slave's) and, if it differs from Config.Baud,
// answers nothing useful, only line garbage, exactly as a real pad at the
// wrong rate would. Where the speed cannot be read the rates are taken to
// match.
//
// The simulator is Unix-only like hardware/sim; elsewhere Start returns
// sim.ErrUnsupported.
package padsim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/hardware/sigpad"
	"github.com/buergerkoffer/kit/hardware/sim"
)

// DefaultCaps is what the simulated pad reports to the query unless
// Config.Caps says otherwise.
var DefaultCaps = sigpad.Query{MaxX: 26312, MaxY: 16520, MaxPressure: 1023, Firmware: 0x0219}

// Trace is what the pad sends once started: packets in order, each sent
// whole, one per sample interval.
type Trace [][]byte

// SplitRaw cuts a raw capture into packets at each lead byte (bit 7 set).
// Bytes before the first lead byte form a packet of their own, so noise in a
// capture is replayed as it was.
func SplitRaw(raw []byte) Trace {
	var t Trace
	start := 0
	for i := 1; i <= len(raw); i++ {
		if i == len(raw) || raw[i]&0x80 != 0 {
			if i > start {
				t = append(t, raw[start:i:i])
			}
			start = i
		}
	}
	return t
}

// PenTrace encodes pen states as packets.
func PenTrace(pens []sigpad.Pen) Trace {
	t := make(Trace, len(pens))
	for i, p := range pens {
		b := p.Encode()
		t[i] = b[:]
	}
	return t
}

// Config describes the simulated pad.
type Config struct {
	// Caps is the query reply. Zero: DefaultCaps.
	Caps sigpad.Query
	// Baud is the rate the pad runs at. Zero: 38400.
	Baud int
	// Interval is the time between packets while streaming. Zero: 7.5 ms
	// (133 samples a second, as ISDv4 pens report).
	Interval time.Duration
	// Trace is streamed after the start command. Nil: Mustermann(Caps).
	Trace Trace
	// Loop restarts the trace after a pause of Pause once it ends; without
	// Loop the pad falls silent (pen out of range) at the end, until the
	// next start command draws the trace again.
	Loop  bool
	Pause time.Duration
	// NoiseEvery inserts 1 to 6 random bytes of line noise after every
	// NoiseEvery-th packet; 0 means none. Noise never lands inside a packet,
	// so a correct decoder still gets every packet; noise with bit 7 set
	// makes a false start that the decoder must drop.
	NoiseEvery int
	// Seed seeds the noise. The same seed gives the same bytes.
	Seed uint64
	// PowerOnSampling makes the pad stream hover packets from the start,
	// as some pads do after power-up, until it gets its first command.
	PowerOnSampling bool
}

func (c Config) withDefaults() Config {
	if c.Caps == (sigpad.Query{}) {
		c.Caps = DefaultCaps
	}
	if c.Baud == 0 {
		c.Baud = 38400
	}
	if c.Interval <= 0 {
		c.Interval = 7500 * time.Microsecond
	}
	if c.Trace == nil {
		c.Trace = PenTrace(Mustermann(c.Caps))
	}
	if c.Pause <= 0 {
		c.Pause = time.Second
	}
	return c
}

// Sim is a running simulated pad.
type Sim struct {
	cfg    Config
	pty    *sim.PTY
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{} // nudges the streamer after a command

	wmu sync.Mutex // serialises writes to the master

	mu        sync.Mutex
	streaming bool
	powerOn   bool // still in power-on sampling
	pos       int  // next packet of the trace
	received  []byte
	sent      int // trace packets sent
	dropped   int // bytes dropped because nobody read the line
	rng       *rand.Rand

	closeOnce sync.Once
	closeErr  error
}

// Start opens a pseudo-terminal and runs the pad on it until ctx ends or
// Close. The driver opens Path.
func Start(ctx context.Context, cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	p, err := sim.OpenPTY()
	if err != nil {
		return nil, fmt.Errorf("padsim: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Sim{
		cfg: cfg, pty: p, cancel: cancel,
		wake:    make(chan struct{}, 1),
		powerOn: cfg.PowerOnSampling,
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x5167_7061_6453_696d)),
	}
	s.wg.Add(2)
	go s.readCommands(ctx)
	go s.stream(ctx)
	return s, nil
}

// Path is the slave side: the "serial port" the driver opens.
func (s *Sim) Path() string { return s.pty.SlavePath }

// Baud is the rate the simulated pad runs at.
func (s *Sim) Baud() int { return s.cfg.Baud }

// Caps is the simulated pad's query reply.
func (s *Sim) Caps() sigpad.Query { return s.cfg.Caps }

// Received returns the command bytes the pad got so far, garbled ones (sent
// at the wrong rate) included.
func (s *Sim) Received() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.received...)
}

// Streaming reports whether the pad is sampling (started and not stopped).
func (s *Sim) Streaming() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.streaming
}

// Sent is how many trace packets the pad has sent.
func (s *Sim) Sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// Dropped is how many bytes the pad dropped because nobody read the line.
func (s *Sim) Dropped() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dropped
}

// Close stops the pad and closes the pseudo-terminal: to a driver that has
// the port open this is the device being unplugged.
func (s *Sim) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		s.wg.Wait()
		s.closeErr = s.pty.Close()
	})
	return s.closeErr
}

// readCommands answers the driver's command bytes.
func (s *Sim) readCommands(ctx context.Context) {
	defer s.wg.Done()
	buf := make([]byte, 64)
	for ctx.Err() == nil {
		ok, err := waitReadable(s.pty.Master, pollInterval)
		if err != nil {
			return
		}
		if !ok {
			continue
		}
		n, err := s.pty.Master.Read(buf)
		for _, c := range buf[:n] {
			s.command(ctx, c)
		}
		if err != nil {
			return
		}
	}
}

// command acts on one byte from the driver.
func (s *Sim) command(ctx context.Context, c byte) {
	match := s.rateMatches()
	s.mu.Lock()
	s.received = append(s.received, c)
	s.powerOn = false
	if !match {
		// At the wrong rate the pad sees a garbled byte and the driver
		// sees garbage back: framing errors with the high bits set, which
		// never form a packet.
		g := []byte{0xf8 | c>>5, 0xfe}
		s.mu.Unlock()
		s.write(ctx, g)
		return
	}
	var reply []byte
	switch c {
	case sigpad.CmdStop:
		s.streaming = false
	case sigpad.CmdStart:
		s.streaming = true
		if s.pos >= len(s.cfg.Trace) {
			// The trace was drawn to the end: the next start (the app
			// opening the pad for the next citizen) draws it again.
			s.pos = 0
		}
	case sigpad.CmdQuery:
		s.streaming = false
		q := s.cfg.Caps.Encode()
		reply = q[:]
	}
	s.mu.Unlock()
	if reply != nil {
		s.write(ctx, reply)
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// rateMatches reports whether the driver's line speed is the pad's.
func (s *Sim) rateMatches() bool {
	baud, ok := lineSpeed(s.pty.Master)
	return !ok || baud == s.cfg.Baud
}

// stream sends trace packets while the pad is started.
func (s *Sim) stream(ctx context.Context) {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	hover := sigpad.Pen{Proximity: true, X: s.cfg.Caps.MaxX / 2, Y: s.cfg.Caps.MaxY / 2}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-tick.C:
		}
		s.mu.Lock()
		var out []byte
		switch {
		case s.powerOn:
			b := hover.Encode()
			out = b[:]
		case s.streaming && s.pos < len(s.cfg.Trace):
			out = append(out, s.cfg.Trace[s.pos]...)
			s.pos++
			s.sent++
			if s.cfg.NoiseEvery > 0 && s.sent%s.cfg.NoiseEvery == 0 {
				out = append(out, s.noise()...)
			}
		case s.streaming && s.cfg.Loop && len(s.cfg.Trace) > 0:
			s.pos = 0
			s.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-time.After(s.cfg.Pause):
			}
			continue
		}
		s.mu.Unlock()
		if out != nil && !s.write(ctx, out) {
			return
		}
	}
}

// noise returns 1 to 6 random bytes; called with mu held.
func (s *Sim) noise() []byte {
	b := make([]byte, 1+s.rng.IntN(6))
	for i := range b {
		b[i] = byte(s.rng.UintN(256))
	}
	return b
}

// write sends b to the driver. If nobody reads the port for a while (no
// driver has it open, or one went away without stopping the pad) the bytes
// are dropped, as a real pad's would be; write reports false only when the
// pseudo-terminal is closed or ctx ended, so that Close never hangs.
func (s *Sim) write(ctx context.Context, b []byte) bool {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	deadline := time.Now().Add(writeTimeout)
	for len(b) > 0 {
		if ctx.Err() != nil {
			return false
		}
		ok, err := waitWritable(s.pty.Master, pollInterval)
		if err != nil {
			return false
		}
		if !ok {
			if time.Now().After(deadline) {
				s.mu.Lock()
				s.dropped += len(b)
				s.mu.Unlock()
				return true
			}
			continue
		}
		n, err := s.pty.Master.Write(b)
		if err != nil {
			return false
		}
		b = b[n:]
	}
	return true
}

// writeTimeout is how long the pad waits for room on the line before it
// drops what it was sending.
const writeTimeout = 200 * time.Millisecond

// pollInterval bounds how long the simulator's goroutines wait on the
// pseudo-terminal before looking at their context again.
const pollInterval = 50 * time.Millisecond

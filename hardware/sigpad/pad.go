// This file is the driver: it starts a pad on a serial port (finding its baud
// rate), then reads pen packets in a goroutine that the pad owns, until the
// caller closes it, its context ends or the device goes away.

package sigpad

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/hardware"
)

// ErrNoReply means the pad sent no valid query reply at any baud rate tried:
// it is not an ISDv4 pad, it is switched off, or the cable is wrong.
var ErrNoReply = errors.New("sigpad: no valid query reply from the pad")

// Config tunes the start-up. The zero value uses the defaults.
type Config struct {
	// Bauds are tried in order. Default: 38400, then 19200.
	Bauds []int
	// StopWait is how long to wait after the stop command before flushing
	// what the pad was still sending. Default 250 ms (as wacom_w8001 does).
	StopWait time.Duration
	// QueryTimeout is how long to wait for the query reply. Default 1 s.
	QueryTimeout time.Duration
	// Buffer is the capacity of the Events channel. Default 256.
	Buffer int
}

func (c Config) withDefaults() Config {
	if len(c.Bauds) == 0 {
		c.Bauds = []int{38400, 19200}
	}
	if c.StopWait <= 0 {
		c.StopWait = 250 * time.Millisecond
	}
	if c.QueryTimeout <= 0 {
		c.QueryTimeout = time.Second
	}
	if c.Buffer <= 0 {
		c.Buffer = 256
	}
	return c
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EventSample carries a pen sample.
	EventSample EventKind = iota + 1
	// EventDisconnected reports that the device went away; Err wraps
	// hardware.ErrDisconnected. It is the last event.
	EventDisconnected
	// EventFailed reports another read error; Err says which. It is the
	// last event.
	EventFailed
)

func (k EventKind) String() string {
	switch k {
	case EventSample:
		return "sample"
	case EventDisconnected:
		return "disconnected"
	case EventFailed:
		return "failed"
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is what the pad's read loop delivers.
type Event struct {
	Kind   EventKind
	Sample Sample // EventSample
	Err    error  // EventDisconnected, EventFailed
}

// Pad is a started signature pad. Its read loop runs until Close, the
// context given to Open ends, or the device fails; then the pad is stopped,
// the port closed and Events closed.
type Pad struct {
	path   string
	baud   int
	caps   Query
	port   hardware.Port
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	stats    Stats
	closeErr error // from stopping the pad and closing the port; set before done closes
}

// Open starts the pad at path: for each baud rate in cfg.Bauds it opens the
// port, sends stop, waits, flushes, sends the query and waits for a valid
// 11-byte reply; on success it sends start and begins reading. Otherwise it
// closes the port and tries the next rate. The read loop lives until Close
// or until ctx ends.
func Open(ctx context.Context, open hardware.Opener, path string, cfg Config) (*Pad, error) {
	cfg = cfg.withDefaults()
	var errs []error
	for _, baud := range cfg.Bauds {
		port, q, dec, err := startAt(ctx, open, path, baud, cfg)
		if err == nil {
			return run(ctx, path, baud, port, q, dec, cfg), nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil || errors.Is(err, hardware.ErrDisconnected) {
			break
		}
	}
	return nil, fmt.Errorf("sigpad: start pad on %s: %w", path, errors.Join(errs...))
}

// startAt runs the start-up sequence at one baud rate. On success the port is
// open and the pad sampling; on failure the port is closed.
func startAt(ctx context.Context, open hardware.Opener, path string, baud int, cfg Config) (_ hardware.Port, _ Query, _ *Decoder, err error) {
	port, err := open(path, baud)
	if err != nil {
		return nil, Query{}, nil, err
	}
	defer func() {
		if err != nil {
			port.Close()
		}
	}()
	if err := writeCmd(port, CmdStop); err != nil {
		return nil, Query{}, nil, err
	}
	select {
	case <-ctx.Done():
		return nil, Query{}, nil, ctx.Err()
	case <-time.After(cfg.StopWait):
	}
	if err := port.Flush(); err != nil {
		return nil, Query{}, nil, err
	}
	if err := writeCmd(port, CmdQuery); err != nil {
		return nil, Query{}, nil, err
	}
	dec := new(Decoder)
	q, err := awaitQuery(ctx, port, dec, cfg.QueryTimeout)
	if err != nil {
		return nil, Query{}, nil, fmt.Errorf("at %d baud: %w", baud, err)
	}
	if err := writeCmd(port, CmdStart); err != nil {
		return nil, Query{}, nil, err
	}
	return port, q, dec, nil
}

func writeCmd(port hardware.Port, cmd byte) error {
	if _, err := port.Write([]byte{cmd}); err != nil {
		return fmt.Errorf("send %q: %w", cmd, err)
	}
	return nil
}

// awaitQuery reads until a valid query reply arrived or timeout passed.
// Pen packets still in flight are skipped.
func awaitQuery(ctx context.Context, port hardware.Port, dec *Decoder, timeout time.Duration) (Query, error) {
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 64)
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return Query{}, err
		}
		n, err := port.Read(buf)
		for _, b := range buf[:n] {
			if p, ok := dec.Push(b); ok && p.Kind == KindQuery && p.Query.Valid() {
				return p.Query, nil
			}
		}
		if err != nil {
			return Query{}, err
		}
	}
	return Query{}, fmt.Errorf("%w within %v", ErrNoReply, timeout)
}

func run(ctx context.Context, path string, baud int, port hardware.Port, q Query, dec *Decoder, cfg Config) *Pad {
	ctx, cancel := context.WithCancel(ctx)
	p := &Pad{
		path: path, baud: baud, caps: q, port: port,
		events: make(chan Event, cfg.Buffer),
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go p.loop(ctx, dec)
	return p
}

// Caps is the pad's query reply: max x, y, pressure and firmware.
func (p *Pad) Caps() Query { return p.caps }

// Baud is the rate the pad answered at.
func (p *Pad) Baud() int { return p.baud }

// Path is the port the pad is on.
func (p *Pad) Path() string { return p.path }

// Events delivers samples and, last, a disconnection or failure. It is
// closed when the read loop ends. Read it promptly: when its buffer is full
// the read loop waits, and the pad's bytes wait in the serial port.
func (p *Pad) Events() <-chan Event { return p.events }

// Done is closed when the read loop has ended and the port is closed.
func (p *Pad) Done() <-chan struct{} { return p.done }

// Stats returns the decoder's counters: dropped packets and line noise.
func (p *Pad) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops the pad, ends the read loop and closes the port. It waits for
// the loop to end and is safe to call more than once.
func (p *Pad) Close() error {
	p.cancel()
	<-p.done
	return p.closeErr
}

// loop reads until ctx ends or the port fails. It owns the port.
func (p *Pad) loop(ctx context.Context, dec *Decoder) {
	defer close(p.done)
	defer close(p.events)
	err := p.read(ctx, dec)
	var final *Event
	switch {
	case err == nil:
	case errors.Is(err, hardware.ErrDisconnected):
		final = &Event{Kind: EventDisconnected, Err: fmt.Errorf("sigpad: pad on %s: %w", p.path, err)}
	default:
		final = &Event{Kind: EventFailed, Err: fmt.Errorf("sigpad: pad on %s: %w", p.path, err)}
	}
	var errs []error
	if err == nil {
		// The device is still there: stop it so it does not stream into
		// the next program that opens the port.
		if err := writeCmd(p.port, CmdStop); err != nil {
			errs = append(errs, fmt.Errorf("sigpad: stop pad on %s: %w", p.path, err))
		}
	}
	if err := p.port.Close(); err != nil && final == nil {
		errs = append(errs, err)
	}
	p.closeErr = errors.Join(errs...)
	if final != nil {
		// Delivered unless nobody listens any more (ctx ended or Close).
		select {
		case p.events <- *final:
		case <-ctx.Done():
		}
	}
}

// read decodes packets into events. It returns nil when ctx ended and the
// port's error otherwise.
func (p *Pad) read(ctx context.Context, dec *Decoder) error {
	buf := make([]byte, 256)
	// A byte on the wire takes 10 bit times (8N1); packets that came in one
	// read get the time their last byte arrived, counted back from now.
	// The estimate never goes before the previous sample's time.
	byteTime := time.Duration(float64(time.Second) * 10 / float64(p.baud))
	var last time.Time
	for {
		if ctx.Err() != nil {
			return nil
		}
		n, err := p.port.Read(buf)
		now := time.Now()
		for i, b := range buf[:n] {
			pk, ok := dec.Push(b)
			if !ok || pk.Kind != KindPen {
				continue
			}
			at := now.Add(-time.Duration(n-1-i) * byteTime)
			if at.Before(last) {
				at = last
			}
			last = at
			s := Sample{Pen: pk.Pen, Time: at}
			copy(s.Raw[:], pk.Bytes())
			select {
			case p.events <- Event{Kind: EventSample, Sample: s}:
			case <-ctx.Done():
				return nil
			}
		}
		if n > 0 {
			p.mu.Lock()
			p.stats = dec.Stats()
			p.mu.Unlock()
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

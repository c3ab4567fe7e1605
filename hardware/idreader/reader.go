// Package idreader owns the ID-document reader: the driver that reads the
// Machine Readable Zone a reader sends over a serial port, in any of the
// framings readers use (frame.go), groups the lines into documents
// (assemble.go), parses them with internal/mrz and reports them, together
// with the reader being unplugged and plugged in again (reader.go).
//
// Documents are personal data: the driver hands them to its caller and
// never logs them; its errors never contain them.
package idreader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/internal/backoff"
	"github.com/buergerkoffer/kit/internal/mrz"
)

// EventKind says what happened at the reader.
type EventKind int

const (
	// EventDocument: a document was read; Event.Document and Event.Result
	// are set.
	EventDocument EventKind = iota + 1
	// EventDisconnected: the reader went away (or was not there when
	// WaitForDevice let Start go on); Event.Err says why. The driver keeps
	// trying to open it again.
	EventDisconnected
	// EventReconnected: the reader is back.
	EventReconnected
	// EventFrameError: bytes were dropped; Event.Err is a *FrameError.
	EventFrameError
)

func (k EventKind) String() string {
	switch k {
	case EventDocument:
		return "document"
	case EventDisconnected:
		return "disconnected"
	case EventReconnected:
		return "reconnected"
	case EventFrameError:
		return "frame error"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing that happened at the reader.
type Event struct {
	Kind     EventKind
	Time     time.Time
	Document *Document   // EventDocument: the lines as read
	Result   *mrz.Result // EventDocument: the lines parsed
	Err      error       // EventDisconnected, EventFrameError
}

// Config says which reader to read and how.
type Config struct {
	// Open opens the port; nil means hardware.OpenSerial.
	Open hardware.Opener
	// Path is the port, e.g. /dev/serial/by-id/usb-… or COM3. A by-id link
	// lets the driver find the reader again in another USB socket.
	Path string
	// Baud is the line speed; 0 means 9600, what most readers default to.
	Baud int
	// Framing is what the reader sends; the zero value accepts any.
	Framing Framing
	// WaitForDevice lets Start succeed when the reader is not plugged in
	// yet: it reports EventDisconnected and waits for it.
	WaitForDevice bool
	// RetryMin and RetryMax bound the pause between attempts to reopen a
	// reader that went away; it doubles from RetryMin up to RetryMax.
	// Zero means 100 ms and 2 s.
	RetryMin, RetryMax time.Duration
	// Now is the clock for events and for MRZ two-digit years; nil means
	// time.Now.
	Now func() time.Time
}

// eventBuffer lets a burst of events wait for a busy consumer.
const eventBuffer = 16

// Reader reads one ID-document reader until Close or until the context given
// to Start ends. It owns one goroutine, which owns the port.
type Reader struct {
	cfg    Config
	events chan Event
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// Start opens the reader and starts reading it. It fails if the port cannot
// be opened, unless cfg.WaitForDevice is set.
func Start(ctx context.Context, cfg Config) (*Reader, error) {
	if cfg.Open == nil {
		cfg.Open = hardware.OpenSerial
	}
	if cfg.Baud == 0 {
		cfg.Baud = 9600
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 100 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(2*time.Second, cfg.RetryMin)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	port, err := cfg.Open(cfg.Path, cfg.Baud)
	if err != nil && !cfg.WaitForDevice {
		return nil, fmt.Errorf("idreader: start: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Reader{cfg: cfg, events: make(chan Event, eventBuffer), cancel: cancel, done: make(chan struct{})}
	go r.run(ctx, port, err)
	return r, nil
}

// Events delivers what happens at the reader. It is closed once the reader
// has stopped.
func (r *Reader) Events() <-chan Event { return r.events }

// Close stops reading, closes the port and waits until that is done.
func (r *Reader) Close() error {
	r.once.Do(r.cancel)
	<-r.done
	return nil
}

// run is the reader's goroutine: read, decode, report; on a read error,
// report, close and reopen. It ends when ctx does.
func (r *Reader) run(ctx context.Context, port hardware.Port, openErr error) {
	defer close(r.done)
	defer close(r.events)
	defer func() {
		if port != nil {
			port.Close()
		}
	}()

	dec := NewDecoder(r.cfg.Framing)
	buf := make([]byte, 256)
	if port == nil {
		r.emit(ctx, Event{Kind: EventDisconnected, Err: openErr})
	}
	for ctx.Err() == nil {
		if port == nil {
			if port = r.reopen(ctx); port == nil {
				return
			}
			dec.Reset()
			r.emit(ctx, Event{Kind: EventReconnected})
			continue
		}
		n, err := port.Read(buf)
		if n > 0 {
			docs, errs := dec.Feed(buf[:n])
			r.report(ctx, docs, errs)
		}
		if err == nil || err == io.EOF { // io.EOF is a read timeout too (Port)
			continue
		}
		if ctx.Err() != nil {
			return
		}
		port.Close()
		port = nil
		if !errors.Is(err, hardware.ErrDisconnected) {
			err = fmt.Errorf("%w: %w", hardware.ErrDisconnected, err)
		}
		r.emit(ctx, Event{Kind: EventDisconnected, Err: fmt.Errorf("idreader: %w", err)})
	}
}

// reopen tries to open the port until it succeeds, pausing before each
// attempt with exponential backoff (the disconnect that led here counts as
// the first failure). It returns nil when ctx ends first.
func (r *Reader) reopen(ctx context.Context) hardware.Port {
	retry := backoff.Policy{Min: r.cfg.RetryMin, Max: r.cfg.RetryMax}
	failures := 1
	t := time.NewTimer(retry.Delay(failures))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		port, err := r.cfg.Open(r.cfg.Path, r.cfg.Baud)
		if err == nil {
			return port
		}
		failures++
		t.Reset(retry.Delay(failures))
	}
}

// report parses the documents and emits them and the frame errors.
func (r *Reader) report(ctx context.Context, docs []Document, errs []error) {
	for _, err := range errs {
		r.emit(ctx, Event{Kind: EventFrameError, Err: err})
	}
	for i := range docs {
		doc := &docs[i]
		res, err := mrz.ParseAt(doc.Lines, r.cfg.Now())
		if err != nil {
			// The assembler only passes MRZ-shaped lines, so this is a
			// bug; report it without the lines.
			r.emit(ctx, Event{Kind: EventFrameError, Err: fmt.Errorf("idreader: %w: %w", ErrFrame, err)})
			continue
		}
		r.emit(ctx, Event{Kind: EventDocument, Document: doc, Result: res})
	}
}

// emit delivers ev unless ctx ends first.
func (r *Reader) emit(ctx context.Context, ev Event) {
	ev.Time = r.cfg.Now()
	select {
	case r.events <- ev:
	case <-ctx.Done():
	}
}

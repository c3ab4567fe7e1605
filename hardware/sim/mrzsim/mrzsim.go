// Package mrzsim simulates an ID-document reader on a pseudo-terminal. It
// sends the Machine Readable Zones of a list of documents in a chosen framing,
// on request or on an interval, and can misbehave the way real readers and
// cables do: line noise, bytes arriving in pieces, being unplugged and
// plugged in again.
//
// A replugged pseudo-terminal has a new path, as a USB adapter gets a new
// /dev/ttyUSBn. With Config.LinkDir the simulator keeps a stable symlink to
// the current port, as /dev/serial/by-id does on real machines; a driver that
// opens the link finds the device again.
package mrzsim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/buergerkoffer/kit/hardware/sim"
)

// ErrUnplugged is returned by sends while the simulated reader is unplugged.
var ErrUnplugged = errors.New("mrzsim: reader unplugged")

// LinkName is the name of the stable link inside Config.LinkDir.
const LinkName = "mrz-reader"

// writeTimeout bounds a write to the port. A real reader's bytes go nowhere
// when no one listens; a pseudo-terminal's would pile up until writes block.
const writeTimeout = time.Second

// Config is what the simulated reader sends and how.
type Config struct {
	// Documents are the documents, as MRZ lines, sent in turn; nil means
	// Samples().
	Documents [][]string
	// Framing is how documents are framed; empty means PlainCR.
	Framing Framing
	// Interval, if positive, sends the next document that often.
	Interval time.Duration
	// Garbage, if set, is written before every document, as line noise.
	Garbage []byte
	// Chunk, if positive, splits every write into pieces of at most Chunk
	// bytes, ChunkPause apart, so the driver reads a document in pieces.
	Chunk int
	// ChunkPause is the pause between pieces; zero means 5 ms.
	ChunkPause time.Duration
	// LinkDir, if set, is a directory in which the simulator keeps a
	// symlink named LinkName to its current port.
	LinkDir string
}

// Simulator is a simulated ID-document reader. Its methods are safe for
// concurrent use.
type Simulator struct {
	cfg    Config
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	pty  *sim.PTY // nil while unplugged
	out  *os.File // writes to the master with a deadline
	next int      // index of the next document Send sends
}

// Start plugs in a simulated reader. If cfg.Interval is set it sends
// documents until ctx ends or Close is called.
func Start(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.Documents == nil {
		cfg.Documents = Samples()
	}
	if cfg.Framing == "" {
		cfg.Framing = PlainCR
	}
	if cfg.ChunkPause <= 0 {
		cfg.ChunkPause = 5 * time.Millisecond
	}
	s := &Simulator{cfg: cfg}
	if err := s.Replug(); err != nil {
		return nil, err
	}
	ctx, s.cancel = context.WithCancel(ctx)
	if cfg.Interval > 0 {
		s.wg.Add(1)
		go s.tick(ctx)
	}
	return s, nil
}

// tick sends a document every Interval until ctx ends. Failed sends (while
// unplugged, or with no one reading) are what a real reader would ignore.
func (s *Simulator) tick(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_ = s.Send()
		}
	}
}

// Path is where a driver opens the reader: the stable link if LinkDir is
// set, otherwise the current pseudo-terminal ("" while unplugged).
func (s *Simulator) Path() string {
	if s.cfg.LinkDir != "" {
		return filepath.Join(s.cfg.LinkDir, LinkName)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pty == nil {
		return ""
	}
	return s.pty.SlavePath
}

// Send sends the next document of the list, starting over after the last.
// A document that could not be sent is tried again by the next Send.
func (s *Simulator) Send() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cfg.Documents) == 0 {
		return errors.New("mrzsim: no documents to send")
	}
	if err := s.sendLocked(s.cfg.Documents[s.next%len(s.cfg.Documents)]); err != nil {
		return err
	}
	s.next++
	return nil
}

// SendDocument sends the given MRZ lines as one document.
func (s *Simulator) SendDocument(lines []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sendLocked(lines)
}

func (s *Simulator) sendLocked(lines []string) error {
	if len(s.cfg.Garbage) > 0 {
		if err := s.writeLocked(s.cfg.Garbage); err != nil {
			return err
		}
	}
	return s.writeLocked(Encode(s.cfg.Framing, lines))
}

// SendRaw writes b as it is: line noise, a broken frame, anything.
func (s *Simulator) SendRaw(b []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeLocked(b)
}

// writeLocked writes b, in pieces if Chunk says so.
func (s *Simulator) writeLocked(b []byte) error {
	if s.pty == nil {
		return ErrUnplugged
	}
	for len(b) > 0 {
		n := len(b)
		if s.cfg.Chunk > 0 && n > s.cfg.Chunk {
			n = s.cfg.Chunk
		}
		if err := s.out.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil && !errors.Is(err, os.ErrNoDeadline) {
			return fmt.Errorf("mrzsim: write: %w", err)
		}
		if _, err := s.out.Write(b[:n]); err != nil {
			return fmt.Errorf("mrzsim: write: %w", err)
		}
		b = b[n:]
		if len(b) > 0 {
			time.Sleep(s.cfg.ChunkPause)
		}
	}
	return nil
}

// Unplug closes the pseudo-terminal and removes the stable link: a driver
// that has the port open sees its device disappear.
func (s *Simulator) Unplug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unplugLocked()
}

func (s *Simulator) unplugLocked() error {
	if s.pty == nil {
		return nil
	}
	var errs []error
	if s.cfg.LinkDir != "" {
		if err := os.Remove(filepath.Join(s.cfg.LinkDir, LinkName)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if s.out != s.pty.Master {
		errs = append(errs, s.out.Close())
	}
	errs = append(errs, s.pty.Close())
	s.pty, s.out = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mrzsim: unplug: %w", err)
	}
	return nil
}

// Replug plugs the reader in again, on a new pseudo-terminal, and points the
// stable link at it. On a plugged-in reader it does nothing.
func (s *Simulator) Replug() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pty != nil {
		return nil
	}
	p, err := sim.OpenPTY()
	if err != nil {
		return fmt.Errorf("mrzsim: plug in: %w", err)
	}
	out, err := deadlineWriter(p)
	if err != nil {
		p.Close()
		return fmt.Errorf("mrzsim: plug in: %w", err)
	}
	if s.cfg.LinkDir != "" {
		link := filepath.Join(s.cfg.LinkDir, LinkName)
		tmp := link + ".new"
		os.Remove(tmp)
		if err := os.Symlink(p.SlavePath, tmp); err == nil {
			err = os.Rename(tmp, link)
		}
		if err != nil {
			if out != p.Master {
				out.Close()
			}
			p.Close()
			return fmt.Errorf("mrzsim: plug in: link: %w", err)
		}
	}
	s.pty, s.out = p, out
	return nil
}

// Close stops sending and unplugs the reader.
func (s *Simulator) Close() error {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unplugLocked()
}

// This file is the one place that opens real serial ports. It wraps
// github.com/tarm/serial so that drivers see the behaviour Port promises on
// every system: reads that time out, an idle read that is "nothing yet" and
// not the end, and a device that went away reported as ErrDisconnected.

package hardware

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"github.com/tarm/serial"
)

// ReadTimeout is how long a Read on a port from OpenSerial waits for the
// first byte. Every port has one: without it Close blocks while a Read is
// pending (tarm/serial on Unix), and a driver could not notice that its
// context ended. 100 ms is the shortest timeout a POSIX tty offers (VTIME is
// in tenths of a second).
const ReadTimeout = 100 * time.Millisecond

// hangupReads is how many zero-byte reads in a row, each returning well
// before ReadTimeout, mean a hung-up line. A healthy tty in non-canonical
// mode with VMIN=0 only returns nothing once VTIME has passed.
const hangupReads = 3

var _ Opener = OpenSerial

// OpenSerial opens the serial device at path (a /dev path, a
// /dev/serial/by-id link, or "COM3" on Windows) at baud, 8N1, with
// ReadTimeout as read timeout.
//
// Read on the returned Port returns (0, nil) when nothing arrived within
// ReadTimeout, and an error wrapping ErrDisconnected once the device is gone
// (unplugged USB adapter, closed pseudo-terminal, removed device node).
func OpenSerial(path string, baud int) (Port, error) {
	sp, err := serial.OpenPort(&serial.Config{Name: path, Baud: baud, ReadTimeout: ReadTimeout})
	if err != nil {
		if isGone(err, true) {
			return nil, fmt.Errorf("hardware: open serial port %s at %d baud: %w: %w", path, baud, ErrDisconnected, err)
		}
		return nil, fmt.Errorf("hardware: open serial port %s at %d baud: %w", path, baud, err)
	}
	p := &serialPort{sp: sp, path: path, closed: make(chan struct{})}
	if fi, err := os.Stat(path); err == nil {
		p.ident = fi
	}
	return p, nil
}

// serialPort is a Port on a tarm/serial port.
type serialPort struct {
	sp    *serial.Port
	path  string
	ident os.FileInfo // what path named when opened; nil where Stat does not work (Windows COM names)

	fastEOFs  int // zero-byte reads in a row that returned early; only Read touches it
	closeOnce sync.Once
	closeErr  error
	closed    chan struct{} // closed by Close
}

func (p *serialPort) isClosed() bool {
	select {
	case <-p.closed:
		return true
	default:
		return false
	}
}

// Read reads what arrived, waiting at most ReadTimeout for the first byte.
func (p *serialPort) Read(b []byte) (int, error) {
	if p.isClosed() {
		return 0, fmt.Errorf("hardware: read %s: %w", p.path, os.ErrClosed)
	}
	start := time.Now()
	n, err := p.sp.Read(b)
	if n > 0 {
		p.fastEOFs = 0
		if err == io.EOF {
			err = nil
		}
	}
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		// On POSIX an idle read that timed out returns 0 bytes, which
		// os.File reports as io.EOF: that is "nothing yet". A hung-up
		// tty returns 0 bytes at once, every time.
		if time.Since(start) >= ReadTimeout/2 || len(b) == 0 {
			p.fastEOFs = 0
			return 0, nil
		}
		p.fastEOFs++
		if p.fastEOFs >= hangupReads || p.replaced() {
			return 0, fmt.Errorf("hardware: read %s: line hung up: %w", p.path, ErrDisconnected)
		}
		return 0, nil
	case p.isClosed() || errors.Is(err, os.ErrClosed):
		return n, fmt.Errorf("hardware: read %s: %w", p.path, os.ErrClosed)
	}
	return n, p.wrap("read", err)
}

// replaced reports whether path no longer names the device that was opened:
// the node is gone, or a by-id link now points at another device.
func (p *serialPort) replaced() bool {
	if p.ident == nil {
		return false
	}
	fi, err := os.Stat(p.path)
	return err != nil || !os.SameFile(fi, p.ident)
}

// Write writes b to the device.
func (p *serialPort) Write(b []byte) (int, error) {
	if p.isClosed() {
		return 0, fmt.Errorf("hardware: write %s: %w", p.path, os.ErrClosed)
	}
	n, err := p.sp.Write(b)
	if err != nil {
		return n, p.wrap("write", err)
	}
	return n, nil
}

// Flush discards bytes received but not yet read.
func (p *serialPort) Flush() error {
	if err := p.sp.Flush(); err != nil {
		return p.wrap("flush", err)
	}
	return nil
}

// Close closes the port. It is safe to call more than once and while another
// goroutine is in Read; it may wait up to ReadTimeout for that Read to end.
func (p *serialPort) Close() error {
	p.closeOnce.Do(func() {
		close(p.closed)
		if err := p.sp.Close(); err != nil {
			p.closeErr = fmt.Errorf("hardware: close %s: %w", p.path, err)
		}
	})
	return p.closeErr
}

// wrap adds the operation and path to err and marks a device that is gone.
func (p *serialPort) wrap(op string, err error) error {
	if isGone(err, false) {
		return fmt.Errorf("hardware: %s %s: %w: %w", op, p.path, ErrDisconnected, err)
	}
	return fmt.Errorf("hardware: %s %s: %w", op, p.path, err)
}

// isGone reports whether err, from opening the port or from using it, says
// the device no longer exists. The errno values differ per system
// (serial_unix.go, serial_windows.go).
func isGone(err error, opening bool) bool {
	return errors.Is(err, fs.ErrNotExist) || isGoneErrno(err, opening)
}

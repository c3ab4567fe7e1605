// Package hardware owns the kit's serial devices: the port layer that the
// drivers talk through, the drivers themselves (idreader, sigpad) and the
// simulators that stand in for real devices on pseudo-terminals.
//
// Drivers never touch github.com/tarm/serial directly; they talk to a Port.
// The real implementation wraps tarm/serial; tests open the slave side of a
// real pseudo-terminal through the very same code path.
package hardware

import (
	"errors"
	"io"
)

// Port is one open serial line. Read returns (0, nil) or (0, io.EOF) when the
// read timeout passed with nothing received; callers treat that as "nothing
// yet", not as the end of the device. A device that is gone returns an error
// wrapping ErrDisconnected.
type Port interface {
	io.Reader
	io.Writer
	io.Closer
	// Flush discards bytes received but not yet read.
	Flush() error
}

// Opener opens the serial device at path with the given baud rate (8N1).
// Drivers that need to change the baud rate (the signature pad falls back
// from 38400 to 19200) close the port and open it again.
type Opener func(path string, baud int) (Port, error)

// ErrDisconnected reports that a device went away (unplugged) while open.
var ErrDisconnected = errors.New("hardware: device disconnected")

// Package sim holds what the device simulators share: a pseudo-terminal whose
// slave side looks to a driver exactly like a serial device.
//
// The simulators stand in for real hardware on our machines, in tests, in
// `make run` and for technicians (`hwtool simulate`). They are Unix-only by
// design; the drivers they exercise are portable.
package sim

import (
	"errors"
	"os"
)

// ErrUnsupported is returned where pseudo-terminals are not available (Windows).
var ErrUnsupported = errors.New("sim: pseudo-terminals are not supported on this system")

// PTY is an open pseudo-terminal pair. The simulator reads and writes Master;
// the driver under test opens SlavePath like any serial port.
type PTY struct {
	Master    *os.File
	SlavePath string
	slave     *os.File // held open so the master never sees EIO while the driver reopens
}

// Close closes both ends. A driver that still has the slave open sees its
// device disappear, which is how tests unplug a device.
func (p *PTY) Close() error {
	var errs []error
	if p.slave != nil {
		errs = append(errs, p.slave.Close())
	}
	if p.Master != nil {
		errs = append(errs, p.Master.Close())
	}
	return errors.Join(errs...)
}

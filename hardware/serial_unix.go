// This file names the errno values with which a Unix tty says its device is
// gone, so that serial.go can report them as ErrDisconnected.

//go:build unix

package hardware

import (
	"errors"
	"syscall"
)

// isGoneErrno: EIO is what a hung-up tty (unplugged USB adapter, closed
// pseudo-terminal master) returns; ENXIO and ENODEV come from opening or
// using a device node whose device has left.
func isGoneErrno(err error, _ bool) bool {
	return errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENODEV)
}

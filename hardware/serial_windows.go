// This file names the Windows errors with which a COM port says its device is
// gone, so that serial.go can report them as ErrDisconnected.

//go:build windows

package hardware

import (
	"errors"
	"syscall"
)

// Windows error codes a removed USB serial adapter produces. syscall does not
// name them all.
const (
	errorGenFailure         = syscall.Errno(31)   // ERROR_GEN_FAILURE
	errorBadCommand         = syscall.Errno(22)   // ERROR_BAD_COMMAND
	errorOperationAborted   = syscall.Errno(995)  // ERROR_OPERATION_ABORTED
	errorDeviceNotConnected = syscall.Errno(1167) // ERROR_DEVICE_NOT_CONNECTED
	errorDeviceRemoved      = syscall.Errno(1617) // ERROR_DEVICE_REMOVED
)

// isGoneErrno reports the errors of a COM port whose device was removed
// (ERROR_FILE_NOT_FOUND, for one that does not exist, is fs.ErrNotExist
// already). ERROR_ACCESS_DENIED means "removed" on an open port but "in use
// by another program" when opening.
func isGoneErrno(err error, opening bool) bool {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	if errno == syscall.ERROR_ACCESS_DENIED {
		return !opening
	}
	switch errno {
	case errorGenFailure, errorBadCommand, errorOperationAborted,
		errorDeviceNotConnected, errorDeviceRemoved:
		return true
	}
	return false
}

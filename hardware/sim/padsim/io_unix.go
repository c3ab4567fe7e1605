// This file waits on the pseudo-terminal master with poll(2). sim.OpenPTY
// leaves the master in blocking mode (it takes its descriptor for the termios
// calls), so a plain Read would block Close until the driver wrote again.

//go:build linux || darwin || freebsd

package padsim

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

func waitReadable(f *os.File, d time.Duration) (bool, error) { return wait(f, unix.POLLIN, d) }
func waitWritable(f *os.File, d time.Duration) (bool, error) { return wait(f, unix.POLLOUT, d) }

// wait polls f for events for at most d. It reports an error when f is closed
// or hung up.
func wait(f *os.File, events int16, d time.Duration) (bool, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return false, err
	}
	var ready bool
	var perr error
	err = rc.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: events}}
		n, err := unix.Poll(fds, int(d/time.Millisecond))
		switch {
		case errors.Is(err, unix.EINTR):
		case err != nil:
			perr = err
		case n > 0 && fds[0].Revents&(unix.POLLNVAL|unix.POLLERR) != 0:
			perr = os.ErrClosed
		case n > 0 && fds[0].Revents&events != 0:
			ready = true
		}
	})
	if err != nil {
		return false, err
	}
	return ready, perr
}

// lineSpeed returns the baud rate the driver set on the slave side; on a
// pty the master's termios is the slave's.
func lineSpeed(master *os.File) (int, bool) {
	rc, err := master.SyscallConn()
	if err != nil {
		return 0, false
	}
	var t *unix.Termios
	var ierr error
	err = rc.Control(func(fd uintptr) {
		t, ierr = unix.IoctlGetTermios(int(fd), ioctlGetTermios)
	})
	if err != nil || ierr != nil || t == nil {
		return 0, false
	}
	return termiosSpeed(t)
}

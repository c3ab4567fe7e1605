// This file gives the simulator a handle on the pseudo-terminal master that
// honours write deadlines, so that a simulator no one reads from never
// blocks for good.

//go:build linux || darwin || freebsd

package mrzsim

import (
	"fmt"
	"os"

	"github.com/buergerkoffer/kit/hardware/sim"
	"golang.org/x/sys/unix"
)

// deadlineWriter duplicates the master in non-blocking mode, which Go's
// poller then serves with deadlines. (pty.Open leaves the master in blocking
// mode, where deadlines are ignored.) The caller closes it before the PTY.
func deadlineWriter(p *sim.PTY) (*os.File, error) {
	fd, err := unix.Dup(int(p.Master.Fd()))
	if err != nil {
		return nil, fmt.Errorf("dup master: %w", err)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("master non-blocking: %w", err)
	}
	return os.NewFile(uintptr(fd), p.Master.Name()), nil
}

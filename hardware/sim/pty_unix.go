//go:build linux || darwin || freebsd

package sim

import (
	"fmt"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// OpenPTY opens a pseudo-terminal with both sides in raw mode, echo off, so
// bytes pass unchanged (otherwise the line discipline turns CR into LF and
// echoes what the driver writes back to it).
func OpenPTY() (*PTY, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("sim: open pty: %w", err)
	}
	for _, f := range []int{int(master.Fd()), int(slave.Fd())} {
		if err := makeRaw(f); err != nil {
			master.Close()
			slave.Close()
			return nil, fmt.Errorf("sim: raw mode: %w", err)
		}
	}
	return &PTY{Master: master, SlavePath: slave.Name(), slave: slave}, nil
}

// makeRaw is cfmakeraw(3).
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, ioctlGetTermios)
	if err != nil {
		return err
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = 1
	t.Cc[unix.VTIME] = 0
	return unix.IoctlSetTermios(fd, ioctlSetTermios, t)
}

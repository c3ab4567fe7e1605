//go:build darwin || freebsd

package padsim

import "golang.org/x/sys/unix"

const ioctlGetTermios = unix.TIOCGETA

// termiosSpeed: the BSDs keep the rate as a number in c_ispeed.
func termiosSpeed(t *unix.Termios) (int, bool) {
	if t.Ispeed == 0 {
		return 0, false
	}
	return int(t.Ispeed), true
}

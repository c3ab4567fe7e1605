//go:build linux

package padsim

import "golang.org/x/sys/unix"

const ioctlGetTermios = unix.TCGETS

// termiosSpeed decodes the CBAUD bits of c_cflag (Linux keeps the rate
// there; tarm/serial sets it there).
func termiosSpeed(t *unix.Termios) (int, bool) {
	switch t.Cflag & unix.CBAUD {
	case unix.B9600:
		return 9600, true
	case unix.B19200:
		return 19200, true
	case unix.B38400:
		return 38400, true
	case unix.B57600:
		return 57600, true
	case unix.B115200:
		return 115200, true
	}
	return 0, false
}

//go:build !(linux || darwin || freebsd)

package sim

// OpenPTY is not available on this system.
func OpenPTY() (*PTY, error) { return nil, ErrUnsupported }

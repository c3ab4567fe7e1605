// This file is the portable half of ListPorts: how candidate serial ports
// are ordered for a technician. Finding them is per system (list_unix.go,
// list_windows.go).

package hardware

import (
	"slices"
	"strconv"
	"strings"
)

// ListPorts returns the serial ports a device may be attached to, best
// candidates first: on Linux the stable /dev/serial/by-id links, then
// /dev/ttyUSB* and /dev/ttyACM* (USB adapters and CDC devices; built-in
// /dev/ttyS* ports are left out because every PC reports dozens of them); on
// Windows the COM ports the system registered. No ports is an empty list,
// not an error.
func ListPorts() ([]string, error) {
	return listPorts()
}

// sortNatural sorts names so that embedded numbers compare as numbers
// (COM2 before COM10, ttyUSB9 before ttyUSB10).
func sortNatural(names []string) {
	slices.SortFunc(names, func(a, b string) int {
		pa, na := splitNumber(a)
		pb, nb := splitNumber(b)
		if pa == pb && na != nb {
			return na - nb
		}
		return strings.Compare(a, b)
	})
}

// splitNumber splits a trailing decimal number off s; n is -1 if there is none.
func splitNumber(s string) (prefix string, n int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return s, -1
	}
	return s[:i], n
}

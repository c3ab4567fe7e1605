// This file finds serial ports on Unix by their device nodes.

//go:build unix

package hardware

import (
	"fmt"
	"path/filepath"
)

// portGlobs are the device nodes worth offering, in order. by-id links come
// first: they survive replugging into another USB socket. The cu.* names are
// macOS's USB adapters and CDC devices.
var portGlobs = [][]string{
	{"dev", "serial", "by-id", "*"},
	{"dev", "ttyUSB*"},
	{"dev", "ttyACM*"},
	{"dev", "cu.usbserial*"},
	{"dev", "cu.usbmodem*"},
}

func listPorts() ([]string, error) {
	return listPortsUnder("/")
}

// listPortsUnder finds ports below root, so that tests can use a fake /dev.
func listPortsUnder(root string) ([]string, error) {
	ports := []string{}
	for _, g := range portGlobs {
		matches, err := filepath.Glob(filepath.Join(append([]string{root}, g...)...))
		if err != nil {
			return nil, fmt.Errorf("hardware: list serial ports: %w", err)
		}
		sortNatural(matches)
		ports = append(ports, matches...)
	}
	return ports, nil
}

// This file finds serial ports on Windows, where they are COM names that the
// serial port drivers register under HARDWARE\DEVICEMAP\SERIALCOMM.

//go:build windows

package hardware

import (
	"errors"
	"fmt"
	"io"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

func listPorts() ([]string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `HARDWARE\DEVICEMAP\SERIALCOMM`, registry.QUERY_VALUE)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
		return []string{}, nil // the key exists only while some COM port does
	}
	if err != nil {
		return nil, fmt.Errorf("hardware: list serial ports: %w", err)
	}
	defer k.Close()
	names, err := k.ReadValueNames(0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("hardware: list serial ports: %w", err)
	}
	ports := []string{}
	for _, n := range names {
		v, _, err := k.GetStringValue(n)
		if err != nil {
			continue // a value that is not a string names no port
		}
		ports = append(ports, v)
	}
	sortNatural(ports)
	return ports, nil
}

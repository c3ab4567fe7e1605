// Tests for finding serial ports on Unix, on a fake /dev.

//go:build unix

package hardware

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// ListPorts offers by-id links first, then USB and ACM ports in numeric
// order, and leaves out built-in ttyS ports.
func TestListPortsUnder(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"dev/ttyUSB10", "dev/ttyUSB2", "dev/ttyACM0", "dev/ttyS0", "dev/tty1"} {
		touch(t, filepath.Join(root, f))
	}
	byID := filepath.Join(root, "dev/serial/by-id")
	if err := os.MkdirAll(byID, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../ttyUSB2", filepath.Join(byID, "usb-Reader_123-if00-port0")); err != nil {
		t.Fatal(err)
	}

	got, err := listPortsUnder(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		filepath.Join(byID, "usb-Reader_123-if00-port0"),
		filepath.Join(root, "dev/ttyUSB2"),
		filepath.Join(root, "dev/ttyUSB10"),
		filepath.Join(root, "dev/ttyACM0"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

func TestListPortsUnder_NoneIsEmpty(t *testing.T) {
	got, err := listPortsUnder(t.TempDir())
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("got %v, %v; want [], nil", got, err)
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Tests for OpenSerial against the slave side of a real pseudo-terminal: the
// same tarm/serial code path a USB adapter takes.
package hardware_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/buergerkoffer/kit/hardware"
	"github.com/buergerkoffer/kit/hardware/sim"
)

func openPTY(t *testing.T) *sim.PTY {
	t.Helper()
	p, err := sim.OpenPTY()
	if errors.Is(err, sim.ErrUnsupported) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

func openSerial(t *testing.T, path string) hardware.Port {
	t.Helper()
	port, err := hardware.OpenSerial(path, 9600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { port.Close() })
	return port
}

// readUntil reads until want bytes arrived or the deadline passed.
func readUntil(t *testing.T, port hardware.Port, n int, within time.Duration) ([]byte, error) {
	t.Helper()
	var got []byte
	buf := make([]byte, 64)
	deadline := time.Now().Add(within)
	for len(got) < n && time.Now().Before(deadline) {
		k, err := port.Read(buf)
		got = append(got, buf[:k]...)
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func TestOpenSerial_ReadsAndWritesRawBytes(t *testing.T) {
	p := openPTY(t)
	port := openSerial(t, p.SlavePath)

	want := []byte("P<UTO\r\n\x01\x02\x03\xff")
	if _, err := p.Master.Write(want); err != nil {
		t.Fatal(err)
	}
	got, err := readUntil(t, port, len(want), 2*time.Second)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read %q, %v; want %q", got, err, want)
	}

	if _, err := port.Write([]byte("1")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(p.Master, b); err != nil || b[0] != '1' {
		t.Fatalf("device read %q, %v; want \"1\"", b, err)
	}
}

// An idle line is "nothing yet": (0, nil) after about ReadTimeout, not EOF.
func TestOpenSerial_IdleReadTimesOut(t *testing.T) {
	p := openPTY(t)
	port := openSerial(t, p.SlavePath)

	for range 3 {
		start := time.Now()
		n, err := port.Read(make([]byte, 16))
		took := time.Since(start)
		if n != 0 || err != nil {
			t.Fatalf("idle Read = %d, %v; want 0, nil", n, err)
		}
		if took < hardware.ReadTimeout/2 || took > 2*time.Second {
			t.Errorf("idle Read took %v, want about %v", took, hardware.ReadTimeout)
		}
	}
}

// A device that goes away while open is reported as ErrDisconnected, soon.
func TestOpenSerial_UnpluggedIsDisconnected(t *testing.T) {
	p := openPTY(t)
	port := openSerial(t, p.SlavePath)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := readUntil(t, port, 1, 2*time.Second)
	if !errors.Is(err, hardware.ErrDisconnected) {
		t.Fatalf("Read after unplug: %v, want ErrDisconnected", err)
	}
	if _, err := port.Write([]byte("1")); !errors.Is(err, hardware.ErrDisconnected) {
		t.Errorf("Write after unplug: %v, want ErrDisconnected", err)
	}
}

// Unplugging a device that is reached through a stable link (as
// /dev/serial/by-id) is noticed too.
func TestOpenSerial_UnpluggedBehindLink(t *testing.T) {
	p := openPTY(t)
	link := filepath.Join(t.TempDir(), "reader")
	if err := os.Symlink(p.SlavePath, link); err != nil {
		t.Fatal(err)
	}
	port := openSerial(t, link)
	p.Close()
	os.Remove(link)
	if _, err := readUntil(t, port, 1, 2*time.Second); !errors.Is(err, hardware.ErrDisconnected) {
		t.Fatalf("Read after unplug: %v, want ErrDisconnected", err)
	}
}

func TestOpenSerial_MissingDeviceIsDisconnected(t *testing.T) {
	_, err := hardware.OpenSerial(filepath.Join(t.TempDir(), "ttyUSB0"), 9600)
	if !errors.Is(err, hardware.ErrDisconnected) {
		t.Fatalf("OpenSerial(missing) = %v, want ErrDisconnected", err)
	}
}

// Close returns promptly while another goroutine is in Read, that Read ends,
// and a second Close is harmless.
func TestOpenSerial_CloseDuringRead(t *testing.T) {
	p := openPTY(t)
	port, err := hardware.OpenSerial(p.SlavePath, 9600)
	if err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		for {
			if _, err := port.Read(make([]byte, 8)); err != nil {
				readErr <- err
				return
			}
		}
	}()
	time.Sleep(20 * time.Millisecond) // let the reader block in Read
	start := time.Now()
	if err := port.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v", took)
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after Close: %v, want os.ErrClosed", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Read did not end after Close")
	}
	if err := port.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

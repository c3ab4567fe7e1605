package sim_test

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/buergerkoffer/kit/hardware/sim"
)

// A CR written by the simulator must reach the driver as CR, and nothing the
// driver writes may echo back: that is what raw mode is for.
func TestOpenPTY_RawBytesPassUnchanged(t *testing.T) {
	p, err := sim.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	drv, err := os.OpenFile(p.SlavePath, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer drv.Close()

	want := []byte("P<UTO\r\x02\x03\x80\xff")
	if _, err := p.Master.Write(want); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(want))
	if _, err := io.ReadFull(drv, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("driver read %q, want %q", got, want)
	}

	if _, err := drv.Write([]byte("1")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(p.Master, b); err != nil || b[0] != '1' {
		t.Fatalf("simulator read %q, %v; want \"1\"", b, err)
	}
}

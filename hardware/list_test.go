// Tests for the portable half of ListPorts: the order ports are offered in.
package hardware

import (
	"slices"
	"testing"
)

func TestSortNatural(t *testing.T) {
	got := []string{"COM10", "COM2", "/dev/ttyUSB10", "COM1", "/dev/ttyUSB9", "/dev/ttyACM0"}
	sortNatural(got)
	want := []string{"/dev/ttyACM0", "/dev/ttyUSB9", "/dev/ttyUSB10", "COM1", "COM2", "COM10"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

//go:build !(linux || darwin || freebsd)

package padsim

import (
	"os"
	"time"

	"github.com/buergerkoffer/kit/hardware/sim"
)

// Start never gets this far here (sim.OpenPTY fails); these keep the package
// building.
func waitReadable(*os.File, time.Duration) (bool, error) { return false, sim.ErrUnsupported }
func waitWritable(*os.File, time.Duration) (bool, error) { return false, sim.ErrUnsupported }
func lineSpeed(*os.File) (int, bool)                     { return 0, false }

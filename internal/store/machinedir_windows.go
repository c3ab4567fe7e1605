//go:build windows

package store

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"
)

// machineDir is the machine's data folder of the kit,
// %ProgramData%\Buergerkoffer: the agent runs as a service (SYSTEM) and
// the app as a clerk, and both must open the same field store.
func machineDir() string {
	if d, err := windows.KnownFolderPath(windows.FOLDERID_ProgramData, 0); err == nil && d != "" {
		return filepath.Join(d, "Buergerkoffer")
	}
	if d := os.Getenv("ProgramData"); d != "" {
		return filepath.Join(d, "Buergerkoffer")
	}
	return `C:\ProgramData\Buergerkoffer`
}

//go:build !windows

package store

import "os"

// packageDir is the field store's folder that the Debian package makes
// (assets/dist/debian/postinst).
const packageDir = "/var/lib/buergerkoffer"

// machineDir is packageDir where the package is installed, "" elsewhere.
func machineDir() string {
	if fi, err := os.Stat(packageDir); err == nil && fi.IsDir() {
		return packageDir
	}
	return ""
}

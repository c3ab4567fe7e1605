// Package version owns which release of the kit a program is: the app,
// `syncd` and `hwtool` print the same string, the agent sends it to the
// server with every request, and the server keeps it per device.
//
// The string is set at build time from git (make build, make dist):
//
//	go build -ldflags "-X github.com/buergerkoffer/kit/internal/version.version=$(git describe --tags --always --dirty)"
//
// A build without it (go build, go test) says "dev".
package version

import "strings"

// version is set by the linker (-X); see the package comment.
var version = ""

// Dev is the version of a build that was not given one.
const Dev = "dev"

// String returns this program's version: a git description such as
// "v0.2.0", "v0.2.0-3-gabc1234-dirty" or a bare commit, or Dev.
func String() string {
	v := strings.TrimSpace(version)
	if v == "" {
		return Dev
	}
	return v
}

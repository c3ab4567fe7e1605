package main

// `syncd version`: the kit's version, the same that the app and hwtool
// print and that the agent sends to the server (internal/version).

import (
	"context"
	"fmt"
	"io"

	"github.com/buergerkoffer/kit/internal/syncproto"
	"github.com/buergerkoffer/kit/internal/version"
)

func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: syncd version")
		return 2
	}
	fmt.Fprintf(stdout, "syncd %s (protocol %s)\n", version.String(), syncproto.Revisions())
	return 0
}

package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/buergerkoffer/kit/internal/syncproto"
	"github.com/buergerkoffer/kit/internal/version"
)

func TestVersion(t *testing.T) {
	want := "syncd " + version.String() + " (protocol " + syncproto.Revisions().String() + ")\n"
	for _, args := range [][]string{{"version"}, {"--version"}} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), args, &out, &errOut); code != 0 || out.String() != want {
			t.Errorf("syncd %v: exit %d, %q; want %q", args, code, out.String(), want)
		}
	}
}

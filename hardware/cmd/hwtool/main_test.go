// Tests for hwtool's wiring: commands, usage and exit codes. Each subcommand
// has its own test file.
package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/buergerkoffer/kit/internal/version"
)

// syncBuffer is a bytes.Buffer that a running command may write while the
// test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func runHwtool(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRun_Usage(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
	}{
		{nil, 2},
		{[]string{"frobnicate"}, 2},
		{[]string{"help"}, 0},
		{[]string{"listen", "--port", "/dev/null"}, 2},                // no device
		{[]string{"listen", "--device", "toaster", "--port", "x"}, 2}, // unknown device
		{[]string{"listen", "--device", "mrz"}, 2},                    // no port
		{[]string{"listen", "--device=mrz", "--port", "x", "--framing", "morse"}, 2},
		{[]string{"simulate"}, 2},
		{[]string{"simulate", "--device", "toaster"}, 2},
		{[]string{"simulate", "--device", "mrz", "--framing", "morse"}, 2},
		{[]string{"mrz", "extra"}, 2},
	}
	for _, tt := range tests {
		code, _, stderr := runHwtool(t, "", tt.args...)
		if code != tt.wantCode {
			t.Errorf("hwtool %v: exit %d, want %d (stderr %q)", tt.args, code, tt.wantCode, stderr)
		}
	}
}

// hwtool prints the same version as the app and syncd.
func TestRun_Version(t *testing.T) {
	for _, arg := range []string{"version", "--version"} {
		if code, out, _ := runHwtool(t, "", arg); code != 0 || out != "hwtool "+version.String()+"\n" {
			t.Errorf("hwtool %s: exit %d, %q", arg, code, out)
		}
	}
}

func TestRun_Ports(t *testing.T) {
	code, _, stderr := runHwtool(t, "", "ports")
	if code != 0 {
		t.Errorf("hwtool ports: exit %d, stderr %q", code, stderr)
	}
}

func TestSplitDevice(t *testing.T) {
	tests := []struct {
		args       []string
		wantDevice string
		wantRest   []string
	}{
		{[]string{"--device", "mrz", "--port", "P"}, "mrz", []string{"--port", "P"}},
		{[]string{"--port", "P", "-device=sigpad", "--baud", "19200"}, "sigpad", []string{"--port", "P", "--baud", "19200"}},
	}
	for _, tt := range tests {
		device, rest, err := splitDevice(tt.args)
		if err != nil || device != tt.wantDevice || strings.Join(rest, " ") != strings.Join(tt.wantRest, " ") {
			t.Errorf("splitDevice(%v) = %q, %v, %v", tt.args, device, rest, err)
		}
	}
	if _, _, err := splitDevice([]string{"--device"}); err == nil {
		t.Error("splitDevice(--device) without value succeeded")
	}
}

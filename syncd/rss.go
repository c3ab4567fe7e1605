package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// selfPeakRSSKiB returns this process's peak resident set size (VmHWM,
// Linux), 0 where the kernel does not tell. A parent cannot measure it
// for a child with getrusage: on Linux a child's ru_maxrss starts from the
// parent's RSS at fork, so a large parent hides a small child.
func selfPeakRSSKiB() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

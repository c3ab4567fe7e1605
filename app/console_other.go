//go:build !windows

package main

import (
	"io"
	"os"
)

// stdout is where --version prints (see console_windows.go).
func stdout() io.Writer { return os.Stdout }

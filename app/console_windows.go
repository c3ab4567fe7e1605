//go:build windows

package main

import (
	"io"
	"os"

	"golang.org/x/sys/windows"
)

var procAttachConsole = windows.NewLazySystemDLL("kernel32.dll").NewProc("AttachConsole")

// attachParentProcess is ATTACH_PARENT_PROCESS, (DWORD)-1.
const attachParentProcess = ^uint32(0)

// stdout is where --version prints. The Windows build is a GUI program
// (-H windowsgui): started from cmd or PowerShell it has no standard
// output unless redirected, so it attaches to its parent's console. (cmd
// and PowerShell do not wait for a GUI program: the line may come after
// the next prompt; `buergerkoffer.exe --version | more` waits.)
func stdout() io.Writer {
	if h, err := windows.GetStdHandle(windows.STD_OUTPUT_HANDLE); err == nil && h != 0 && h != windows.InvalidHandle {
		return os.Stdout // redirected to a file or a pipe
	}
	if r, _, _ := procAttachConsole.Call(uintptr(attachParentProcess)); r == 0 {
		return os.Stdout
	}
	f, err := os.OpenFile("CONOUT$", os.O_WRONLY, 0)
	if err != nil {
		return os.Stdout
	}
	return f
}

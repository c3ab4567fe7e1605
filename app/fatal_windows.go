//go:build windows

package main

import "golang.org/x/sys/windows"

// showFatal shows why the app cannot start. The Windows build is a GUI
// program (-H windowsgui) with no console, so stderr reaches no one; a
// clerk not (yet) in the group Buergerkoffer, for one, is told here that
// the field store cannot be opened.
func showFatal(msg string) {
	title, _ := windows.UTF16PtrFromString("Bürgerkoffer")
	text, err := windows.UTF16PtrFromString(msg)
	if err != nil {
		return
	}
	windows.MessageBox(0, text, title, windows.MB_OK|windows.MB_ICONERROR)
}

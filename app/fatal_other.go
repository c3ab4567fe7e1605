//go:build !windows

package main

// showFatal: elsewhere the app is started from a menu or a terminal that
// shows stderr (or its log); nothing more to do.
func showFatal(string) {}

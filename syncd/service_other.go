//go:build !windows

package main

// runAsService is Windows only (service_windows.go); elsewhere systemd
// runs `syncd agent` as an ordinary process (assets/dist/debian).
func runAsService([]string) (int, bool) { return 0, false }

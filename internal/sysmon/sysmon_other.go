//go:build !linux

package sysmon

// Hold does nothing outside Linux (the workaround is measured there only).
func Hold() (release func(), ok bool) { return func() {}, false }

// Steady does nothing outside Linux (it re-executes through /proc/self/exe).
func Steady() error { return nil }

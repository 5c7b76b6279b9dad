//go:build !linux

package sysmon

// Hold does nothing outside Linux (the workaround is measured there only).
func Hold() (release func(), ok bool) { return func() {}, false }

// Steady does nothing outside Linux (measured, and its re-execution tested, there only).
func Steady() error { return nil }

package sysmon

import (
	"fmt"
	"os"
	"syscall"
)

// Steady re-executes the running program (same arguments, same process id) with
// SteadyGODEBUG added to its environment, unless GODEBUG already sets schedtrace; it
// returns only if it did not (nil) or could not (the error) re-execute. Call it
// first thing, before the process has done anything it would do twice.
func Steady() error {
	env, changed := steadyEnv(os.Environ())
	if !changed {
		return nil
	}
	// By its own path, so that the process keeps its name (ps, pgrep and top show
	// the executable's file name, which would be "exe" through /proc/self/exe); by
	// /proc/self/exe only if that fails (the binary replaced, say). Exec returns
	// only when it fails.
	if path, err := os.Executable(); err == nil {
		syscall.Exec(path, os.Args, env)
	}
	err := syscall.Exec("/proc/self/exe", os.Args, env)
	return fmt.Errorf("re-executing with GODEBUG=%s: %w", SteadyGODEBUG, err)
}

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
	if err := syscall.Exec("/proc/self/exe", os.Args, env); err != nil {
		return fmt.Errorf("re-executing with GODEBUG=%s: %w", SteadyGODEBUG, err)
	}
	return nil
}

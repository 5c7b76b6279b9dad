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
	// /proc/self/exe only if that path is gone (the binary replaced, say).
	var err error = syscall.ENOENT
	if path, perr := os.Executable(); perr == nil {
		err = syscall.Exec(path, os.Args, env)
	}
	if err != nil {
		err = syscall.Exec("/proc/self/exe", os.Args, env)
	}
	return fmt.Errorf("re-executing with GODEBUG=%s: %w", SteadyGODEBUG, err)
}

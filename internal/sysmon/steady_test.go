package sysmon

import (
	"slices"
	"testing"
)

func TestSteadyEnv(t *testing.T) {
	for _, c := range []struct {
		in, want []string
		changed  bool
	}{
		{[]string{"A=1"}, []string{"A=1", "GODEBUG=" + SteadyGODEBUG}, true},
		{[]string{"GODEBUG=", "A=1"}, []string{"GODEBUG=" + SteadyGODEBUG, "A=1"}, true},
		{[]string{"GODEBUG=gctrace=1"}, []string{"GODEBUG=" + SteadyGODEBUG + ",gctrace=1"}, true},
		// The operator's schedtrace stands, whatever its value.
		{[]string{"GODEBUG=gctrace=1,schedtrace=0"}, []string{"GODEBUG=gctrace=1,schedtrace=0"}, false},
		{[]string{"GODEBUG=schedtrace=1000"}, []string{"GODEBUG=schedtrace=1000"}, false},
		// Only the first GODEBUG counts (it is what the runtime reads).
		{[]string{"GODEBUG=x=1", "GODEBUG=schedtrace=5"}, []string{"GODEBUG=" + SteadyGODEBUG + ",x=1"}, true},
	} {
		got, changed := steadyEnv(slices.Clone(c.in))
		if !slices.Equal(got, c.want) || changed != c.changed {
			t.Errorf("steadyEnv(%q) = %q, %v; want %q, %v", c.in, got, changed, c.want, c.changed)
		}
	}
}

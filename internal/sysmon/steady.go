package sysmon

import (
	"strings"
)

// SteadyGODEBUG is the setting Steady runs the process with: GODEBUG's schedtrace at
// its longest period, 2^31-1 ms (24.8 days).
//
// The runtime lets sysmon sleep deeply only while schedtrace is off (see sysmon in
// runtime/proc.go: a scheduler trace must be printed on time). With it on, sysmon
// never sleeps deeply, so no system call after an idle spell resets it to its 20 µs
// interval: it backs off to 10 ms whenever it finds nothing to do, and stays there.
// Unlike Hold, no P is occupied, so garbage collections are not held up.
//
// The price: the runtime prints one line of scheduler statistics ("SCHED ...") to
// standard error every 24.8 days of the host's uptime (at start already on a host up
// longer than that), and a fatal error also dumps the scheduler's state.
//
// Measured with `corral bench`, three members on loopback on a 2-core VM, three
// alternating 6 s runs each, 16 churners: session churn 1262-1474 -> 1528-1957
// sessions/s, server CPU per session 779-923 -> 544-684 µs, context switches per
// session 21-22 -> 8, system calls 54 -> 37. Two pairs each of 5 s runs: 256
// churners 2628-2841 -> 2875-3751; set 16x16 28985-29320 -> 30960-35583 with p99
// 24 -> 18-20 ms; get +7-8 %; create unchanged; watch 5602-6148 -> 6233-7382 events/s
// (p99 0.71-0.83 -> 0.60-0.78 ms); lock 440-470 -> 568-569 acquisitions/s (p99
// 50-56 -> 40-44 ms).
const SteadyGODEBUG = "schedtrace=2147483647"

// steadyEnv returns env with SteadyGODEBUG added to GODEBUG, and whether anything
// changed: nothing does when GODEBUG already sets schedtrace (an operator's setting
// stands).
func steadyEnv(env []string) ([]string, bool) {
	out := make([]string, 0, len(env)+1)
	found := false
	for _, kv := range env {
		v, ok := strings.CutPrefix(kv, "GODEBUG=")
		if !ok {
			out = append(out, kv)
			continue
		}
		if found {
			continue // a later duplicate: the first one is what Getenv sees
		}
		found = true
		for _, f := range strings.Split(v, ",") {
			if k, _, _ := strings.Cut(strings.TrimSpace(f), "="); k == "schedtrace" {
				return env, false
			}
		}
		if strings.TrimSpace(v) == "" {
			kv = "GODEBUG=" + SteadyGODEBUG
		} else {
			// Settings later in GODEBUG win over earlier ones: the operator's go last.
			kv = "GODEBUG=" + SteadyGODEBUG + "," + v
		}
		out = append(out, kv)
	}
	if !found {
		out = append(out, "GODEBUG="+SteadyGODEBUG)
	}
	return out, true
}

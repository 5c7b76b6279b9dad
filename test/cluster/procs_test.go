package cluster

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/fourlw"
)

// TestColocatedMembersShareCPUs: three members on loopback divide the host's CPUs in
// four shares, two for the leader and one for each follower (mntr's
// corral_gomaxprocs), and a member that becomes the leader takes the leader's share.
func TestColocatedMembersShareCPUs(t *testing.T) {
	// The servers inherit the environment, and a GOMAXPROCS there would stand.
	t.Setenv("GOMAXPROCS", "")
	os.Unsetenv("GOMAXPROCS")
	cpus := runtime.NumCPU()
	follower := max(1, cpus/4)
	leader := min(cpus, 2*follower)

	procs := corralproc.StartCluster(t, 3)
	check := func(live []*corralproc.Proc) string {
		var got []string
		ok := true
		for _, p := range live {
			mode, n := p.Mode(), fourlw.Line(p.Addr(), "mntr", "corral_gomaxprocs\t")
			got = append(got, mode+"="+n)
			switch {
			case mode == "leader" && n != fmt.Sprint(leader):
				ok = false
			case mode == "follower" && n != fmt.Sprint(follower):
				ok = false
			case mode != "leader" && mode != "follower":
				ok = false
			}
		}
		if ok {
			return ""
		}
		return strings.Join(got, " ")
	}
	want := fmt.Sprintf("GOMAXPROCS leader=%d, followers=%d (%d CPUs)", leader, follower, cpus)
	// waitFor reports only what it waited for: what was seen goes to the log.
	shares := func(live []*corralproc.Proc) func() bool {
		seen := ""
		return func() bool {
			got := check(live)
			if got != "" && got != seen {
				t.Logf("GOMAXPROCS by role: %s", got)
				seen = got
			}
			return got == ""
		}
	}
	waitFor(t, want, 15*time.Second, shares(procs))

	// The leader goes: one of the followers takes its place, and its share.
	for i, p := range procs {
		if p.Mode() == "leader" {
			p.Kill()
			procs = append(procs[:i:i], procs[i+1:]...)
			break
		}
	}
	waitFor(t, want, 15*time.Second, shares(procs))
}

// TestSteadySysmon: the server runs with GODEBUG's schedtrace at its longest period
// (it re-executes itself in place, keeping its process id, once at start), keeps the
// operator's other GODEBUG settings, and leaves GODEBUG alone with
// --steady-sysmon=false.
func TestSteadySysmon(t *testing.T) {
	t.Setenv("GODEBUG", "madvdontneed=1")
	on := corralproc.Start(t)
	if got := procEnv(t, on.PID(), "GODEBUG"); got != "schedtrace=2147483647,madvdontneed=1" {
		t.Errorf("GODEBUG of the server = %q, want schedtrace=2147483647,madvdontneed=1", got)
	}
	// It keeps its name: ps and pgrep find it as corral, not as "exe".
	name := filepath.Base(corralproc.Build(t))
	if len(name) > 15 {
		name = name[:15] // the kernel keeps 15 bytes of it
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", on.PID())); err != nil || strings.TrimSpace(string(b)) != name {
		t.Errorf("the server's name after re-executing: %q (%v), want %q", b, err, name)
	}
	off := corralproc.Start(t, "--steady-sysmon=false")
	if got := procEnv(t, off.PID(), "GODEBUG"); got != "madvdontneed=1" {
		t.Errorf("GODEBUG of the server with --steady-sysmon=false = %q, want madvdontneed=1", got)
	}
	// An operator's schedtrace stands.
	t.Setenv("GODEBUG", "schedtrace=0")
	own := corralproc.Start(t)
	if got := procEnv(t, own.PID(), "GODEBUG"); got != "schedtrace=0" {
		t.Errorf("GODEBUG of the server started with schedtrace=0 = %q", got)
	}
}

// procEnv reads one variable of a running process's environment (Linux /proc).
func procEnv(t *testing.T, pid int, key string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range strings.Split(string(b), "\x00") {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

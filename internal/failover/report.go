package failover

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// NotesMarker starts the part of docs/failover.md that WriteMarkdown keeps from the
// existing file: hand-written analysis survives a re-run.
const NotesMarker = "<!-- notes: everything below this line is kept when the file is regenerated -->"

// Meta describes a run for the report.
type Meta struct {
	Command  string // the exact command that produced it
	Revision string // corral's revision
}

// Machine describes this machine in one line: CPU model, cores, memory, kernel.
func Machine() string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%s, %d cores%s%s, %s", cpu, runtime.NumCPU(), mem, kernel, runtime.Version())
}

// WriteMarkdown writes the report of a run: the summary table, the verdicts against the
// targets, every trial, and the method. keptNotes is appended after NotesMarker.
func WriteMarkdown(w io.Writer, cfg Config, res *Result, meta Meta, keptNotes string) {
	sums := Summarize(res.Trials)
	c := cfg.Client.withDefaults(2)
	fmt.Fprintf(w, `# Failover: write outage when the leader is killed or frozen

Measured by `+"`scripts/failover.sh`"+` (the program is `+"`internal/failover`"+`). Issue 4, item 4: in one
run beside a 3-member ZooKeeper, the write outage seen by clients of the surviving members when
the leader is killed (SIGKILL) and when it is frozen (SIGSTOP). Targets, with default settings:
on kill no longer than ZooKeeper's; on freeze at most 2 s.

## Latest run

- Date: %s (took %s)
- Machine: %s
- corral: %s (srvr: %s), default settings
- ZooKeeper: %s, Debian's package, tickTime=2000, initLimit=10, syncLimit=5 (its defaults)
- Command: `+"`%s`"+`

`, res.Started.UTC().Format("2006-01-02 15:04 MST"), res.Took.Round(time.Second), Machine(),
		orDash(meta.Revision), orDash(res.Versions["corral"]), orDash(res.Versions["zookeeper"]), meta.Command)
	WriteSummaryTable(w, sums)
	fmt.Fprintln(w)
	for _, v := range Verdicts(sums) {
		fmt.Fprintf(w, "- %s\n", v)
	}
	fmt.Fprintf(w, "\n### Every trial\n\n")
	WriteTrialTable(w, res.Trials)
	fmt.Fprintf(w, `
## Method

- Each system runs as a fresh 3-member ensemble on 127.0.0.1 (free ports, a temporary data
  directory per member, removed afterwards), one system after the other on the same machine.
  corral is started with only `+"`--id --client-addr --data-dir --peer-addr --peers`"+` (and
  `+"`--admin-addr \"\"`"+`, since three members on one host cannot share the admin port);
  ZooKeeper as `+"`QuorumPeerMain`"+` with its default timing.
- Before each trial the program waits until all three members answer `+"`srvr`"+` with
  `+"`Mode: leader`"+` or `+"`follower`"+`, exactly one leader. %d writer sessions then connect
  only to the two other members (half to each) and each does `+"`setData`"+` of its own
  znode (%d B) in a loop, one request at a time, as fast as the server answers. The client is
  corral's minimal protocol client (`+"`internal/bench`"+`), the same for both systems. A session whose
  request fails or gets no reply within %s (two thirds of its %s session timeout, as ZooKeeper's
  Java client) drops the connection and opens a new session on the other member (connect +
  handshake bounded by %s, the session timeout over the number of hosts, as the Java client), pausing %s
  only after a failed connect — no back-off, so the figures are the servers'.
- After %s of writing, the leader gets SIGKILL or SIGSTOP, by PID. **Outage** is the largest
  gap between consecutive successful writes of all sessions together, from the last write before the fault
  to the end of the fault window; **first write** is the time from the fault to the first
  successful write sent after it; **worst session** is the largest such gap of any single session.
  The fault window lasts until the writes have resumed for %s (a frozen leader stays stopped at
  least %s). Then the killed member is restarted (same data) or the frozen one gets SIGCONT,
  and the writers keep going until it is back as a follower, plus 1 s: the **rejoin gap** is the largest gap
  from the restart or SIGCONT until then.
- Faults alternate kill, freeze, %d rounds per system; each fault hits whoever leads then. The whole
  run is bounded (%s); every process it starts is killed by its PID at the end.

`, c.Sessions, c.ValueSize, c.ReadTimeout.Round(time.Millisecond), c.SessionTimeout, c.ConnectTimeout,
		c.RetryPause, cfg.Warmup, cfg.After, cfg.FreezeFor, cfg.Trials, cfg.Budget)
	fmt.Fprintln(w, NotesMarker)
	if keptNotes != "" {
		fmt.Fprint(w, keptNotes)
	}
}

// KeptNotes returns what follows NotesMarker in the file at path ("" if none).
func KeptNotes(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	_, after, ok := strings.Cut(string(b), NotesMarker+"\n")
	if !ok {
		return ""
	}
	return after
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

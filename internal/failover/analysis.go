package failover

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Fault is what is done to the leader.
type Fault string

const (
	Kill   Fault = "kill"   // SIGKILL, then a restart
	Freeze Fault = "freeze" // SIGSTOP, then SIGCONT
)

// Trial is the measurement of one fault of one system.
type Trial struct {
	System string
	Fault  Fault
	N      int // 1-based, per system and fault
	Victim int // the leader's member id
	// NewLeader is the member that led once the writes resumed (0 if unknown).
	NewLeader int
	// Outage is the largest gap between consecutive successful writes, all sessions
	// together, from the last success before the fault to the end of the fault window.
	Outage time.Duration
	// FirstWrite is the time from the fault to the first successful write.
	FirstWrite time.Duration
	// WorstSession is the largest such gap seen by any one session.
	WorstSession time.Duration
	// Recovery is the largest gap (all sessions) from the restart or SIGCONT of the
	// victim until it is back in the ensemble, plus a second.
	Recovery time.Duration
	// Window is how long the fault window lasted (the victim dead or frozen).
	Window time.Duration
	// Writes is the number of successful writes in the fault window.
	Writes int
	// Censored is set when no write succeeded in the fault window: Outage is then a
	// lower bound.
	Censored bool
	// Errors counts the writers' failures in the fault window by kind.
	Errors map[string]int
	// Rejoin is set when the outage was measured but the victim did not come back
	// (Recovery then covers the wait for it).
	Rejoin string
	// Err is set when the trial could not be carried out.
	Err string
}

// window is a span of the recorder's time.
type window struct{ from, to time.Duration }

// maxGap returns the largest gap between consecutive times of sorted ts over w: the
// sequence starts with the last time at or before w.from (w.from itself if none),
// continues with every time in (w.from, w.to], and ends at w.to, so a trailing silence
// counts as a gap too. first is the time from w.from to the first time after it, and ok
// is false when there is none in the window.
func maxGap(ts []time.Duration, w window) (gap, first time.Duration, ok bool) {
	i := sort.Search(len(ts), func(i int) bool { return ts[i] > w.from })
	prev := w.from
	if i > 0 {
		prev = ts[i-1]
	}
	for ; i < len(ts) && ts[i] <= w.to; i++ {
		if !ok {
			first, ok = ts[i]-w.from, true
		}
		gap = max(gap, ts[i]-prev)
		prev = ts[i]
	}
	gap = max(gap, w.to-prev)
	return gap, first, ok
}

// doneTimes returns the reply times of writes, sorted.
func doneTimes(ws []okWrite) []time.Duration {
	out := make([]time.Duration, len(ws))
	for i, w := range ws {
		out[i] = w.Done
	}
	slices.Sort(out)
	return out
}

// merge returns every session's writes in one slice.
func merge(per [][]okWrite) []okWrite {
	var all []okWrite
	for _, s := range per {
		all = append(all, s...)
	}
	return all
}

// countIn returns how many times of sorted ts are in (w.from, w.to].
func countIn(ts []time.Duration, w window) int {
	lo := sort.Search(len(ts), func(i int) bool { return ts[i] > w.from })
	hi := sort.Search(len(ts), func(i int) bool { return ts[i] > w.to })
	return hi - lo
}

// analyze fills the measured fields of t from what the writers recorded: fault is the
// fault window (from the signal), gone when the victim was certainly dead or stopped,
// recovery the window from the restart (or SIGCONT) to the end.
func analyze(t *Trial, per [][]okWrite, events []event, fault window, gone time.Duration, recovery window) {
	all := doneTimes(merge(per))
	gap, _, _ := maxGap(all, fault)
	t.Outage = gap
	// The first write after the fault is the first whose request was sent after the
	// victim was gone, timed from the signal.
	t.FirstWrite, t.Censored = fault.to-fault.from, true
	for _, w := range merge(per) {
		if w.Sent > gone && w.Done <= fault.to && w.Done-fault.from <= t.FirstWrite {
			t.FirstWrite, t.Censored = w.Done-fault.from, false
		}
	}
	t.WorstSession = 0
	for _, s := range per {
		g, _, _ := maxGap(doneTimes(s), fault)
		t.WorstSession = max(t.WorstSession, g)
	}
	t.Writes = countIn(all, fault)
	t.Window = fault.to - fault.from
	if recovery.to > recovery.from {
		t.Recovery, _, _ = maxGap(all, recovery)
	}
	t.Errors = map[string]int{}
	for _, e := range events {
		if e.At > fault.from && e.At <= fault.to {
			t.Errors[e.What]++
		}
	}
}

// Summary is the outage statistics of one system and fault over its trials.
type Summary struct {
	System                string
	Fault                 Fault
	Trials                int
	Min, Median, Max      time.Duration
	FirstMedian, WorstMax time.Duration
	RecoveryMax           time.Duration
	Censored              bool
}

// Summarize groups trials by system and fault (in the order first seen) and computes
// outage min/median/max over the trials that ran.
func Summarize(trials []Trial) []Summary {
	type key struct {
		s string
		f Fault
	}
	var order []key
	groups := map[key][]Trial{}
	for _, t := range trials {
		k := key{t.System, t.Fault}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], t)
	}
	var out []Summary
	for _, k := range order {
		s := Summary{System: k.s, Fault: k.f}
		var outs, firsts []time.Duration
		for _, t := range groups[k] {
			if t.Err != "" {
				continue
			}
			s.Trials++
			outs = append(outs, t.Outage)
			firsts = append(firsts, t.FirstWrite)
			s.WorstMax = max(s.WorstMax, t.WorstSession)
			s.RecoveryMax = max(s.RecoveryMax, t.Recovery)
			s.Censored = s.Censored || t.Censored
		}
		if s.Trials > 0 {
			slices.Sort(outs)
			s.Min, s.Median, s.Max = outs[0], median(outs), outs[len(outs)-1]
			s.FirstMedian = median(firsts)
		}
		out = append(out, s)
	}
	return out
}

// median of a slice (sorted here); the mean of the middle two for an even count.
func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// secs formats a duration as seconds with 3 decimals.
func secs(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

// WriteSummaryTable writes the Markdown table of outages per system and fault.
func WriteSummaryTable(w io.Writer, sums []Summary) {
	fmt.Fprintln(w, "| system | fault | trials | outage min (s) | outage median (s) | outage max (s) | first write after fault, median (s) | worst single session (s) | largest gap while the victim rejoins (s) |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, s := range sums {
		if s.Trials == 0 {
			fmt.Fprintf(w, "| %s | %s | 0 | – | – | – | – | – | – |\n", s.System, s.Fault)
			continue
		}
		mx := secs(s.Max)
		if s.Censored {
			mx = "≥ " + mx
		}
		fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | %s | %s |\n", s.System, s.Fault, s.Trials,
			secs(s.Min), secs(s.Median), mx, secs(s.FirstMedian), secs(s.WorstMax), secs(s.RecoveryMax))
	}
}

// WriteTrialTable writes one Markdown row per trial.
func WriteTrialTable(w io.Writer, trials []Trial) {
	fmt.Fprintln(w, "| system | fault | # | leader killed/frozen | new leader | outage (s) | first write (s) | worst session (s) | fault window (s) | writes in window | rejoin gap (s) | writer errors in window |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
	for _, t := range trials {
		if t.Err != "" {
			fmt.Fprintf(w, "| %s | %s | %d | %d | | | | | | | | not measured: %s |\n", t.System, t.Fault, t.N, t.Victim, strings.ReplaceAll(t.Err, "|", "/"))
			continue
		}
		out := secs(t.Outage)
		if t.Censored {
			out = "≥ " + out
		}
		errs := errorList(t.Errors)
		if t.Rejoin != "" {
			errs += "; **" + strings.ReplaceAll(t.Rejoin, "|", "/") + "**"
		}
		fmt.Fprintf(w, "| %s | %s | %d | %d | %d | %s | %s | %s | %s | %d | %s | %s |\n", t.System, t.Fault, t.N, t.Victim, t.NewLeader,
			out, secs(t.FirstWrite), secs(t.WorstSession), secs(t.Window), t.Writes, secs(t.Recovery), errs)
	}
}

func errorList(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, m[k])
	}
	return strings.ReplaceAll(strings.Join(parts, ", "), "|", "/")
}

// Verdicts compares corral with the targets of the cluster issue: on kill no longer than
// ZooKeeper's (median against median; the maximum is shown too), on freeze at most 2 s
// (every trial).
func Verdicts(sums []Summary) []string {
	find := func(sys string, f Fault) *Summary {
		for i := range sums {
			if sums[i].System == sys && sums[i].Fault == f && sums[i].Trials > 0 {
				return &sums[i]
			}
		}
		return nil
	}
	var out []string
	ck, zk := find("corral", Kill), find("zookeeper", Kill)
	switch {
	case ck == nil || zk == nil:
		out = append(out, "kill: not compared (a system was not measured)")
	case ck.Median <= zk.Median:
		out = append(out, fmt.Sprintf("kill: **met** — corral median %s s ≤ ZooKeeper median %s s (max %s s vs %s s)",
			secs(ck.Median), secs(zk.Median), secs(ck.Max), secs(zk.Max)))
	default:
		out = append(out, fmt.Sprintf("kill: **missed** by %s s — corral median %s s > ZooKeeper median %s s (max %s s vs %s s)",
			secs(ck.Median-zk.Median), secs(ck.Median), secs(zk.Median), secs(ck.Max), secs(zk.Max)))
	}
	cf := find("corral", Freeze)
	switch {
	case cf == nil:
		out = append(out, "freeze: not measured")
	case cf.Max <= 2*time.Second && !cf.Censored:
		out = append(out, fmt.Sprintf("freeze: **met** — corral max %s s ≤ 2 s (median %s s)", secs(cf.Max), secs(cf.Median)))
	default:
		out = append(out, fmt.Sprintf("freeze: **missed** by %s s — corral max %s s > 2 s (median %s s)",
			secs(cf.Max-2*time.Second), secs(cf.Max), secs(cf.Median)))
	}
	if zf := find("zookeeper", Freeze); zf != nil {
		out = append(out, fmt.Sprintf("for reference, ZooKeeper on freeze: median %s s, max %s s", secs(zf.Median), secs(zf.Max)))
	}
	return out
}

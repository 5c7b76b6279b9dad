package failover

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func ms(v ...int) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x) * time.Millisecond
	}
	return out
}

func TestMaxGap(t *testing.T) {
	const m = time.Millisecond
	cases := []struct {
		name       string
		ts         []time.Duration
		w          window
		gap, first time.Duration
		ok         bool
	}{
		{"gap spans the fault", ms(90, 95, 99, 500, 510, 520), window{100 * m, 600 * m}, 401 * m, 400 * m, true},
		{"largest gap later", ms(99, 150, 900, 1000), window{100 * m, 1000 * m}, 750 * m, 50 * m, true},
		{"trailing silence counts", ms(99, 150), window{100 * m, 1000 * m}, 850 * m, 50 * m, true},
		{"nothing after the fault", ms(10, 99), window{100 * m, 1000 * m}, 901 * m, 0, false},
		{"nothing at all", nil, window{100 * m, 300 * m}, 200 * m, 0, false},
		{"times after the window ignored", ms(99, 200, 5000), window{100 * m, 300 * m}, 101 * m, 100 * m, true},
	}
	for _, c := range cases {
		gap, first, ok := maxGap(c.ts, c.w)
		if gap != c.gap || first != c.first || ok != c.ok {
			t.Errorf("%s: maxGap = %v, %v, %v; want %v, %v, %v", c.name, gap, first, ok, c.gap, c.first, c.ok)
		}
	}
}

func TestAnalyze(t *testing.T) {
	const m = time.Millisecond
	per := [][]okWrite{
		// session 0: a reply in flight at the fault (sent 98, done 101), then silence.
		{{90 * m, 95 * m}, {98 * m, 101 * m}, {600 * m, 700 * m}, {700 * m, 710 * m}},
		// session 1: writes again at 400.
		{{80 * m, 99 * m}, {380 * m, 400 * m}, {400 * m, 420 * m}, {420 * m, 1000 * m}},
	}
	events := []event{{At: 50 * m, What: "before"}, {At: 200 * m, What: "setData: timeout"}, {At: 300 * m, What: "setData: timeout"}}
	var tr Trial
	analyze(&tr, per, events, window{100 * m, 1000 * m}, 100*m, window{1000 * m, 1100 * m})
	if tr.Outage != 299*m { // 101 -> 400
		t.Errorf("Outage = %v, want 299ms", tr.Outage)
	}
	if tr.FirstWrite != 300*m { // the write sent at 380, done at 400; not the one in flight
		t.Errorf("FirstWrite = %v, want 300ms", tr.FirstWrite)
	}
	if tr.WorstSession != 599*m { // session 0: 101 -> 700
		t.Errorf("WorstSession = %v, want 599ms", tr.WorstSession)
	}
	if tr.Censored || tr.Writes != 6 || tr.Errors["setData: timeout"] != 2 || len(tr.Errors) != 1 {
		t.Errorf("Censored %v, Writes %d, Errors %v", tr.Censored, tr.Writes, tr.Errors)
	}
	if tr.Recovery != 100*m {
		t.Errorf("Recovery = %v, want 100ms", tr.Recovery)
	}

	var none Trial
	analyze(&none, [][]okWrite{{{10 * m, 20 * m}}}, nil, window{100 * m, 500 * m}, 100*m, window{})
	if !none.Censored || none.Outage != 480*m || none.FirstWrite != 400*m {
		t.Errorf("no write after the fault: %+v", none)
	}
}

func TestSummarizeAndVerdicts(t *testing.T) {
	s := time.Second
	trials := []Trial{
		{System: "corral", Fault: Kill, Outage: s / 10},
		{System: "corral", Fault: Freeze, Outage: 3 * s / 2},
		{System: "corral", Fault: Kill, Outage: s / 5},
		{System: "corral", Fault: Freeze, Outage: 5 * s / 2},
		{System: "corral", Fault: Kill, Outage: 3 * s / 10},
		{System: "corral", Fault: Freeze, Err: "skipped"},
		{System: "zookeeper", Fault: Kill, Outage: 4 * s / 10},
		{System: "zookeeper", Fault: Freeze, Outage: 10 * s},
	}
	sums := Summarize(trials)
	if len(sums) != 4 || sums[0].Fault != Kill || sums[1].Fault != Freeze {
		t.Fatalf("summaries: %+v", sums)
	}
	if k := sums[0]; k.Trials != 3 || k.Min != s/10 || k.Median != s/5 || k.Max != 3*s/10 {
		t.Errorf("corral kill: %+v", k)
	}
	if f := sums[1]; f.Trials != 2 || f.Median != 2*s {
		t.Errorf("corral freeze: %+v", f)
	}
	v := strings.Join(Verdicts(sums), "\n")
	if !strings.Contains(v, "kill: **met**") || !strings.Contains(v, "freeze: **missed** by 0.500 s") {
		t.Errorf("verdicts:\n%s", v)
	}
	var b bytes.Buffer
	WriteSummaryTable(&b, sums)
	if !strings.Contains(b.String(), "| corral | kill | 3 | 0.100 | 0.200 | 0.300 |") {
		t.Errorf("table:\n%s", b.String())
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]string{
		"Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nMode: follower\nNode count: 5\n": "follower",
		"Mode: leader\n": "leader",
		"This ZooKeeper instance is not currently serving requests\n": "",
	} {
		if got := parseMode(in); got != want {
			t.Errorf("parseMode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdownKeepsNotes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "failover.md")
	res := &Result{Versions: map[string]string{}, Started: time.Now(), Trials: []Trial{{System: "corral", Fault: Kill, N: 1, Outage: time.Second / 10}}}
	var b bytes.Buffer
	WriteMarkdown(&b, Defaults(), res, Meta{Command: "scripts/failover.sh"}, "")
	if err := os.WriteFile(path, append(b.Bytes(), "hand-written analysis\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := KeptNotes(path); got != "hand-written analysis\n" {
		t.Fatalf("KeptNotes = %q", got)
	}
	b.Reset()
	WriteMarkdown(&b, Defaults(), res, Meta{Command: "scripts/failover.sh"}, KeptNotes(path))
	if !strings.HasSuffix(b.String(), NotesMarker+"\nhand-written analysis\n") || !strings.Contains(b.String(), "`scripts/failover.sh`") {
		t.Errorf("report:\n%s", b.String())
	}
}

func TestFirstWriteAfterGone(t *testing.T) {
	const m = time.Millisecond
	// The signal at 100, the victim stopped at 105: a write sent at 101 and done at 102 was
	// still served by it; the first write after the fault is the one sent at 300.
	per := [][]okWrite{{{99 * m, 100 * m}, {101 * m, 102 * m}, {300 * m, 310 * m}}}
	var tr Trial
	analyze(&tr, per, nil, window{100 * m, 400 * m}, 105*m, window{})
	if tr.FirstWrite != 210*m || tr.Outage != 208*m || tr.Censored {
		t.Errorf("FirstWrite %v (want 210ms), Outage %v (want 208ms), Censored %v", tr.FirstWrite, tr.Outage, tr.Censored)
	}
}

func TestWaitStopped(t *testing.T) {
	m := &member{ID: 1, argv: []string{"sleep", "30"}, Dir: t.TempDir()}
	m.LogPath = filepath.Join(m.Dir, "log")
	if err := m.start(); err != nil {
		t.Fatal(err)
	}
	defer m.kill()
	if allStopped(m.PID()) {
		t.Fatal("a running process reads as stopped")
	}
	if err := m.signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := m.waitStopped(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := m.signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := m.kill(); err != nil {
		t.Fatal(err)
	}
	if m.running() {
		t.Fatal("still running after kill")
	}
}

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/refzk"
	"github.com/corral-io/corral/proto"
)

// quick is a short configuration for tests: no timing assertions, only sanity.
func quick(workloads ...string) Config {
	c := Defaults()
	c.Workloads = workloads
	c.Sessions = 3
	c.Inflight = 4
	c.Duration = 600 * time.Millisecond
	c.Warmup = 100 * time.Millisecond
	c.Keys = 50
	c.ValueSize = 64
	return c
}

// checkSane checks that every result did work, had no errors and ordered percentiles.
func checkSane(t *testing.T, rep *Report, want []string) {
	t.Helper()
	if len(rep.Results) != len(want) {
		t.Fatalf("%d results, want %d", len(rep.Results), len(want))
	}
	for i, r := range rep.Results {
		if r.Workload != want[i] {
			t.Errorf("result %d is %s, want %s", i, r.Workload, want[i])
		}
		l := r.Latency
		switch {
		case r.Ops <= 0 || r.Throughput <= 0 || r.Seconds <= 0:
			t.Errorf("%s: ops %d, %.1f/s over %.2fs", r.Workload, r.Ops, r.Throughput, r.Seconds)
		case r.Errors != 0:
			t.Errorf("%s: %d errors: %v", r.Workload, r.Errors, r.ErrorKinds)
		case l.Count != r.Ops:
			t.Errorf("%s: %d latencies for %d ops", r.Workload, l.Count, r.Ops)
		case !(0 <= l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.P999 && l.P999 <= l.Max):
			t.Errorf("%s: percentiles out of order: %+v", r.Workload, l)
		}
		t.Logf("%s: %d %s, %.0f/s, p50 %.3f ms, p99 %.3f ms", r.Workload, r.Ops, r.Unit, r.Throughput, l.P50, l.P99)
	}
}

// TestWorkloadsCorral runs every workload briefly against a corral process and checks the
// report and that the run's namespace was removed.
func TestWorkloadsCorral(t *testing.T) {
	p := corralproc.Start(t)
	cfg := quick(Workloads...)
	cfg.Servers = []string{p.Addr()}
	var progress bytes.Buffer
	cfg.Progress = &progress
	progressInterval = 100 * time.Millisecond
	defer func() { progressInterval = time.Second }()
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, rep, Workloads)
	if !strings.Contains(progress.String(), "bench get: ") {
		t.Errorf("no progress lines: %q", progress.String())
	}
	for _, r := range rep.Results {
		if r.Workload == WorkloadWatch && r.Rates["writes"] <= 0 {
			t.Errorf("watch: no write rate: %+v", r.Rates)
		}
		if r.Workload == WorkloadSessionChurn && r.Extra["session"].Count != r.Ops {
			t.Errorf("session-churn: %d cycles for %d ops", r.Extra["session"].Count, r.Ops)
		}
	}
	// Everything the benchmark created is gone.
	c, err := Dial(p.Addr(), DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(time.Second)
	if _, err := c.Call(proto.OpExists, &proto.PathWatchRequest{Path: benchRoot}, nil, 5*time.Second); err != proto.ErrNoNode {
		t.Errorf("exists %s after the run: %v, want no node", benchRoot, err)
	}
	// Both report formats carry every workload.
	var tab, js bytes.Buffer
	if err := WriteTable(&tab, rep); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != len(Workloads) {
		t.Fatalf("JSON round trip: %v (%d results)", err, len(back.Results))
	}
	for _, w := range Workloads {
		if !strings.Contains(tab.String(), w) {
			t.Errorf("table lacks %s:\n%s", w, tab.String())
		}
	}
}

// TestRequestsMode ends a workload by count, over two server addresses (the same server
// twice, so sessions are spread over both entries).
func TestRequestsMode(t *testing.T) {
	p := corralproc.Start(t)
	cfg := quick(WorkloadMixed, WorkloadCreate)
	cfg.Servers = []string{p.Addr(), p.Addr()}
	cfg.Duration, cfg.Warmup, cfg.Requests = 0, 0, 500
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, rep, cfg.Workloads)
	for _, r := range rep.Results {
		// Requests already in flight when the count is reached still complete.
		if r.Ops < 500 || r.Ops > 500+int64(cfg.Sessions*cfg.Inflight) {
			t.Errorf("%s: %d ops, want 500", r.Workload, r.Ops)
		}
	}
}

// TestReferenceZooKeeper runs the recipes (watch, lock, churn) and a read against
// Apache ZooKeeper, so the raw client and the lock layout are checked against the
// reference and not only against corral.
func TestReferenceZooKeeper(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	if err := refzk.CheckInstalled(); err != nil {
		t.Skip(err)
	}
	s := refzk.Start(t)
	cfg := quick(WorkloadGet, WorkloadSessionChurn, WorkloadWatch, WorkloadLock)
	cfg.Servers = []string{s.Addr()}
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, rep, cfg.Workloads)
}

// TestEtcd runs every workload against Debian's etcd, when installed.
func TestEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts etcd")
	}
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed")
	}
	dir := t.TempDir()
	client, peer := freeAddr(t), freeAddr(t)
	cmd := exec.Command(bin, "--name", "b1", "--data-dir", filepath.Join(dir, "data"),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "b1=http://"+peer)
	log, _ := os.Create(filepath.Join(dir, "etcd.log"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait(); log.Close() })
	cfg := quick(Workloads...)
	cfg.Etcd = []string{"http://" + client}
	cfg.Servers = nil
	// Wait for etcd to serve.
	var rep *Report
	for deadline := time.Now().Add(20 * time.Second); ; {
		rep, err = Run(context.Background(), cfg)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, rep, cfg.Workloads)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// TestCleanupFailureKeepsResult blocks the cleanup of a workload (another session gives one
// of its keys a child, so the key cannot be deleted): the measurement is still reported,
// with a note naming what was left behind, and the run goes on.
func TestCleanupFailureKeepsResult(t *testing.T) {
	p := corralproc.Start(t)
	other, err := Dial(p.Addr(), DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(time.Second)
	blocked := make(chan string, 1)
	go func() {
		defer close(blocked)
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			var runs, keys proto.GetChildrenResponse
			if _, err := other.Call(proto.OpGetChildren, &proto.PathWatchRequest{Path: benchRoot}, &runs, time.Second); err == nil && len(runs.Children) > 0 {
				dir := benchRoot + "/" + runs.Children[0]
				if _, err := other.Call(proto.OpGetChildren, &proto.PathWatchRequest{Path: dir}, &keys, time.Second); err == nil && len(keys.Children) > 0 {
					req := &proto.CreateRequest{Path: dir + "/" + keys.Children[0] + "/blocker", ACL: openACL}
					if _, err := other.Call(proto.OpCreate, req, nil, time.Second); err == nil {
						blocked <- dir
						return
					}
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	cfg := quick(WorkloadGet, WorkloadSet)
	cfg.Servers = []string{p.Addr()}
	cfg.Duration = time.Second
	var progress bytes.Buffer
	cfg.Progress = &progress
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatalf("run failed: %v", err)
	}
	dir := <-blocked
	if dir == "" {
		t.Fatal("could not block the cleanup")
	}
	checkSane(t, rep, cfg.Workloads)
	want := "cleanup failed, " + dir + " left behind"
	if !strings.Contains(rep.Results[0].Note, want) {
		t.Errorf("get note %q lacks %q", rep.Results[0].Note, want)
	}
	if strings.Contains(rep.Results[1].Note, "cleanup failed") {
		t.Errorf("set note %q: its cleanup was not blocked", rep.Results[1].Note)
	}
	if !strings.Contains(progress.String(), "bench get: "+want) {
		t.Errorf("progress lacks the cleanup failure: %q", progress.String())
	}
}

// TestInterruptedWorkloadDropped: a workload cut short by the context is not reported as
// a measurement; the run ends with an error saying so.
func TestInterruptedWorkloadDropped(t *testing.T) {
	p := corralproc.Start(t)
	cfg := quick(WorkloadGet, WorkloadSet)
	cfg.Servers = []string{p.Addr()}
	cfg.Duration = 20 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err == nil || !strings.Contains(err.Error(), "get: interrupted") {
		t.Fatalf("run error %v, want get: interrupted", err)
	}
	if rep == nil || len(rep.Results) != 0 {
		t.Fatalf("report %+v, want no results", rep)
	}
}

// TestLockLatencyIsTheWait checks that lock's latency is the wait for the lock and
// nothing after it: with one contender there is nothing to wait for, so the hold (and
// the release after it) must not show in the latency, as it does not in etcd mode,
// where Mutex.Lock alone is timed.
func TestLockLatencyIsTheWait(t *testing.T) {
	p := corralproc.Start(t)
	cfg := quick(WorkloadLock)
	cfg.Servers = []string{p.Addr()}
	cfg.Sessions = 1
	cfg.Hold = 400 * time.Millisecond
	cfg.Warmup = 0
	cfg.Duration = 1500 * time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, rep, cfg.Workloads)
	r := rep.Results[0]
	if r.Ops < 2 {
		t.Fatalf("%d acquisitions in %s with a hold of %s", r.Ops, cfg.Duration, cfg.Hold)
	}
	// Every acquisition by the only contender is immediate (a create and a getChildren);
	// a latency counting the hold would be at least 400 ms each.
	if holdMs := float64(cfg.Hold.Milliseconds()); r.Latency.P50 >= holdMs {
		t.Errorf("lock p50 %.1f ms with one contender and a hold of %.0f ms: the hold is counted as waiting", r.Latency.P50, holdMs)
	}
}

package bench

import (
	"strings"
	"testing"
)

// TestWriteComparisonLabelledRun checks that a labelled run of a workload, merged into a
// system's report, gets a row of its own after the unlabelled one, matched across systems
// by workload and label, with its own ratios.
func TestWriteComparisonLabelledRun(t *testing.T) {
	churn := func(ops float64, p99 float64, label string) Result {
		return Result{Workload: WorkloadSessionChurn, Unit: "sessions", Ops: int64(ops), Throughput: ops, Latency: Summary{P99: p99}, Label: label}
	}
	corral := Merge(
		&Report{Results: []Result{{Workload: WorkloadSet, Unit: "requests", Ops: 900, Throughput: 900, Latency: Summary{P99: 2}}, churn(300, 4, "")}},
		nil,
		&Report{Results: []Result{churn(800, 20, "256 churners")}},
	)
	zk := Merge(&Report{Results: []Result{churn(100, 8, ""), {Workload: WorkloadSet, Unit: "requests", Ops: 300, Throughput: 300, Latency: Summary{P99: 4}}}},
		&Report{Results: []Result{churn(200, 1000, "256 churners")}})
	var b strings.Builder
	if err := WriteComparison(&b, Named{"corral", corral}, []Named{{"zookeeper", zk}, {"etcd", nil}}); err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n")[2:] {
		cells := strings.Split(strings.Trim(l, "| "), " | ")
		rows = append(rows, strings.Join([]string{cells[0], cells[2], cells[3], cells[5], cells[7], cells[10]}, ";"))
	}
	want := []string{
		"set;900;300;3.00;2.00;0.50",
		"session-churn;300;100;3.00;4.00;0.50",
		"session-churn (256 churners);800;200;4.00;20.00;0.02",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows (case;corral;zk;ratio;corral p99;p99 ratio):\n%s\nwant:\n%s\ntable:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"), b.String())
	}
	if Merge(nil, nil) != nil {
		t.Error("Merge of nothing is not nil")
	}
}

// TestWriteComparisonEdges: a labelled case only a baseline measured still gets its row
// (dashes for the subject), after its workload even when no system ran that workload
// unlabelled, and a run that completed nothing has no ratio.
func TestWriteComparisonEdges(t *testing.T) {
	subject := &Report{Results: []Result{{Workload: WorkloadGet, Unit: "requests", Ops: 0, Throughput: 0}}}
	base := &Report{Results: []Result{
		{Workload: WorkloadLock, Unit: "acquisitions", Ops: 10, Throughput: 5, Latency: Summary{P99: 3}, Label: "64 contenders"},
		{Workload: WorkloadGet, Unit: "requests", Ops: 100, Throughput: 50, Latency: Summary{P99: 1}},
	}}
	var b strings.Builder
	if err := WriteComparison(&b, Named{"corral", subject}, []Named{{"zookeeper", base}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")[2:]
	if len(lines) != 2 {
		t.Fatalf("%d rows, want 2:\n%s", len(lines), b.String())
	}
	get := strings.Split(strings.Trim(lines[0], "| "), " | ")
	lock := strings.Split(strings.Trim(lines[1], "| "), " | ")
	if get[0] != "get" || get[4] != "–" || get[7] != "–" {
		t.Errorf("get row %q: want no ratios for a run with no operations", lines[0])
	}
	if lock[0] != "lock (64 contenders)" || lock[2] != "–" || lock[3] != "5" {
		t.Errorf("lock row %q", lines[1])
	}
}

// TestWriteComparisonServerCPU: with server CPU measured, a second table gives CPU time
// per operation and its ratios; a system or workload without it reads "–".
func TestWriteComparisonServerCPU(t *testing.T) {
	res := func(wl string, ops int64, cpuPerOp float64) Result {
		return Result{Workload: wl, Unit: "sessions", Ops: ops, Throughput: float64(ops), ServerCPUPerOp: cpuPerOp}
	}
	corral := &Report{Results: []Result{res(WorkloadSessionChurn, 100, 150), res(WorkloadLock, 10, 0)}}
	zk := &Report{Results: []Result{res(WorkloadSessionChurn, 50, 300), res(WorkloadLock, 5, 80)}}
	var b strings.Builder
	if err := WriteComparison(&b, Named{"corral", corral}, []Named{{"zookeeper", zk}, {"etcd", nil}}); err != nil {
		t.Fatal(err)
	}
	_, cpuTable, ok := strings.Cut(b.String(), "| workload | unit | corral CPU µs/op | zookeeper CPU µs/op | etcd CPU µs/op | CPU corral/zookeeper | CPU corral/etcd |\n")
	if !ok {
		t.Fatalf("no CPU table:\n%s", b.String())
	}
	want := "|---|---|--:|--:|--:|--:|--:|\n" +
		"| session-churn | sessions | 150.0 | 300.0 | – | 0.50 | – |\n" +
		"| lock | sessions | – | 80.0 | – | – | – |\n"
	if cpuTable != want {
		t.Fatalf("CPU table:\n%s\nwant:\n%s", cpuTable, want)
	}
	// Without CPU figures there is no second table.
	b.Reset()
	corral.Results[0].ServerCPUPerOp, zk.Results[0].ServerCPUPerOp, zk.Results[1].ServerCPUPerOp = 0, 0, 0
	if err := WriteComparison(&b, Named{"corral", corral}, []Named{{"zookeeper", zk}}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "CPU") {
		t.Fatalf("CPU table without CPU figures:\n%s", b.String())
	}
}

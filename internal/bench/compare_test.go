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
		return Result{Workload: WorkloadSessionChurn, Unit: "sessions", Throughput: ops, Latency: Summary{P99: p99}, Label: label}
	}
	corral := Merge(
		&Report{Results: []Result{{Workload: WorkloadSet, Unit: "requests", Throughput: 900, Latency: Summary{P99: 2}}, churn(300, 4, "")}},
		nil,
		&Report{Results: []Result{churn(800, 20, "256 churners")}},
	)
	zk := Merge(&Report{Results: []Result{churn(100, 8, ""), {Workload: WorkloadSet, Unit: "requests", Throughput: 300, Latency: Summary{P99: 4}}}},
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

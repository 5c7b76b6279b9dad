package bench

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func fakeReport(scale float64) *Report {
	return &Report{Results: []Result{
		{Workload: WorkloadGet, Unit: "requests", Throughput: 400000 * scale, Latency: Summary{P99: 4.2 / scale}},
		{Workload: WorkloadSet, Unit: "requests", Throughput: 80000 * scale, Latency: Summary{P99: 8.8 / scale}},
		{Workload: WorkloadLock, Unit: "acquisitions", Throughput: 1600 * scale, Latency: Summary{P99: 18 / scale}},
	}}
}

func TestWritePlots(t *testing.T) {
	for _, tc := range []struct {
		name    string
		systems []Named
	}{
		// Throughput spreads over a factor of 250 and more: log scale.
		{"log", []Named{{"corral", fakeReport(1)}, {"zookeeper", fakeReport(0.3)}, {"etcd", nil}}},
		// One workload, values close together: linear scale.
		{"linear", []Named{
			{"a", &Report{Results: []Result{{Workload: WorkloadSet, Throughput: 100, Latency: Summary{P99: 2}}}}},
			{"b", &Report{Results: []Result{{Workload: WorkloadSet, Throughput: 80, Latency: Summary{P99: 3}}}}},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "plots")
			paths, err := WritePlots(dir, "1-member", "1 member", tc.systems)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{filepath.Join(dir, "1-member-throughput.png"), filepath.Join(dir, "1-member-p99.png")}
			if len(paths) != len(want) {
				t.Fatalf("paths %v, want %v", paths, want)
			}
			for i, p := range paths {
				if p != want[i] {
					t.Errorf("path %q, want %q", p, want[i])
				}
				f, err := os.Open(p)
				if err != nil {
					t.Fatal(err)
				}
				img, err := png.Decode(f)
				f.Close()
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if b := img.Bounds(); b.Dx() != PlotWidthPx || b.Dy() != PlotHeightPx {
					t.Errorf("%s: %dx%d, want %dx%d", p, b.Dx(), b.Dy(), PlotWidthPx, PlotHeightPx)
				}
			}
		})
	}
}

func TestWritePlotsNothing(t *testing.T) {
	if _, err := WritePlots(t.TempDir(), "x", "", []Named{{"a", nil}}); err == nil {
		t.Error("no results: want an error")
	}
}

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
)

// ReadReport reads a report written with --json.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r Report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}

// Merge returns one report holding the results of every report given, in order (nil
// reports are skipped); nil if all are nil. It lets a comparison take one system's
// results from several runs (for example a labelled run of one workload).
func Merge(reps ...*Report) *Report {
	var out *Report
	for _, r := range reps {
		if r == nil {
			continue
		}
		if out == nil {
			out = &Report{Started: r.Started}
		}
		out.Results = append(out.Results, r.Results...)
	}
	return out
}

// Named is a report with the name of the system it measured.
type Named struct {
	Name   string
	Report *Report
}

// WriteComparison writes a Markdown table of throughput and p99 latency per workload for
// subject and each baseline, with the ratios subject/baseline. A report may be nil (the
// system was not measured); its cells read "–". A ratio over a run with errors is marked
// with a dagger (†): it compares unlike work.
func WriteComparison(w io.Writer, subject Named, baselines []Named) error {
	var b strings.Builder
	head := []string{"workload", "unit", subject.Name + " ops/s"}
	for _, x := range baselines {
		head = append(head, x.Name+" ops/s")
	}
	for _, x := range baselines {
		head = append(head, "ops/s "+subject.Name+"/"+x.Name)
	}
	head = append(head, subject.Name+" p99 ms")
	for _, x := range baselines {
		head = append(head, x.Name+" p99 ms")
	}
	for _, x := range baselines {
		head = append(head, "p99 "+subject.Name+"/"+x.Name)
	}
	head = append(head, "errors")
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|")
	for i := range head {
		if i < 2 {
			b.WriteString("---|")
		} else {
			b.WriteString("--:|")
		}
	}
	b.WriteString("\n")
	for _, wl := range workloadOrder(subject, baselines) {
		s := find(subject.Report, wl)
		unit := ""
		for _, r := range append([]*Result{s}, findAll(baselines, wl)...) {
			if r != nil && unit == "" {
				unit = r.Unit
			}
		}
		row := []string{wl, unit, num(s, func(r *Result) float64 { return r.Throughput }, "%.0f")}
		others := findAll(baselines, wl)
		for _, o := range others {
			row = append(row, num(o, func(r *Result) float64 { return r.Throughput }, "%.0f"))
		}
		for _, o := range others {
			row = append(row, ratio(s, o, func(r *Result) float64 { return r.Throughput }))
		}
		row = append(row, num(s, func(r *Result) float64 { return r.Latency.P99 }, "%.2f"))
		for _, o := range others {
			row = append(row, num(o, func(r *Result) float64 { return r.Latency.P99 }, "%.2f"))
		}
		for _, o := range others {
			row = append(row, ratio(s, o, func(r *Result) float64 { return r.Latency.P99 }))
		}
		var errs []string
		for _, r := range append([]*Result{s}, others...) {
			if r == nil {
				errs = append(errs, "–")
			} else {
				errs = append(errs, fmt.Sprint(r.Errors))
			}
		}
		row = append(row, strings.Join(errs, "/"))
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	writeCPUComparison(&b, subject, baselines)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeCPUComparison adds, when some report measured its servers' CPU time
// (--server-pids), a table of server CPU time per operation with the ratios
// subject/baseline.
func writeCPUComparison(b *strings.Builder, subject Named, baselines []Named) {
	cpu := func(r *Result) float64 { return r.ServerCPUPerOp }
	measured := false
	for _, n := range append([]Named{subject}, baselines...) {
		if n.Report == nil {
			continue
		}
		for _, r := range n.Report.Results {
			measured = measured || r.ServerCPUPerOp > 0
		}
	}
	if !measured {
		return
	}
	head := []string{"workload", "unit", subject.Name + " CPU µs/op"}
	for _, x := range baselines {
		head = append(head, x.Name+" CPU µs/op")
	}
	for _, x := range baselines {
		head = append(head, "CPU "+subject.Name+"/"+x.Name)
	}
	b.WriteString("\nServer CPU time (user and system, all members together) per operation over the measured time; below 1 is better for " +
		subject.Name + " in the ratios.\n\n")
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|---|---|" + strings.Repeat("--:|", len(head)-2) + "\n")
	for _, wl := range workloadOrder(subject, baselines) {
		s := find(subject.Report, wl)
		others := findAll(baselines, wl)
		unit := ""
		for _, r := range append([]*Result{s}, others...) {
			if r != nil && unit == "" {
				unit = r.Unit
			}
		}
		row := []string{wl, unit, cpuNum(s)}
		for _, o := range others {
			row = append(row, cpuNum(o))
		}
		for _, o := range others {
			if s == nil || o == nil || s.ServerCPUPerOp == 0 || o.ServerCPUPerOp == 0 {
				row = append(row, "–")
			} else {
				row = append(row, ratio(s, o, cpu))
			}
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
}

// cpuNum formats a result's server CPU time per operation, "–" when not measured.
func cpuNum(r *Result) string {
	if r == nil || r.ServerCPUPerOp == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f", r.ServerCPUPerOp)
}

// workloadOrder lists the cases (see Result.Case) present in any report: workloads in the
// standard order, each followed by its labelled runs in the order they first appear.
func workloadOrder(subject Named, baselines []Named) []string {
	all := append([]Named{subject}, baselines...)
	var out []string
	seen := map[string]bool{}
	for _, wl := range Workloads {
		for _, labelled := range []bool{false, true} {
			for _, n := range all {
				if n.Report == nil {
					continue
				}
				for i := range n.Report.Results {
					r := &n.Report.Results[i]
					if c := r.Case(); r.Workload == wl && (r.Label != "") == labelled && !seen[c] {
						seen[c] = true
						out = append(out, c)
					}
				}
			}
		}
	}
	return out
}

// find returns the result of rep whose Case is c, or nil.
func find(rep *Report, c string) *Result {
	if rep == nil {
		return nil
	}
	for i := range rep.Results {
		if rep.Results[i].Case() == c {
			return &rep.Results[i]
		}
	}
	return nil
}

func findAll(ns []Named, workload string) []*Result {
	out := make([]*Result, len(ns))
	for i, n := range ns {
		out[i] = find(n.Report, workload)
	}
	return out
}

func num(r *Result, f func(*Result) float64, format string) string {
	if r == nil {
		return "–"
	}
	return fmt.Sprintf(format, f(r))
}

// ratio formats f(a)/f(b); a dagger marks a ratio over a run that had errors. A run
// that completed no operation has no ratio.
func ratio(a, b *Result, f func(*Result) float64) string {
	if a == nil || b == nil || a.Ops == 0 || b.Ops == 0 || f(b) == 0 {
		return "–"
	}
	mark := ""
	if a.Errors > 0 || b.Errors > 0 {
		mark = " †"
	}
	return fmt.Sprintf("%.2f%s", f(a)/f(b), mark)
}

package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes rep as indented JSON.
func WriteJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes rep as a human-readable table, with extra latencies, rates, error
// kinds and notes below it.
func WriteTable(w io.Writer, rep *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workload\ttarget\tsessions\tinflight\tops\tops/s\tp50 ms\tp90 ms\tp99 ms\tp99.9 ms\tmax ms\terrors\t")
	for _, r := range rep.Results {
		l := r.Latency
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t\n",
			r.Case(), r.Target, r.Sessions, r.Inflight, r.Ops, r.Throughput,
			l.P50, l.P90, l.P99, l.P999, l.Max, r.Errors)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rep.Results {
		var lines []string
		for _, k := range sortedKeys(r.Extra) {
			s := r.Extra[k]
			lines = append(lines, fmt.Sprintf("  %s latency ms: p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f",
				k, s.P50, s.P99, s.P999, s.Max))
		}
		if r.ServerCPUSeconds > 0 {
			lines = append(lines, fmt.Sprintf("  server CPU: %.2f s, %.1f µs per op", r.ServerCPUSeconds, r.ServerCPUPerOp))
		}
		for _, k := range sortedKeys(r.Rates) {
			lines = append(lines, fmt.Sprintf("  %s: %.0f/s", k, r.Rates[k]))
		}
		for _, k := range sortedKeys(r.ErrorKinds) {
			lines = append(lines, fmt.Sprintf("  error %q: %d", k, r.ErrorKinds[k]))
		}
		if r.Note != "" {
			lines = append(lines, "  note: "+r.Note)
		}
		if len(lines) > 0 {
			fmt.Fprintf(w, "%s (%s, ops are %s):\n%s\n", r.Case(), r.Target, r.Unit, strings.Join(lines, "\n"))
		}
	}
	return nil
}

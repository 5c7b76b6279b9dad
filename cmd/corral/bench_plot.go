package main

import (
	"fmt"

	"github.com/corral-io/corral/internal/bench"
	"github.com/spf13/cobra"
)

// benchPlotCmd draws PNG bar charts of throughput and p99 latency from --json reports.
func benchPlotCmd() *cobra.Command {
	var dir, prefix, title string
	cmd := &cobra.Command{
		Use:   "plot NAME=FILE[,FILE...]...",
		Short: "Draw PNG bar charts of throughput and p99 latency from --json reports",
		Long: fmt.Sprintf(`Draw two PNG images (%dx%d) from reports written by 'corral bench --json', one
system per NAME=FILE, in that order: DIR/PREFIX-throughput.png, bars of throughput per
workload per system, and DIR/PREFIX-p99.png, bars of p99 latency. Several files for one
name (comma-separated) are read as one report; a run made with --label gets bars of its own. A value axis is
logarithmic when its values spread over more than a factor of 20. A missing file is a
system not measured (no bars, "(not measured)" in the legend), as in 'corral bench
compare'. The paths written are printed, one a line.`, bench.PlotWidthPx, bench.PlotHeightPx),
		Example: `  corral bench plot --dir docs/benchmarks --prefix 3-members --title "3 members" \
      corral=corral.json zookeeper=zk.json etcd=etcd.json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			named, measured, err := readNamedReports(cmd, "plot", "no bars", args)
			if err != nil {
				return err
			}
			if measured == 0 {
				return fmt.Errorf("no report to plot")
			}
			paths, err := bench.WritePlots(dir, prefix, title, named)
			for _, p := range paths {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", ".", "directory to write the images into (created if missing)")
	f.StringVar(&prefix, "prefix", "bench", "file name prefix: PREFIX-throughput.png and PREFIX-p99.png")
	f.StringVar(&title, "title", "", `appended to each plot's title, for example "3 members"`)
	return cmd
}

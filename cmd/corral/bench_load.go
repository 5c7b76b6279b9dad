package main

import (
	"context"
	"fmt"
	"time"

	"github.com/corral-io/corral/internal/bench"
	"github.com/spf13/cobra"
)

// benchLoadCmd and benchProbeCmd prepare and time the memory and recovery
// measurements of scripts/compare.sh.
func benchLoadCmd() *cobra.Command {
	var server string
	var from, count, size int
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Create znodes of a given size under " + bench.LoadRoot + " and leave them (for memory and recovery measurements)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			t0 := time.Now()
			if err := bench.Load(cmd.Context(), server, from, count, size, timeout); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %d znodes of %d B in %v\n", count, size, time.Since(t0).Round(time.Millisecond))
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "127.0.0.1:2181", "ZooKeeper-protocol server")
	f.IntVar(&from, "from", 0, "index of the first znode")
	f.IntVar(&count, "count", 200000, "znodes to create")
	f.IntVar(&size, "value-size", 128, "bytes per znode")
	f.DurationVar(&timeout, "timeout", 30*time.Second, "bound on each request")
	return cmd
}

func benchProbeCmd() *cobra.Command {
	var server, path string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "probe",
		Short: "Wait until a server serves a getData (recovery time), retrying every 5 ms",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			return bench.Probe(ctx, server, path)
		},
	}
	f := cmd.Flags()
	f.StringVar(&server, "server", "127.0.0.1:2181", "ZooKeeper-protocol server")
	f.StringVar(&path, "path", bench.LoadPath(0), "znode to read")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "give up after this long")
	return cmd
}

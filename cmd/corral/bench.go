package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/corral-io/corral/internal/bench"
	"github.com/corral-io/corral/internal/sysmon"
	"github.com/spf13/cobra"
)

func benchCmd() *cobra.Command {
	cfg := bench.Defaults()
	var (
		servers, workloads, etcd string
		serverPIDs               string
		jsonOut, quiet           bool
		holdSysmon               bool
		outPath                  string
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure a ZooKeeper-protocol server (or etcd) with named workloads",
		Long: `Measure any server that speaks ZooKeeper's protocol (corral, Apache ZooKeeper) with
corral's own pipelined client, or etcd with its Go client, under the same workloads:

  get            getData of pre-created nodes (--keys of them)
  set            setData of those nodes
  mixed          get and set, --read-ratio of them reads
  create         persistent-sequential creates under one parent (removed afterwards)
  session-churn  open a session, create an ephemeral, close the session, repeatedly
  watch          --sessions watchers on one node, one writer; notification latency
  lock           --sessions contenders on one lock (Curator/kazoo layout; etcd Mutex)
  all            every workload above, in turn

--sessions sessions each keep --inflight requests in flight (get, set, mixed, create).
Each workload runs --warmup, then --duration (or --requests operations), and reports
throughput and latency percentiles, as a table or (--json) as JSON. A line of progress
goes to stderr every second unless --quiet.`,
		Example: `  corral bench --servers 127.0.0.1:2181 --workload get,set --sessions 16 --inflight 32
  corral bench --servers 127.0.0.1:2181 --workload all --duration 5s --json --out zk.json
  corral bench --etcd http://127.0.0.1:2379 --workload set,lock --duration 10s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Servers = splitList(servers)
			cfg.Etcd = splitList(etcd)
			cfg.Workloads = splitList(workloads)
			for _, p := range splitList(serverPIDs) {
				pid, err := strconv.Atoi(p)
				if err != nil || pid <= 0 {
					return fmt.Errorf("bench: --server-pids: %q is not a process id", p)
				}
				cfg.ServerPIDs = append(cfg.ServerPIDs, pid)
			}
			if len(cfg.Workloads) == 1 && cfg.Workloads[0] == "all" {
				cfg.Workloads = bench.Workloads
			}
			if !quiet {
				cfg.Progress = cmd.ErrOrStderr()
			}
			if holdSysmon {
				// The client shares the servers' cores: what it spends is theirs
				// to lose (see internal/sysmon).
				release, _ := sysmon.Hold()
				defer release()
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep, runErr := bench.Run(ctx, cfg)
			if rep == nil {
				return runErr
			}
			var err error
			if outPath != "" {
				err = writeReportFile(outPath, rep, jsonOut)
				if err == nil {
					err = bench.WriteTable(cmd.OutOrStdout(), rep)
				}
			} else if jsonOut {
				err = bench.WriteJSON(cmd.OutOrStdout(), rep)
			} else {
				err = bench.WriteTable(cmd.OutOrStdout(), rep)
			}
			if runErr != nil {
				return runErr
			}
			return err
		},
	}
	cmd.AddCommand(benchCompareCmd(), benchLoadCmd(), benchProbeCmd())
	cmd.AddCommand(benchPlotCmd(), benchFloorCmd())
	f := cmd.Flags()
	f.StringVar(&servers, "servers", strings.Join(cfg.Servers, ","), "ZooKeeper-protocol servers, host:port[,host:port...]; sessions are spread over them")
	f.StringVar(&etcd, "etcd", "", "etcd mode: client endpoints (http://host:port[,...]) instead of --servers")
	f.BoolVar(&cfg.EtcdLinearizable, "etcd-linearizable", false, "etcd mode: linearizable reads (default serializable, like ZooKeeper's getData)")
	f.StringVar(&workloads, "workload", "get", "workloads to run in turn: get,set,mixed,create,session-churn,watch,lock or all")
	f.IntVar(&cfg.Sessions, "sessions", cfg.Sessions, "client sessions (connections); watchers for watch, contenders for lock, concurrent churners for session-churn")
	f.IntVar(&cfg.Inflight, "inflight", cfg.Inflight, "requests in flight per session (get, set, mixed, create)")
	f.DurationVar(&cfg.Duration, "duration", cfg.Duration, "measured time per workload")
	f.Int64Var(&cfg.Requests, "requests", 0, "measured operations per workload (overrides --duration)")
	f.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "unmeasured time before each workload's measurement")
	f.IntVar(&cfg.ValueSize, "value-size", cfg.ValueSize, "bytes per value written")
	f.Float64Var(&cfg.ReadRatio, "read-ratio", cfg.ReadRatio, "share of reads in the mixed workload")
	f.IntVar(&cfg.Keys, "keys", cfg.Keys, "nodes (keys) that get, set and mixed spread over")
	f.DurationVar(&cfg.Hold, "hold", 0, "how long lock holds the lock once acquired")
	f.DurationVar(&cfg.SessionTimeout, "session-timeout", cfg.SessionTimeout, "session timeout to request (lease TTL in etcd mode)")
	f.StringVar(&cfg.Label, "label", "", `recorded in every result: 'bench compare' and 'bench plot' show it after the workload, so that two runs of one workload (say, 16 and 256 churners) get a row each`)
	f.DurationVar(&cfg.OpTimeout, "op-timeout", cfg.OpTimeout, "bound on connects, setup requests and waits for events and locks")
	f.BoolVar(&jsonOut, "json", false, "write JSON instead of a table")
	f.StringVar(&outPath, "out", "", "write the report (JSON with --json) to this file; the table still goes to stdout")
	f.StringVar(&serverPIDs, "server-pids", "", "process ids of the servers, when they run on this machine: their CPU time over each workload's measured time is reported, in all and per op (Linux /proc)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress lines")
	f.BoolVar(&holdSysmon, "hold-sysmon", false, "hold one more scheduler slot to keep the Go runtime's monitor thread from polling after idle spells, as corral server --hold-sysmon does (can stall this client for up to seconds when the host has more runnable threads than cores)")
	return cmd
}

// benchCompareCmd turns --json reports into a Markdown comparison table.
func benchCompareCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "compare SUBJECT=FILE[,FILE...] BASELINE=FILE[,FILE...]...",
		Short: "Print a Markdown table comparing --json reports, with ratios SUBJECT/BASELINE",
		Long: `Print a Markdown table of throughput and p99 latency per workload, from reports written
by 'corral bench --json', with the ratios of the first (the subject) to each of the
others. A missing file yields a column of dashes, so a system that could not be measured
does not stop the table. Several files for one name (comma-separated) are read as one
report: a run made with --label gets rows of its own.`,
		Example: "  corral bench compare corral=corral.json zookeeper=zk.json etcd=etcd.json",
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			named, _, err := readNamedReports(cmd, "compare", "column left empty", args)
			if err != nil {
				return err
			}
			return bench.WriteComparison(cmd.OutOrStdout(), named[0], named[1:])
		},
	}
}

// readNamedReports reads NAME=FILE[,FILE...] arguments: the results of a name's files
// are merged (see bench.Merge). A name none of whose files exists gets a nil report, and
// a line on stderr ending with absent; measured counts the names with a report.
func readNamedReports(cmd *cobra.Command, sub, absent string, args []string) (named []bench.Named, measured int, err error) {
	for _, a := range args {
		name, paths, ok := strings.Cut(a, "=")
		if !ok || name == "" || paths == "" {
			return nil, 0, fmt.Errorf("%q: want NAME=FILE[,FILE...]", a)
		}
		var reps []*bench.Report
		for _, path := range strings.Split(paths, ",") {
			rep, err := bench.ReadReport(path)
			if err != nil {
				if !os.IsNotExist(err) {
					return nil, 0, err
				}
				continue
			}
			reps = append(reps, rep)
		}
		rep := bench.Merge(reps...)
		if rep == nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "corral bench %s: %s: no report, %s\n", sub, name, absent)
		} else {
			measured++
		}
		named = append(named, bench.Named{Name: name, Report: rep})
	}
	return named, measured, nil
}

// writeReportFile writes rep to path, as JSON or as a table.
func writeReportFile(path string, rep *bench.Report, asJSON bool) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if asJSON {
		err = bench.WriteJSON(f, rep)
	} else {
		err = bench.WriteTable(f, rep)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

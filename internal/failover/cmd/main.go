// Command failover measures the write outage of a 3-member corral and a 3-member ZooKeeper
// when the leader is killed or frozen; see package internal/failover and
// scripts/failover.sh, which builds and runs it.
//
//	go run ./internal/failover/cmd --corral /path/to/corral [--out docs/failover.md]
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/corral-io/corral/internal/failover"
)

func main() {
	cfg := failover.Defaults()
	var systems, out, rev, command string
	var quiet bool
	flag.StringVar(&cfg.CorralBin, "corral", "", "corral binary to run the members with")
	flag.StringVar(&systems, "systems", strings.Join(cfg.Systems, ","), "systems to measure, in order: corral,zookeeper")
	flag.IntVar(&cfg.Trials, "trials", cfg.Trials, "trials per fault and system")
	flag.DurationVar(&cfg.FreezeFor, "freeze", cfg.FreezeFor, "how long a frozen leader stays stopped (at least)")
	flag.DurationVar(&cfg.After, "after", cfg.After, "how long to keep writing once writes resume, before restarting the victim")
	flag.DurationVar(&cfg.MaxWait, "max-wait", cfg.MaxWait, "bound on the wait for the first write after a fault")
	flag.DurationVar(&cfg.Warmup, "warmup", cfg.Warmup, "writing time before each fault")
	flag.IntVar(&cfg.Client.Sessions, "sessions", cfg.Client.Sessions, "writer sessions")
	flag.DurationVar(&cfg.Client.SessionTimeout, "session-timeout", cfg.Client.SessionTimeout, "session timeout the writers ask for")
	flag.DurationVar(&cfg.Budget, "budget", cfg.Budget, "bound on the whole run; trials that would not fit are skipped")
	flag.StringVar(&cfg.WorkDir, "work-dir", "", "where to make the temporary directory (default $TMPDIR)")
	flag.BoolVar(&cfg.Keep, "keep", false, "keep the temporary directory (member logs and data)")
	flag.StringVar(&cfg.ZooKeeper.Java, "java", cfg.ZooKeeper.Java, "java binary")
	flag.StringVar(&cfg.ZooKeeper.ZooKeeperJar, "zk-jar", cfg.ZooKeeper.ZooKeeperJar, "zookeeper.jar")
	flag.StringVar(&cfg.ZooKeeper.SLF4JJar, "slf4j-jar", cfg.ZooKeeper.SLF4JJar, "an SLF4J binding jar")
	flag.StringVar(&out, "out", "", "write the Markdown report to this file (text after its notes marker is kept)")
	flag.StringVar(&rev, "rev", "", "corral revision, for the report")
	flag.StringVar(&command, "command", "", "the command line to show in the report (default: this one)")
	flag.BoolVar(&quiet, "q", false, "no progress lines")
	flag.Parse()
	cfg.Systems = nil
	for _, s := range strings.Split(systems, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Systems = append(cfg.Systems, s)
		}
	}
	if command == "" {
		command = strings.Join(os.Args, " ")
	}
	if !quiet {
		cfg.Log = os.Stderr
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, runErr := failover.Run(ctx, cfg)
	if res.WorkDir != "" {
		fmt.Fprintf(os.Stderr, "kept %s\n", res.WorkDir)
	}
	var buf bytes.Buffer
	failover.WriteMarkdown(&buf, cfg, res, failover.Meta{Command: command, Revision: rev}, failover.KeptNotes(out))
	if out != "" {
		if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "failover:", err)
			os.Exit(1)
		}
	}
	failover.WriteSummaryTable(os.Stdout, failover.Summarize(res.Trials))
	fmt.Println()
	for _, v := range failover.Verdicts(failover.Summarize(res.Trials)) {
		fmt.Println("-", v)
	}
	fmt.Println()
	failover.WriteTrialTable(os.Stdout, res.Trials)
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "failover:", runErr)
		os.Exit(1)
	}
}

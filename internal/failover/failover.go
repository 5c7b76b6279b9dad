// Package failover measures the write outage that clients of the surviving members see
// when the leader of a 3-member ensemble is killed (SIGKILL) or frozen (SIGSTOP), for
// corral and for Apache ZooKeeper side by side, with the same client and workload.
//
// For each system it starts a fresh ensemble on loopback ports in a temporary directory,
// and for each trial: waits until exactly one member reports `Mode: leader`, starts
// writer sessions connected only to the two other members (setData in a loop, one request
// at a time per session), injects the fault into the leader's process by its PID, keeps
// writing until the writes have resumed for a while, then restarts (or SIGCONTs) the
// victim and waits until it is back. The outage of a trial is the largest gap between
// consecutive successful writes, all sessions together, from the last write before the
// fault to the end of the fault window. Only processes started here are signalled, by PID.
package failover

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

// Config is one run.
type Config struct {
	// Systems to measure, in order: "corral", "zookeeper".
	Systems []string
	// CorralBin is the corral binary.
	CorralBin string
	// ZooKeeper locates java and ZooKeeper's jars.
	ZooKeeper ZooKeeperPaths
	// Trials per fault and system.
	Trials int
	// Faults to inject, alternating in this order within each round.
	Faults []Fault
	// FreezeFor is how long a frozen leader stays stopped, at least (it stays stopped
	// until the writes have resumed for After, up to MaxWait).
	FreezeFor time.Duration
	// After is how long the writers keep going once writes have resumed, before the
	// victim is restarted or continued.
	After time.Duration
	// MaxWait bounds the wait for the first write after a fault.
	MaxWait time.Duration
	// Warmup is how long the writers write before the fault.
	Warmup time.Duration
	// Client is the writers' behaviour.
	Client ClientConfig
	// Budget bounds the whole run; trials that would not fit are skipped.
	Budget time.Duration
	// WorkDir is where ensembles are laid out (a new temporary directory under it);
	// Keep keeps it (logs, data) instead of removing it.
	WorkDir string
	Keep    bool
	// Log receives progress lines.
	Log io.Writer
}

// Defaults returns the configuration of the documented run.
func Defaults() Config {
	return Config{
		Systems:   []string{"corral", "zookeeper"},
		ZooKeeper: DefaultZooKeeperPaths,
		Trials:    3,
		Faults:    []Fault{Kill, Freeze},
		FreezeFor: 15 * time.Second,
		After:     3 * time.Second,
		MaxWait:   40 * time.Second,
		Warmup:    time.Second,
		Client:    ClientConfig{Sessions: 4, SessionTimeout: 10 * time.Second},
		Budget:    7 * time.Minute,
		Log:       io.Discard,
	}
}

// Result is what a run measured.
type Result struct {
	Trials   []Trial
	Versions map[string]string // system -> version its srvr reported
	WorkDir  string            // kept work directory, if Keep
	Started  time.Time
	Took     time.Duration
}

// estimate is roughly how long a trial of each fault takes, to skip those that would
// overrun the budget.
func (c Config) estimate(f Fault) time.Duration {
	if f == Freeze {
		return c.Warmup + c.FreezeFor + c.After + 15*time.Second
	}
	return c.Warmup + c.After + 20*time.Second
}

// Run measures every system in turn. It returns what it measured even when it stops
// early (budget, cancellation); the error says why.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	logf := func(format string, args ...any) {
		fmt.Fprintf(cfg.Log, "[%s] %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
	}
	res := &Result{Versions: map[string]string{}, Started: time.Now()}
	defer func() { res.Took = time.Since(res.Started) }()
	deadline := time.Now().Add(cfg.Budget)
	ctx, cancel := context.WithDeadline(ctx, deadline.Add(30*time.Second))
	defer cancel()

	work, err := os.MkdirTemp(cfg.WorkDir, "corral-failover-")
	if err != nil {
		return res, err
	}
	if cfg.Keep {
		res.WorkDir = work
	} else {
		defer os.RemoveAll(work)
	}

	var firstErr error
	for si, sys := range cfg.Systems {
		// Each system gets an equal share of what is left.
		share := time.Until(deadline) / time.Duration(len(cfg.Systems)-si)
		sysDeadline := time.Now().Add(share)
		var e *ensemble
		switch sys {
		case "corral":
			e, err = newCorral(cfg.CorralBin, work, 3)
		case "zookeeper":
			e, err = newZooKeeper(cfg.ZooKeeper, work, 3)
		default:
			err = fmt.Errorf("unknown system %q", sys)
		}
		if err == nil {
			err = runSystem(ctx, cfg, e, sysDeadline, res, logf)
		}
		if err != nil {
			logf("%s: %v", sys, err)
			if firstErr == nil {
				firstErr = fmt.Errorf("%s: %w", sys, err)
			}
			if ctx.Err() != nil {
				break
			}
		}
	}
	return res, firstErr
}

func runSystem(ctx context.Context, cfg Config, e *ensemble, deadline time.Time, res *Result, logf func(string, ...any)) error {
	defer e.stopAll()
	logf("%s: starting 3 members", e.System)
	if err := e.startAll(); err != nil {
		return err
	}
	lead, err := e.waitHealthy(ctx, 90*time.Second)
	if err != nil {
		return err
	}
	res.Versions[e.System] = e.Version
	logf("%s: up, leader is member %d (%s)", e.System, lead.ID, e.Version)
	// Create the writers' znodes through a follower (forwarded to the leader).
	if err := createNodesRetry(ctx, e, cfg.Client.withDefaults(2).Sessions); err != nil {
		return err
	}
	for n := 1; n <= cfg.Trials; n++ {
		for _, f := range cfg.Faults {
			t := Trial{System: e.System, Fault: f, N: n}
			if time.Until(deadline) < cfg.estimate(f) {
				t.Err = "skipped: the time budget is spent"
				res.Trials = append(res.Trials, t)
				logf("%s %s #%d: %s", e.System, f, n, t.Err)
				continue
			}
			err := runTrial(ctx, cfg, e, &t, logf)
			if err != nil && t.Rejoin == "" {
				t.Err = err.Error()
			}
			res.Trials = append(res.Trials, t)
			if err != nil {
				logf("%s %s #%d: %v", e.System, f, n, err)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// The ensemble may be broken; give up on this system.
				return err
			}
			logf("%s %s #%d: outage %s s (first write %s s, worst session %s s, rejoin gap %s s), leader %d -> %d",
				e.System, f, n, secs(t.Outage), secs(t.FirstWrite), secs(t.WorstSession), secs(t.Recovery), t.Victim, t.NewLeader)
		}
	}
	return nil
}

func createNodesRetry(ctx context.Context, e *ensemble, n int) error {
	var err error
	for range 20 {
		for _, m := range e.Members {
			if err = createNodes(m.ClientAddr, n, 5*time.Second); err == nil {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("could not create the writers' znodes: %w", err)
}

// runTrial carries out one fault on the current leader of e.
func runTrial(ctx context.Context, cfg Config, e *ensemble, t *Trial, logf func(string, ...any)) error {
	lead, err := e.waitHealthy(ctx, 60*time.Second)
	if err != nil {
		return err
	}
	t.Victim = lead.ID
	var hosts []string
	for _, m := range e.Members {
		if m != lead {
			hosts = append(hosts, m.ClientAddr)
		}
	}
	w := startWriters(cfg.Client, hosts)
	defer w.stop()
	rec := w.rec

	// Every session must be writing before the fault.
	if err := waitUntil(ctx, 20*time.Second, func() bool {
		for _, c := range rec.counts() {
			if c == 0 {
				return false
			}
		}
		return true
	}); err != nil {
		return fmt.Errorf("writers did not start writing: %w", err)
	}
	if err := sleepCtx(ctx, cfg.Warmup); err != nil {
		return err
	}

	sig := syscall.SIGKILL
	if t.Fault == Freeze {
		sig = syscall.SIGSTOP
	}
	e.markAll("%v to member %d (pid %d), the leader (%s #%d)", sig, lead.ID, lead.PID(), t.Fault, t.N)
	// faultAt is when the signal is sent; goneAt when the victim is certainly dead (reaped)
	// or stopped (every thread), so that a write sent after it cannot have been served
	// with its help.
	faultAt := rec.now()
	if t.Fault == Kill {
		err = lead.kill()
	} else if err = lead.signal(syscall.SIGSTOP); err == nil {
		err = lead.waitStopped(time.Second)
	}
	if err != nil {
		return err
	}
	goneAt := rec.now()
	logf("%s %s #%d: %v sent to leader %d", e.System, t.Fault, t.N, sig, lead.ID)

	// Keep writing until the writes have resumed for After (and, when frozen, for at
	// least FreezeFor), bounded by MaxWait.
	// A write counts as resumed only if its request left after the victim was gone (a
	// reply in flight at the fault does not).
	resumed := func() bool { return time.Duration(rec.lastSent.Load()) > goneAt }
	_ = waitUntil(ctx, cfg.MaxWait, resumed)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	until := rec.now() // the end of the fault window
	if resumed() {
		// srvr to a frozen member takes its 1 s timeout: ask while writing goes on.
		t.NewLeader = e.leaderNow()
		until += cfg.After
	}
	if t.Fault == Freeze {
		until = max(until, faultAt+cfg.FreezeFor)
	}
	if rest := until - rec.now(); rest > 0 {
		if err := sleepCtx(ctx, rest); err != nil {
			return err
		}
	}
	faultEnd := rec.now()

	// Recovery: restart or continue the victim and wait until it is back.
	if t.Fault == Kill {
		e.markAll("restarting member %d", lead.ID)
		err = lead.start()
	} else {
		e.markAll("SIGCONT to member %d (pid %d)", lead.ID, lead.PID())
		err = lead.signal(syscall.SIGCONT)
	}
	if err != nil {
		return err
	}
	recStart := rec.now()
	_, rejoinErr := e.waitHealthy(ctx, 60*time.Second)
	if rejoinErr == nil {
		rejoinErr = sleepCtx(ctx, time.Second)
	}
	recEnd := rec.now()
	w.stop()
	per, events := rec.snapshot()
	analyze(t, per, events, window{faultAt, faultEnd}, goneAt, window{recStart, recEnd})
	if rejoinErr != nil {
		// The outage was measured; the ensemble did not heal, which ends this system's run.
		t.Rejoin = fmt.Sprintf("member %d did not rejoin: %v", lead.ID, rejoinErr)
		e.markAll("%s", t.Rejoin)
		return fmt.Errorf("after the %s: %w", t.Fault, rejoinErr)
	}
	return nil
}

func waitUntil(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

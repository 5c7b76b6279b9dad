// Package bench is the load generator behind `corral bench`. It drives any server that
// speaks ZooKeeper's wire protocol (corral, Apache ZooKeeper) through its own minimal
// pipelined client (Conn), and etcd through go.etcd.io/etcd/client/v3, with the same
// named workloads, so that the services are measured the same way. Each workload reports
// throughput and latency percentiles from a log-linear histogram (Histogram).
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Workload names.
const (
	WorkloadGet          = "get"
	WorkloadSet          = "set"
	WorkloadMixed        = "mixed"
	WorkloadCreate       = "create"
	WorkloadSessionChurn = "session-churn"
	WorkloadWatch        = "watch"
	WorkloadLock         = "lock"
)

// Workloads lists every workload, in the order `--workload all` runs them.
var Workloads = []string{WorkloadGet, WorkloadSet, WorkloadMixed, WorkloadCreate,
	WorkloadSessionChurn, WorkloadWatch, WorkloadLock}

// Config describes a benchmark run.
type Config struct {
	// Servers are ZooKeeper-protocol addresses (host:port); sessions are spread over them
	// round-robin. Ignored when Etcd is set.
	Servers []string
	// Etcd, when non-empty, selects etcd mode: these are the etcd client endpoints.
	Etcd []string
	// EtcdLinearizable makes etcd reads linearizable (a ReadIndex round per read). By
	// default they are serializable, served by the member, as ZooKeeper's getData is.
	EtcdLinearizable bool
	// Workloads to run, in order.
	Workloads []string
	// Sessions is the number of client sessions (connections); in the watch workload the
	// number of watchers, in lock the number of contenders, in session-churn the number
	// of concurrent churners.
	Sessions int
	// Inflight is the number of requests each session keeps in flight (get, set, mixed,
	// create).
	Inflight int
	// Duration of the measured part of each workload, unless Requests is set.
	Duration time.Duration
	// Requests, when positive, ends each workload after this many measured operations.
	Requests int64
	// Warmup runs the workload this long before measuring.
	Warmup time.Duration
	// ValueSize is the size of the values written.
	ValueSize int
	// ReadRatio is the share of reads in the mixed workload.
	ReadRatio float64
	// Keys is how many nodes get, set and mixed spread over.
	Keys int
	// Hold is how long the lock workload holds the lock once acquired.
	Hold time.Duration
	// SessionTimeout is the session timeout requested.
	SessionTimeout time.Duration
	// Label, when set, is recorded in every result of the run, so that a comparison
	// can tell two runs of the same workload apart (for example session-churn with 16
	// and with 256 churners): see Result.Case.
	Label string
	// OpTimeout bounds connects, setup requests and waits for watch events and locks.
	OpTimeout time.Duration
	// Progress, when non-nil, receives one line per second while a workload runs.
	Progress io.Writer
	// ServerPIDs, when set, are the server processes (on this machine) whose CPU time
	// over each workload's measured time is reported (Result.ServerCPUSeconds).
	ServerPIDs []int

	cpu *cpuWindow // the running workload's, when ServerPIDs is set
}

// Defaults returns a Config with the defaults of `corral bench`.
func Defaults() Config {
	return Config{
		Servers:        []string{"127.0.0.1:2181"},
		Workloads:      []string{WorkloadGet},
		Sessions:       8,
		Inflight:       16,
		Duration:       10 * time.Second,
		Warmup:         time.Second,
		ValueSize:      128,
		ReadRatio:      0.9,
		Keys:           1000,
		SessionTimeout: 30 * time.Second,
		OpTimeout:      10 * time.Second,
	}
}

// Validate checks the configuration.
func (c *Config) Validate() error {
	if len(c.Etcd) == 0 && len(c.Servers) == 0 {
		return errors.New("no servers")
	}
	if len(c.Workloads) == 0 {
		return errors.New("no workloads")
	}
	for _, w := range c.Workloads {
		if !isWorkload(w) {
			return fmt.Errorf("unknown workload %q (have %s)", w, strings.Join(Workloads, ", "))
		}
	}
	switch {
	case c.Sessions < 1:
		return errors.New("sessions must be at least 1")
	case c.Inflight < 1:
		return errors.New("inflight must be at least 1")
	case c.Duration <= 0 && c.Requests <= 0:
		return errors.New("need a positive duration or request count")
	case c.ValueSize < 0 || c.ValueSize > 1<<20-1024:
		return errors.New("value size out of range")
	case c.ReadRatio < 0 || c.ReadRatio > 1:
		return errors.New("read ratio must be within [0, 1]")
	case c.Keys < 1:
		return errors.New("keys must be at least 1")
	case c.Warmup < 0 || c.Hold < 0:
		return errors.New("negative warmup or hold")
	case c.SessionTimeout <= 0 || c.OpTimeout <= 0:
		return errors.New("timeouts must be positive")
	}
	for _, p := range c.ServerPIDs {
		if _, err := processCPU(p); err != nil {
			return fmt.Errorf("server pid %d: cannot read its CPU time: %w", p, err)
		}
	}
	return nil
}

func isWorkload(w string) bool {
	for _, k := range Workloads {
		if k == w {
			return true
		}
	}
	return false
}

// Result is the outcome of one workload.
type Result struct {
	Workload  string   `json:"workload"`
	Target    string   `json:"target"` // "zookeeper-protocol" or "etcd"
	Servers   []string `json:"servers"`
	Sessions  int      `json:"sessions"`
	Inflight  int      `json:"inflight"`
	ValueSize int      `json:"value_size"`
	ReadRatio float64  `json:"read_ratio,omitempty"`
	// Seconds is the measured time.
	Seconds float64 `json:"seconds"`
	// Ops is the number of successful operations measured: requests, or for
	// session-churn whole sessions, for watch delivered events, for lock acquisitions.
	Ops        int64   `json:"ops"`
	Throughput float64 `json:"ops_per_sec"`
	// Unit names what an op is.
	Unit string `json:"unit"`
	// Latency of successful operations, in milliseconds. session-churn: connect latency;
	// watch: write acknowledgement to event; lock: wait from request to acquisition.
	Latency Summary `json:"latency_ms"`
	// Errors counts failed operations, by kind in ErrorKinds.
	Errors     int64            `json:"errors"`
	ErrorKinds map[string]int64 `json:"error_kinds,omitempty"`
	// Extra holds further latency digests (e.g. "session" for a whole churn cycle,
	// "from_send" for watch events measured from the write's send).
	Extra map[string]Summary `json:"extra_latency_ms,omitempty"`
	// Rates holds further rates per second (e.g. "writes" in the watch workload).
	Rates map[string]float64 `json:"extra_rates,omitempty"`
	// Note explains how this workload maps onto the target, where it matters.
	Note string `json:"note,omitempty"`
	// Label is Config.Label.
	Label string `json:"label,omitempty"`
	// ServerCPUSeconds is the CPU time (user and system) the processes of
	// Config.ServerPIDs used over the measured time, and ServerCPUPerOp that per
	// operation, in microseconds; zero when not measured.
	ServerCPUSeconds float64 `json:"server_cpu_seconds,omitempty"`
	ServerCPUPerOp   float64 `json:"server_cpu_us_per_op,omitempty"`
}

// Case names the measurement in comparisons and plots: the workload, followed by the
// label in parentheses when there is one.
func (r *Result) Case() string {
	if r.Label == "" {
		return r.Workload
	}
	return r.Workload + " (" + r.Label + ")"
}

// Report is a whole run.
type Report struct {
	Started time.Time `json:"started"`
	Results []Result  `json:"results"`
}

// Run runs every configured workload in turn and returns their results. A workload that
// cannot run at all (setup failed), or that ctx cuts short, ends the run with an error;
// the results of the workloads before it are kept.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	rep := &Report{Started: time.Now().UTC()}
	for _, w := range cfg.Workloads {
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		var (
			res *Result
			err error
		)
		if len(cfg.Etcd) > 0 {
			res, err = runEtcd(ctx, &cfg, w)
		} else {
			res, err = runZK(ctx, &cfg, w)
		}
		win := cfg.cpu
		cfg.cpu = nil
		if err != nil {
			return rep, fmt.Errorf("%s: %w", w, err)
		}
		if ctx.Err() != nil {
			// Cut short (interrupted, or the caller's deadline): not a measurement.
			return rep, fmt.Errorf("%s: interrupted: %w", w, ctx.Err())
		}
		if win != nil {
			noteServerCPU(res, win)
		}
		rep.Results = append(rep.Results, *res)
	}
	return rep, nil
}

// openAll opens count connections with open(0), open(1), ...; if one fails it gives
// those already open to abort and returns the error.
func openAll[C any](count int, open func(int) (C, error), abort func(C)) ([]C, error) {
	conns := make([]C, count)
	for k := range conns {
		c, err := open(k)
		if err != nil {
			for _, c := range conns[:k] {
				abort(c)
			}
			return nil, fmt.Errorf("connect: %w", err)
		}
		conns[k] = c
	}
	return conns, nil
}

// keepDespiteCleanup records on a measured result that removing the workload's nodes
// (keys) under dir afterwards failed: the measurement stands, what is left behind is said
// in the result's note and, when progress is shown, on the progress writer.
func keepDespiteCleanup(cfg *Config, res *Result, dir string, err error) {
	msg := fmt.Sprintf("cleanup failed, %s left behind: %v", dir, err)
	if res.Note != "" {
		msg = res.Note + "; " + msg
	}
	res.Note = msg
	if cfg.Progress != nil {
		fmt.Fprintf(cfg.Progress, "bench %s: %s\n", res.Workload, msg)
	}
}

// meter decides when workers stop, counts progress and prints it.
type meter struct {
	cfg       *Config
	name      string
	ctx       context.Context
	begin     int64 // nowNanos at start (warmup begins)
	warmupEnd int64
	deadline  int64 // 0 when ending by request count
	issued    atomic.Int64
	completed atomic.Int64 // all completions, warmup included, for progress
	stopped   atomic.Bool
	lastEnd   atomic.Int64
	stopProg  chan struct{}
	progDone  chan struct{}
}

func newMeter(ctx context.Context, cfg *Config, name string) *meter {
	m := &meter{cfg: cfg, name: name, ctx: ctx, stopProg: make(chan struct{}), progDone: make(chan struct{})}
	m.begin = nowNanos()
	m.warmupEnd = m.begin + int64(cfg.Warmup)
	if len(cfg.ServerPIDs) > 0 {
		cfg.cpu = startCPUWindow(cfg.ServerPIDs, cfg.Warmup)
	}
	if cfg.Requests <= 0 {
		m.deadline = m.warmupEnd + int64(cfg.Duration)
	}
	go m.progress()
	return m
}

// next reports whether a worker may start another operation now, and whether that
// operation counts (is past the warmup). It counts the operation against Requests.
func (m *meter) next() (ok, measured bool) {
	if m.stopped.Load() {
		return false, false
	}
	now := nowNanos()
	if m.deadline > 0 && now >= m.deadline || m.ctx.Err() != nil {
		m.stopped.Store(true)
		return false, false
	}
	if now < m.warmupEnd {
		return true, false
	}
	if m.cfg.Requests > 0 && m.issued.Add(1) > m.cfg.Requests {
		m.stopped.Store(true)
		return false, false
	}
	return true, true
}

// isMeasured reports whether an operation started at start counts.
func (m *meter) isMeasured(start int64) bool { return start >= m.warmupEnd }

// done counts one completed operation that ended at end.
func (m *meter) done(end int64, measured bool) { m.doneN(end, measured, 1) }

// doneN counts n completed operations, the last of which ended at end.
func (m *meter) doneN(end int64, measured bool, n int64) {
	m.completed.Add(n)
	if measured {
		for {
			old := m.lastEnd.Load()
			if end <= old || m.lastEnd.CompareAndSwap(old, end) {
				break
			}
		}
	}
}

// stop ends the workload early (on a fatal error).
func (m *meter) stop() { m.stopped.Store(true) }

// finish stops progress output and returns the measured seconds.
func (m *meter) finish() float64 {
	m.stopped.Store(true)
	if m.cfg.cpu != nil {
		m.cfg.cpu.stop()
	}
	close(m.stopProg)
	<-m.progDone
	end := m.lastEnd.Load()
	if end <= m.warmupEnd {
		end = nowNanos()
	}
	return float64(end-m.warmupEnd) / 1e9
}

// progressInterval is the time between progress lines.
var progressInterval = time.Second

func (m *meter) progress() {
	defer close(m.progDone)
	if m.cfg.Progress == nil {
		return
	}
	t := time.NewTicker(progressInterval)
	defer t.Stop()
	last, lastAt := int64(0), nowNanos()
	for {
		select {
		case <-m.stopProg:
			return
		case <-t.C:
		}
		n, now := m.completed.Load(), nowNanos()
		el := time.Duration(now - m.begin).Round(progressInterval)
		phase := ""
		if now < m.warmupEnd {
			phase = " (warmup)"
		}
		rate := float64(n-last) / (float64(now-lastAt) / 1e9)
		fmt.Fprintf(m.cfg.Progress, "bench %s: %s%s  ops %d  rate %.0f/s\n", m.name, el, phase, n, rate)
		last, lastAt = n, now
	}
}

// recorder collects one worker's measurements. Its histograms belong to one goroutine;
// errors may be counted from any.
type recorder struct {
	hist  *Histogram
	extra map[string]*Histogram
	mu    sync.Mutex
	errs  map[string]int64
}

func newRecorder(extra ...string) *recorder {
	r := &recorder{hist: NewHistogram(), errs: map[string]int64{}}
	if len(extra) > 0 {
		r.extra = map[string]*Histogram{}
		for _, k := range extra {
			r.extra[k] = NewHistogram()
		}
	}
	return r
}

func (r *recorder) fail(kind string) {
	r.mu.Lock()
	r.errs[kind]++
	r.mu.Unlock()
}

// fill merges recorders into res and computes throughput over seconds.
func fill(res *Result, seconds float64, recs []*recorder) {
	h := NewHistogram()
	extra := map[string]*Histogram{}
	kinds := map[string]int64{}
	for _, r := range recs {
		h.Merge(r.hist)
		for k, x := range r.extra {
			if extra[k] == nil {
				extra[k] = NewHistogram()
			}
			extra[k].Merge(x)
		}
		r.mu.Lock()
		for k, n := range r.errs {
			kinds[k] += n
			res.Errors += n
		}
		r.mu.Unlock()
	}
	res.Seconds = seconds
	res.Ops = h.Count()
	if seconds > 0 {
		res.Throughput = float64(res.Ops) / seconds
	}
	res.Latency = h.Summarize()
	if len(kinds) > 0 {
		res.ErrorKinds = kinds
	}
	for k, x := range extra {
		if res.Extra == nil {
			res.Extra = map[string]Summary{}
		}
		res.Extra[k] = x.Summarize()
	}
}

// randomValue returns n pseudo-random printable bytes.
func randomValue(n int) []byte {
	const alpha = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alpha[rand.IntN(len(alpha))]
	}
	return b
}

// runID is a short random name for this run's namespace.
func runID() string {
	return fmt.Sprintf("%08x", rand.Uint32())
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// noteServerCPU records on res the server CPU time win measured, or in its note why
// there is none.
func noteServerCPU(res *Result, win *cpuWindow) {
	used, err := win.result()
	if err != nil {
		msg := "server CPU not measured: " + err.Error()
		if res.Note != "" {
			msg = res.Note + "; " + msg
		}
		res.Note = msg
		return
	}
	res.ServerCPUSeconds = used.Seconds()
	if res.Ops > 0 {
		res.ServerCPUPerOp = used.Seconds() * 1e6 / float64(res.Ops)
	}
}

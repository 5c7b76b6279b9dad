package linear

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/go-zookeeper/zk"
)

// Config describes a workload.
type Config struct {
	Servers  []string      // connect string hosts
	Clients  int           // sessions
	Keys     int           // registers, /lin/k0 .. /lin/kN-1
	Duration time.Duration // how long clients run
	Seed     int64
	// Faults runs while the clients work (kill, pause, partition...). It must return
	// before Duration ends and leave the system able to serve.
	Faults func()
}

// Result summarises a run.
type Result struct {
	Ops, Unknown, Failed int
	Sequence             []string // created sequential names, to check for repeats
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

// Run drives the workload, records the history, and fails t if it is not
// linearizable, if a session saw a register go back in time, if an acknowledged
// write is missing after the faults heal, or if a sequential name repeated.
func Run(t *testing.T, cfg Config) Result {
	t.Helper()
	rng := rand.New(rand.NewSource(cfg.Seed))
	t.Logf("linearizability run: seed %d, %d clients, %d keys, %v", cfg.Seed, cfg.Clients, cfg.Keys, cfg.Duration)
	admin := dial(t, cfg.Servers)
	admin.Create("/lin", nil, 0, zk.WorldACL(zk.PermAll))
	admin.Create("/lin/seq", nil, 0, zk.WorldACL(zk.PermAll))
	for k := 0; k < cfg.Keys; k++ {
		if _, err := admin.Create(keyPath(k), nil, 0, zk.WorldACL(zk.PermAll)); err != nil && !errors.Is(err, zk.ErrNodeExists) {
			t.Fatalf("setup: %v", err)
		}
	}
	admin.Close()

	start := time.Now()
	now := func() int64 { return time.Since(start).Nanoseconds() }
	var mu sync.Mutex
	var history []porcupine.Operation
	var res Result
	seqNames := map[string]bool{}
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for c := 0; c < cfg.Clients; c++ {
		seed := rng.Int63()
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			conn := dialQuiet(cfg.Servers)
			if conn == nil {
				return
			}
			defer conn.Close()
			lastSeen := make([]int64, cfg.Keys)
			for n := 0; time.Now().Before(deadline); n++ {
				k := r.Intn(cfg.Keys)
				in := Input{Key: k, Value: fmt.Sprintf("c%d-%d", c, n)}
				var out Output
				call := now()
				switch p := r.Intn(10); {
				case p < 4:
					in.Kind = OpRead
					_, err := conn.Sync(keyPath(k))
					var data []byte
					var st *zk.Stat
					if err == nil {
						data, st, err = conn.Get(keyPath(k))
					}
					if err != nil {
						mu.Lock()
						res.Failed++
						mu.Unlock()
						continue // a failed read says nothing
					}
					out = Output{OK: true, Value: string(data), Version: st.Version}
					if st.Mzxid < lastSeen[k] {
						t.Errorf("client %d: k%d went back in time: mzxid %d after %d", c, k, st.Mzxid, lastSeen[k])
					}
					lastSeen[k] = st.Mzxid
				case p < 7:
					in.Kind = OpWrite
					st, err := conn.Set(keyPath(k), []byte(in.Value), -1)
					out = writeOutput(st, err)
				case p < 9:
					in.Kind = OpCAS
					in.Version = int32(r.Intn(4))
					if r.Intn(2) == 0 {
						// Mostly aim at the current version so CASes succeed.
						// A plain read: sequentially consistent, so it may lag, but
						// never behind what this session has already seen.
						if _, st, err := conn.Get(keyPath(k)); err == nil {
							in.Version = st.Version
							if st.Mzxid < lastSeen[k] {
								t.Errorf("client %d: plain read of k%d went back in time: mzxid %d after %d", c, k, st.Mzxid, lastSeen[k])
							}
							lastSeen[k] = st.Mzxid
						}
					}
					st, err := conn.Set(keyPath(k), []byte(in.Value), in.Version)
					out = writeOutput(st, err)
				default:
					name, err := conn.Create("/lin/seq/s-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
					if err == nil {
						mu.Lock()
						if seqNames[name] {
							t.Errorf("sequential name %s handed out twice", name)
						}
						seqNames[name] = true
						mu.Unlock()
					}
					continue
				}
				ret := now()
				if out.Unknown {
					ret = math.MaxInt64 // may take effect at any time after the call
				}
				mu.Lock()
				history = append(history, porcupine.Operation{ClientId: c, Input: in, Call: call, Output: out, Return: ret})
				res.Ops++
				if out.Unknown {
					res.Unknown++
				}
				mu.Unlock()
			}
		}(c)
	}
	if cfg.Faults != nil {
		cfg.Faults()
	}
	wg.Wait()
	t.Logf("history: %d operations (%d of unknown outcome, %d failed reads)", res.Ops, res.Unknown, res.Failed)
	if res.Ops == 0 {
		t.Fatal("no operation completed")
	}
	result, info := porcupine.CheckOperationsVerbose(Model, history, 60*time.Second)
	switch result {
	case porcupine.Illegal:
		file := filepath.Join(os.TempDir(), fmt.Sprintf("corral-linear-%d.html", cfg.Seed))
		porcupine.VisualizePath(Model, info, file)
		t.Fatalf("history is not linearizable (seed %d); visualisation in %s", cfg.Seed, file)
	case porcupine.Unknown:
		t.Logf("linearizability check timed out: inconclusive")
	}
	checkFinal(t, cfg, history)
	for name := range seqNames {
		res.Sequence = append(res.Sequence, name)
	}
	return res
}

// checkFinal reads every register after the faults and checks that no acknowledged
// write was lost: each register's version is at least the highest acknowledged.
func checkFinal(t *testing.T, cfg Config, history []porcupine.Operation) {
	t.Helper()
	maxAcked := make([]int32, cfg.Keys)
	for _, op := range history {
		in, out := op.Input.(Input), op.Output.(Output)
		if in.Kind != OpRead && out.OK && !out.Unknown && out.Version > maxAcked[in.Key] {
			maxAcked[in.Key] = out.Version
		}
	}
	c := dial(t, cfg.Servers)
	defer c.Close()
	for k := 0; k < cfg.Keys; k++ {
		var st *zk.Stat
		var err error
		for i := 0; i < 50; i++ {
			if _, err = c.Sync(keyPath(k)); err == nil {
				if _, st, err = c.Get(keyPath(k)); err == nil {
					break
				}
			}
			time.Sleep(200 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("final read of k%d: %v", k, err)
		}
		if st.Version < maxAcked[k] {
			t.Fatalf("k%d at version %d, but version %d was acknowledged: acknowledged write lost", k, st.Version, maxAcked[k])
		}
	}
}

func writeOutput(st *zk.Stat, err error) Output {
	switch {
	case err == nil:
		return Output{OK: true, Version: st.Version}
	case errors.Is(err, zk.ErrBadVersion):
		return Output{OK: false}
	default:
		return Output{Unknown: true}
	}
}

func keyPath(k int) string { return fmt.Sprintf("/lin/k%d", k) }

func dialQuiet(servers []string) *zk.Conn {
	c, ev, err := zk.Connect(servers, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	if err != nil {
		return nil
	}
	timeout := time.After(15 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-timeout:
			c.Close()
			return nil
		}
	}
	return c
}

func dial(t *testing.T, servers []string) *zk.Conn {
	t.Helper()
	c := dialQuiet(servers)
	if c == nil {
		t.Fatalf("cannot connect to %v", servers)
	}
	return c
}

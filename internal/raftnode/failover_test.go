package raftnode

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The failover measurement runs three real processes with the default
// timing (100 ms ticks, election after 10) and measures the write outage
// seen on the survivors when the leader is killed (SIGKILL) or frozen
// (SIGSTOP). It takes ~20 s, so it only runs when asked:
//
//	CORRAL_FAILOVER=1 go test -run TestFailoverProcesses -v ./internal/raftnode/
const (
	failoverEnv   = "CORRAL_FAILOVER"
	failoverChild = "CORRAL_FAILOVER_CHILD" // "id dir peers" for a child
)

// procSM signals each applied entry to whoever waits for it.
type procSM struct {
	mu      sync.Mutex
	applied uint64
	waiters map[string]chan struct{}
}

func (s *procSM) Apply(index uint64, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applied = index
	if ch, ok := s.waiters[string(data)]; ok {
		close(ch)
		delete(s.waiters, string(data))
	}
}

func (s *procSM) WriteSnapshot(w io.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := fmt.Fprintf(w, "%d", s.applied)
	return err
}

func (s *procSM) RestoreSnapshot(index uint64, r io.Reader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applied = index
	return nil
}

func (s *procSM) wait(data string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.waiters[data] = ch
	return ch
}

// TestFailoverChild is one member of TestFailoverProcesses. It writes
// continuously through itself and prints, for each write applied locally,
// "ack <start of the attempt that succeeded, unix ns> <applied, unix ns>",
// and "leader <id>" whenever the leader it knows changes.
func TestFailoverChild(t *testing.T) {
	spec := os.Getenv(failoverChild)
	if spec == "" {
		t.Skip("helper process for TestFailoverProcesses")
	}
	f := strings.Fields(spec)
	id, _ := strconv.ParseUint(f[0], 10, 64)
	peers := map[uint64]string{}
	for _, p := range strings.Split(f[2], ",") {
		k, v, _ := strings.Cut(p, "=")
		pid, _ := strconv.ParseUint(k, 10, 64)
		peers[pid] = v
	}
	var outMu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	printf := func(format string, a ...any) {
		outMu.Lock()
		fmt.Fprintf(out, format, a...)
		out.Flush()
		outMu.Unlock()
	}
	sm := &procSM{waiters: map[string]chan struct{}{}}
	n, err := Start(Config{
		ID: id, DataDir: f[1], Peers: peers, PeerAddr: peers[id], SnapshotCount: 2000,
		Logger:         slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnLeaderChange: func(l uint64) { printf("leader %d\n", l) },
	}, sm)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(3)
	}
	printf("started\n")
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				data := fmt.Sprintf("%d-%d-%d-%d", id, os.Getpid(), w, i)
				for {
					changed := n.leaderChanged()
					applied := sm.wait(data)
					start := time.Now()
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					err := n.Propose(ctx, []byte(data))
					if err == nil {
						select {
						case <-applied:
						case <-changed:
						case <-ctx.Done():
						}
					}
					cancel()
					select {
					case <-applied:
						printf("ack %d %d\n", start.UnixNano(), time.Now().UnixNano())
					default:
						if err != nil {
							select {
							case <-changed:
							case <-time.After(10 * time.Millisecond):
							}
						}
						continue
					}
					break
				}
			}
		}()
	}
	select {}
}

// failoverProc is a running child.
type failoverProc struct {
	id   uint64
	cmd  *exec.Cmd
	mu   sync.Mutex
	lead uint64
	acks [][2]int64
	done chan struct{}
}

func (p *failoverProc) read(r io.Reader) {
	defer close(p.done)
	br := bufio.NewScanner(r)
	for br.Scan() {
		f := strings.Fields(br.Text())
		p.mu.Lock()
		switch {
		case len(f) == 2 && f[0] == "leader":
			p.lead, _ = strconv.ParseUint(f[1], 10, 64)
		case len(f) == 3 && f[0] == "ack":
			a, _ := strconv.ParseInt(f[1], 10, 64)
			b, _ := strconv.ParseInt(f[2], 10, 64)
			p.acks = append(p.acks, [2]int64{a, b})
		}
		p.mu.Unlock()
	}
}

// firstAckAfter returns when the first write started after t0 was applied.
func (p *failoverProc) firstAckAfter(t0 time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var best int64
	for _, a := range p.acks {
		if a[0] > t0.UnixNano() && (best == 0 || a[1] < best) {
			best = a[1]
		}
	}
	return time.Unix(0, best), best != 0
}

func TestFailoverProcesses(t *testing.T) {
	if os.Getenv(failoverEnv) == "" {
		t.Skip("set " + failoverEnv + "=1 to measure failover with real processes (~20 s)")
	}
	base := t.TempDir()
	peers := map[uint64]string{}
	var spec []string
	for id := uint64(1); id <= 3; id++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		peers[id] = ln.Addr().String()
		ln.Close()
		spec = append(spec, fmt.Sprintf("%d=%s", id, peers[id]))
	}
	procs := map[uint64]*failoverProc{}
	start := func(id uint64) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFailoverChild$", "-test.count=1", "-test.timeout=0")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %s %s", failoverChild, id, filepath.Join(base, fmt.Sprint(id)), strings.Join(spec, ",")))
		cmd.Stderr = testWriter{t}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &failoverProc{id: id, cmd: cmd, done: make(chan struct{})}
		go p.read(out)
		procs[id] = p
	}
	t.Cleanup(func() {
		for _, p := range procs {
			p.cmd.Process.Signal(syscall.SIGCONT)
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	for id := uint64(1); id <= 3; id++ {
		start(id)
	}
	leader := func(exclude uint64) uint64 {
		var l uint64
		waitFor(t, "an agreed leader", func() bool {
			l = 0
			for id, p := range procs {
				if id == exclude {
					continue
				}
				p.mu.Lock()
				pl := p.lead
				p.mu.Unlock()
				if pl == 0 || (l != 0 && pl != l) {
					return false
				}
				l = pl
			}
			return l != 0 && l != exclude
		})
		return l
	}
	outage := func(lead uint64, t0 time.Time) time.Duration {
		var first time.Time
		waitFor(t, "writes to resume on the survivors", func() bool {
			for id, p := range procs {
				if id == lead {
					continue
				}
				if at, ok := p.firstAckAfter(t0); ok && (first.IsZero() || at.Before(first)) {
					first = at
				}
			}
			return !first.IsZero()
		})
		return first.Sub(t0)
	}
	var kills, freezes []time.Duration
	for round := range 3 {
		lead := leader(0)
		time.Sleep(time.Second) // steady writes, and a full election timeout of heartbeats
		t0 := time.Now()
		procs[lead].cmd.Process.Signal(syscall.SIGSTOP)
		d := outage(lead, t0)
		freezes = append(freezes, d)
		t.Logf("round %d: leader %d frozen (SIGSTOP): writes resumed after %v", round, lead, d.Round(time.Millisecond))
		procs[lead].cmd.Process.Signal(syscall.SIGCONT)

		lead = leader(0)
		time.Sleep(time.Second)
		t0 = time.Now()
		procs[lead].cmd.Process.Kill()
		d = outage(lead, t0)
		kills = append(kills, d)
		t.Logf("round %d: leader %d killed (SIGKILL): writes resumed after %v", round, lead, d.Round(time.Millisecond))
		procs[lead].cmd.Wait()
		<-procs[lead].done
		start(lead)
	}
	slices.Sort(kills)
	slices.Sort(freezes)
	t.Logf("kill -9: %v; SIGSTOP: %v (sorted)", kills, freezes)
	if kills[len(kills)-1] > 1500*time.Millisecond {
		t.Errorf("write outage after a leader kill up to %v", kills[len(kills)-1])
	}
	if freezes[len(freezes)-1] > 4*time.Second {
		t.Errorf("write outage after a leader freeze up to %v", freezes[len(freezes)-1])
	}
}

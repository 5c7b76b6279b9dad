package raftnode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/transport"
)

// Test clusters run on loopback with fast ticks: an election timeout of
// 10 ticks of 20ms. Waits poll a condition with a deadline; nothing sleeps
// for a fixed time to let something happen.
const (
	testTick    = 20 * time.Millisecond
	waitTimeout = 15 * time.Second
)

type member struct {
	id   uint64
	dir  string
	addr string
	sm   *fakeSM
	n    *Node // nil while down
}

type cluster struct {
	t       testing.TB
	faults  *transport.Faults
	peers   map[uint64]string // bootstrap peers
	learner []uint64
	ms      map[uint64]*member
	tweak   func(*Config) // applied to every member's config
}

// newCluster starts voters 1..voters plus the given learners on loopback.
func newCluster(t testing.TB, voters int, learners []uint64, tweak func(*Config)) *cluster {
	t.Helper()
	c := &cluster{t: t, faults: transport.NewFaults(), peers: map[uint64]string{}, ms: map[uint64]*member{}, learner: learners, tweak: tweak}
	ids := make([]uint64, 0, voters+len(learners))
	for i := 1; i <= voters; i++ {
		ids = append(ids, uint64(i))
	}
	ids = append(ids, learners...)
	lns := map[uint64]net.Listener{}
	for _, id := range ids {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[id] = ln
		c.peers[id] = ln.Addr().String()
		c.ms[id] = &member{id: id, dir: filepath.Join(t.TempDir(), fmt.Sprint(id)), addr: ln.Addr().String(), sm: &fakeSM{}}
	}
	t.Cleanup(c.stopAll)
	for _, id := range ids {
		c.startWith(id, lns[id], false)
	}
	return c
}

func (c *cluster) config(m *member, ln net.Listener, join bool) Config {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	cfg := Config{
		ID:             m.id,
		DataDir:        m.dir,
		TickInterval:   testTick,
		ElectionTicks:  10,
		HeartbeatTicks: 1,
		Peers:          c.peers,
		PeerAddr:       m.addr,
		PeerListener:   ln,
		Learners:       c.learner,
		Join:           join,
		PeerFaults:     c.faults,
		Logger:         slog.New(slog.NewTextHandler(testWriter{c.t}, &slog.HandlerOptions{Level: level})).With("test-member", m.id),
	}
	if c.tweak != nil {
		c.tweak(&cfg)
	}
	return cfg
}

func (c *cluster) startWith(id uint64, ln net.Listener, join bool) {
	c.t.Helper()
	m := c.ms[id]
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", m.addr); err != nil {
			c.t.Fatalf("relisten on %s: %v", m.addr, err)
		}
	}
	n, err := Start(c.config(m, ln, join), m.sm)
	if err != nil {
		ln.Close()
		c.t.Fatalf("start member %d: %v", id, err)
	}
	m.n = n
}

// restart starts a stopped member again on its data dir; its state machine
// starts empty, as after a process restart.
func (c *cluster) restart(id uint64) {
	c.t.Helper()
	c.ms[id].sm = &fakeSM{}
	c.startWith(id, nil, false)
}

// add creates a new member that joins with an empty data dir (it must be
// added with AddVoter or AddLearner).
func (c *cluster) add(id uint64) *member {
	c.t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	m := &member{id: id, dir: filepath.Join(c.t.TempDir(), fmt.Sprint(id)), addr: ln.Addr().String(), sm: &fakeSM{}}
	c.ms[id] = m
	c.startWith(id, ln, true)
	return m
}

// kill stops a member without handing leadership over; its transport's
// streams close as if the process had died.
func (c *cluster) kill(id uint64) {
	if m := c.ms[id]; m.n != nil {
		m.n.halt()
		m.n = nil
	}
}

// stop stops a member gracefully.
func (c *cluster) stop(id uint64) {
	if m := c.ms[id]; m.n != nil {
		m.n.Stop()
		m.n = nil
	}
}

func (c *cluster) stopAll() {
	var wg sync.WaitGroup
	for _, m := range c.ms {
		if m.n != nil {
			wg.Add(1)
			go func(n *Node) { defer wg.Done(); n.halt() }(m.n)
			m.n = nil
		}
	}
	wg.Wait()
}

func (c *cluster) running() []*member {
	var out []*member
	for _, id := range slices.Sorted(maps.Keys(c.ms)) {
		if c.ms[id].n != nil {
			out = append(out, c.ms[id])
		}
	}
	return out
}

// waitFor polls cond until it holds or the wait times out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// leaderAmong returns the leader that every given member agrees on, or 0.
func leaderAmong(ms []*member) uint64 {
	var lead uint64
	for _, m := range ms {
		l := m.n.Leader()
		if l == 0 || (lead != 0 && l != lead) {
			return 0
		}
		lead = l
	}
	for _, m := range ms {
		if m.id == lead && m.n.IsLeader() {
			return lead
		}
	}
	return 0
}

// waitLeader waits until the given members (default: all running) agree
// on a leader among them.
func (c *cluster) waitLeader(ids ...uint64) uint64 {
	c.t.Helper()
	ms := c.running()
	if len(ids) > 0 {
		ms = nil
		for _, id := range ids {
			ms = append(ms, c.ms[id])
		}
	}
	var lead uint64
	waitFor(c.t, "a leader", func() bool { lead = leaderAmong(ms); return lead != 0 })
	return lead
}

// propose proposes data through member via until it is applied there,
// retrying while no leader is known.
func (c *cluster) propose(via uint64, data []byte) {
	c.t.Helper()
	if err := c.tryPropose(via, data, waitTimeout); err != nil {
		c.t.Fatalf("propose %q via %d: %v", data, via, err)
	}
}

// tryPropose proposes data via a member and waits until that member's state
// machine holds it, proposing again when raft drops it or the leader
// changes (a proposal forwarded to a leader that died is lost silently;
// the server does the same by failing the request).
func (c *cluster) tryPropose(via uint64, data []byte, timeout time.Duration) error {
	m := c.ms[via]
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		changed := m.n.leaderChanged()
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		err := m.n.Propose(ctx, data)
	wait:
		for err == nil && ctx.Err() == nil {
			if m.sm.has(data) {
				cancel()
				return nil
			}
			select {
			case <-changed:
				break wait
			case <-time.After(time.Millisecond):
			}
		}
		cancel()
		if err != nil && !errors.Is(err, ErrNotLeader) && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
		if m.sm.has(data) {
			return nil
		}
		if err != nil {
			select {
			case <-changed:
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	return fmt.Errorf("not applied within %v", timeout)
}

// waitConverged waits until all running members have applied the same
// index and hold identical state.
func (c *cluster) waitConverged() {
	c.t.Helper()
	ms := c.running()
	waitFor(c.t, "members to converge", func() bool {
		s0 := ms[0].sm.state()
		for _, m := range ms[1:] {
			if m.sm.state() != s0 {
				return false
			}
		}
		return true
	})
	for _, m := range ms {
		if err := m.sm.orderErr(); err != nil {
			c.t.Fatalf("member %d: %v", m.id, err)
		}
	}
}

func (s *fakeSM) has(data []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := len(s.entries) - 1; i >= 0; i-- {
		if string(s.entries[i]) == string(data) {
			return true
		}
	}
	return false
}

func (s *fakeSM) snapshotEntries() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.entries)
}

// mustContain fails unless every acknowledged entry is in sm.
func mustContain(t testing.TB, who string, sm *fakeSM, acked [][]byte) {
	t.Helper()
	have := map[string]bool{}
	for _, e := range sm.snapshotEntries() {
		have[string(e)] = true
	}
	for _, a := range acked {
		if !have[string(a)] {
			t.Fatalf("%s lost acknowledged entry %q", who, a)
		}
	}
}

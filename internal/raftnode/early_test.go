package raftnode

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
)

// TestFollowerAppliesBeforeOwnWrite checks early apply (early.go): a follower
// whose own log write is stuck still applies the entries the other two
// members have made durable (they are committed), so its clients are not held
// behind its disk; once its disk moves again it writes them, and after a
// restart from its own WAL it holds the same state as the others.
func TestFollowerAppliesBeforeOwnWrite(t *testing.T) {
	var blocked atomic.Uint64 // member whose WAL saves wait for release
	release := make(chan struct{})
	c := newCluster(t, 3, nil, func(cfg *Config) {
		id := cfg.ID
		cfg.beforeSave = func() {
			if blocked.Load() == id {
				<-release
			}
		}
	})
	unblock := sync.OnceFunc(func() { blocked.Store(0); close(release) })
	t.Cleanup(unblock) // runs before the cluster's stop, which waits for the appenders
	lead := c.waitLeader()
	c.propose(lead, []byte("before"))
	c.waitConverged()
	f := uint64(1)
	for f == lead {
		f++
	}
	fm := c.ms[f]
	blocked.Store(f)

	var want [][]byte
	for i := range 5 {
		d := fmt.Appendf(nil, "early-%d", i)
		c.propose(lead, d) // committed by the leader and the third member
		want = append(want, d)
	}
	waitFor(t, "the follower to apply entries its own disk has not written", func() bool {
		for _, d := range want {
			if !fm.sm.has(d) {
				return false
			}
		}
		return true
	})
	// raft's log storage takes entries only once they are written: the
	// follower has applied past what its own log holds.
	if last, _ := fm.n.ms.LastIndex(); last >= fm.n.applied.Load() {
		t.Fatalf("follower's written log reaches %d, its applied index %d: nothing was applied early", last, fm.n.applied.Load())
	}

	unblock()
	c.propose(f, []byte("after")) // through the follower, as its clients would
	c.waitConverged()
	waitFor(t, "the follower to write what it applied", func() bool {
		last, _ := fm.n.ms.LastIndex()
		return last >= fm.n.applied.Load()
	})

	// Its own WAL holds everything it applied: restarted alone from it (the
	// others down, so nothing can be fetched), it replays the same state up to
	// the last entry it wrote.
	for _, m := range c.running() {
		if m.id != f {
			c.stop(m.id)
		}
	}
	c.stop(f)
	c.restart(f)
	waitFor(t, "the restarted follower to replay its log", func() bool {
		for _, d := range want {
			if !fm.sm.has(d) {
				return false
			}
		}
		return true
	})
}

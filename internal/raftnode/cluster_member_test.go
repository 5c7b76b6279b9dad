package raftnode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// smallLog makes members snapshot every 20 entries and keep only 10 behind
// a snapshot, so a member that misses a few dozen entries needs a snapshot.
func smallLog(t *testing.T) func(*Config) {
	old := catchUpEntries
	catchUpEntries = 10
	t.Cleanup(func() { catchUpEntries = old })
	return func(c *Config) { c.SnapshotCount = 20; c.SnapshotRetain = 2 }
}

func TestClusterSnapshotCatchUp(t *testing.T) {
	c := newCluster(t, 3, nil, smallLog(t))
	lead := c.waitLeader()
	var lag uint64 = 1
	if lead == 1 {
		lag = 2
	}
	c.faults.Isolate(lag)
	for i := range 100 {
		c.propose(lead, fmt.Appendf(nil, "while-away-%d", i))
	}
	if _, restores := c.ms[lag].sm.calls(); restores != 0 {
		t.Fatalf("lagging member restored %d snapshots before healing", restores)
	}
	c.faults.Heal()
	c.propose(lead, []byte("healed"))
	c.waitConverged()
	if _, restores := c.ms[lag].sm.calls(); restores == 0 {
		t.Fatal("the lagging member caught up without a snapshot; the test does not test snapshots")
	}
	// The installed snapshot is durable: the member restarts from it.
	c.kill(lag)
	c.restart(lag)
	c.propose(lead, []byte("after-restart"))
	c.waitConverged()
	if _, restores := c.ms[lag].sm.calls(); restores != 1 {
		t.Fatalf("restarted member restored %d snapshots, want 1 (its own latest)", restores)
	}
	// No received-but-uninstalled files are left behind.
	des, _ := os.ReadDir(filepath.Join(c.ms[lag].dir, "snap"))
	for _, de := range des {
		if strings.HasSuffix(de.Name(), recvSuffix) || strings.HasSuffix(de.Name(), ".tmp") {
			t.Errorf("left over in snap dir: %s", de.Name())
		}
	}
}

func TestClusterJoinWithSnapshot(t *testing.T) {
	c := newCluster(t, 3, nil, smallLog(t))
	lead := c.waitLeader()
	for i := range 60 {
		c.propose(lead, fmt.Appendf(nil, "old-%d", i))
	}
	// Member 4 starts with an empty data dir, told only where the others are.
	m4 := c.add(4)
	if r := m4.n.Role(); r != RoleNone {
		t.Fatalf("joining member's role %q before it is added", r)
	}
	if err := c.ms[lead].n.AddLearner(ctxT(t), 4, m4.addr); err != nil {
		t.Fatal(err)
	}
	c.propose(lead, []byte("learner-added"))
	c.waitConverged()
	if _, restores := m4.sm.calls(); restores == 0 {
		t.Fatal("the new member caught up without a snapshot")
	}
	waitFor(t, "member 4 to see itself as a learner", func() bool { return m4.n.Role() == RoleLearner })
	// Promote it, from a follower this time (the change is forwarded).
	var follower uint64
	for _, m := range c.running() {
		if m.id != lead && m.id != 4 {
			follower = m.id
			break
		}
	}
	if err := c.ms[follower].n.Promote(ctxT(t), 4); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "member 4 to be a voter everywhere", func() bool {
		for _, m := range c.running() {
			if !m.n.Members().IsVoter(4) {
				return false
			}
		}
		return true
	})
	if mb := c.ms[1].n.Members(); fmt.Sprint(mb.Voters) != "[1 2 3 4]" || mb.Addrs[4] != m4.addr {
		t.Fatalf("membership %+v", mb)
	}
	c.propose(4, []byte("via-4"))
	c.waitConverged()
}

func TestClusterRemoveMember(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	c.propose(lead, []byte("a"))
	// Remove the leader itself: it steps down and the others go on.
	if err := c.ms[lead].n.Remove(ctxT(t), lead); err != nil {
		t.Fatal(err)
	}
	var rest []uint64
	for _, m := range c.running() {
		if m.id != lead {
			rest = append(rest, m.id)
		}
	}
	newLead := c.waitLeader(rest...)
	if newLead == lead {
		t.Fatal("removed leader still leads")
	}
	c.propose(newLead, []byte("b"))
	waitFor(t, "removed member to know it", func() bool { return c.ms[lead].n.Role() == RoleNone })
	if err := c.ms[lead].n.Propose(ctxT(t), []byte("c")); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Propose on a removed member = %v", err)
	}
	c.kill(lead)
	// A two-voter cluster still commits with both.
	if mb := c.ms[newLead].n.Members(); len(mb.Voters) != 2 {
		t.Fatalf("voters after removal: %v", mb.Voters)
	}
	c.propose(rest[0], []byte("d"))
	// Removing a non-member does nothing; AddVoter of a voter does nothing.
	if err := c.ms[newLead].n.Remove(ctxT(t), 77); err != nil {
		t.Fatal(err)
	}
	if err := c.ms[newLead].n.AddVoter(ctxT(t), rest[0], "x:1"); err != nil {
		t.Fatal(err)
	}
	if err := c.ms[newLead].n.Promote(ctxT(t), 77); !errors.Is(err, ErrNotMember) {
		t.Fatalf("Promote(non-member) = %v", err)
	}
	c.waitConverged()
}

func TestClusterLearner(t *testing.T) {
	c := newCluster(t, 3, []uint64{4}, nil)
	lead := c.waitLeader(1, 2, 3)
	c.waitLeader()
	if r := c.ms[4].n.Role(); r != RoleLearner {
		t.Fatalf("member 4 role %q", r)
	}
	// A learner's writes are forwarded; its reads use ReadIndex.
	c.propose(4, []byte("from-learner"))
	idx, err := c.ms[4].n.ReadIndex(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.ms[4].n.WaitApplied(ctxT(t), idx); err != nil {
		t.Fatal(err)
	}
	c.waitConverged()
	// The learner does not vote: with two voters gone, the remaining voter
	// and the learner cannot commit, and the learner never campaigns.
	var survivor uint64
	for _, id := range []uint64{1, 2, 3} {
		if id != lead {
			survivor = id
		}
	}
	for _, id := range []uint64{1, 2, 3} {
		if id != survivor {
			c.kill(id)
		}
	}
	if err := c.tryPropose(survivor, []byte("no-quorum"), 600*time.Millisecond); err == nil {
		t.Fatal("a voter and a learner committed without a quorum of voters")
	}
	if c.ms[4].n.IsLeader() || c.ms[4].n.Role() != RoleLearner {
		t.Fatalf("learner became %s", c.ms[4].n.Role())
	}
}

// TestProposeFailsFastWithoutLeader: a member cut off from the others
// loses its leader and then refuses proposals at once instead of blocking.
func TestProposeFailsFastWithoutLeader(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	var cut uint64 = 1
	if lead == 1 {
		cut = 2
	}
	c.faults.Isolate(cut)
	waitFor(t, "the cut-off member to lose its leader", func() bool { return c.ms[cut].n.Leader() == 0 })
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ms[cut].n.Propose(ctx, []byte("x")); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("Propose = %v, want ErrNotLeader", err)
	}
	if _, err := c.ms[cut].n.ReadIndex(ctx); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("ReadIndex = %v, want ErrNotLeader", err)
	}
	if d := time.Since(t0); d > 100*time.Millisecond {
		t.Fatalf("failing took %v", d)
	}
	if r := c.ms[cut].n.Role(); r != RoleCandidate && r != RoleFollower {
		t.Fatalf("cut-off member role %q", r)
	}
	c.faults.Heal()
	c.waitLeader()
	c.propose(cut, []byte("y"))
}

// TestLeaderChangeCallback: OnLeaderChange reports elections.
func TestLeaderChangeCallback(t *testing.T) {
	events := make(chan [2]uint64, 100)
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	// Restart a follower with a callback: it learns the leader.
	var f uint64 = 1
	if lead == 1 {
		f = 2
	}
	c.stop(f)
	c.tweak = func(cfg *Config) {
		id := cfg.ID
		cfg.OnLeaderChange = func(l uint64) { events <- [2]uint64{id, l} }
	}
	c.restart(f)
	deadline := time.After(waitTimeout)
	for {
		select {
		case e := <-events:
			if e[0] == f && e[1] == lead {
				return
			}
		case <-deadline:
			t.Fatal("no leader-change callback")
		}
	}
}

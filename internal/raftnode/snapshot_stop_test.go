package raftnode

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestSnapshotOnStop: a graceful stop with enough entries since the newest
// snapshot writes one, so the restart restores it and replays nothing; a crash
// (halt) writes none, and the restart replays the entries.
func TestSnapshotOnStop(t *testing.T) {
	old := stopSnapshotMin
	stopSnapshotMin = 50
	t.Cleanup(func() { stopSnapshotMin = old })
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapshotCount = 1 << 20
	snapDir := filepath.Join(dir, "snap")

	sm := &fakeSM{}
	n := mustStart(t, cfg, sm)
	proposeSeq(t, n, sm, 0, 80, 50)
	before := sm.state()
	n.Stop()
	snaps, err := listSnaps(snapDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) == 0 || snaps[0].index != before.applied {
		t.Fatalf("snapshots after a graceful stop at %d: %v", before.applied, snaps)
	}

	sm2 := &fakeSM{}
	n2 := mustStart(t, cfg, sm2)
	applyCalls, restores := sm2.calls()
	if got := sm2.state(); restores != 1 || applyCalls != 1 || got.n != before.n || got.hash == before.hash {
		// The one Apply is the new leader's empty entry (hence the new hash).
		t.Fatalf("restart after a graceful stop: %d restores, %d applies, state %+v (before %+v)", restores, applyCalls, got, before)
	}
	// Below the threshold a stop writes nothing.
	proposeSeq(t, n2, sm2, 80, 90, 50)
	n2.Stop()
	if s, _ := listSnaps(snapDir); s[0].index != snaps[0].index {
		t.Fatalf("stop 11 entries after a snapshot wrote one: %v", s)
	}

	// A crash writes nothing: the restart replays.
	sm3 := &fakeSM{}
	n3 := mustStart(t, cfg, sm3)
	proposeSeq(t, n3, sm3, 90, 160, 50)
	crashed := sm3.state()
	n3.halt()
	if s, _ := listSnaps(snapDir); s[0].index != snaps[0].index {
		t.Fatalf("a crash wrote a snapshot: %v", s)
	}
	sm4 := &fakeSM{}
	n4 := mustStart(t, cfg, sm4)
	defer n4.Stop()
	applyCalls, restores = sm4.calls()
	if got := sm4.state(); restores != 1 || uint64(applyCalls) != crashed.applied-snaps[0].index+1 || got.n != crashed.n {
		t.Fatalf("restart after a crash: %d restores, %d applies, state %+v (crashed at %+v, snapshot %d)",
			restores, applyCalls, got, crashed, snaps[0].index)
	}
	if err := sm4.orderErr(); err != nil {
		t.Fatal(err)
	}
}

// TestLoneMemberCompaction: a one-member cluster drops applied entries from
// raft's in-memory log without waiting for the next snapshot; members added
// afterwards still catch up (from a fresh snapshot, since the log no longer
// continues the newest one), and from then on the log is kept back to the
// newest snapshot again.
func TestLoneMemberCompaction(t *testing.T) {
	oldCatchUp := catchUpEntries
	catchUpEntries = 10
	t.Cleanup(func() { catchUpEntries = oldCatchUp })
	c := newCluster(t, 1, nil, func(cfg *Config) { cfg.SnapshotCount = 40 })
	lead := c.waitLeader()
	n := c.ms[lead].n
	snapDir := filepath.Join(c.ms[lead].dir, "snap")
	for i := range 50 {
		c.propose(lead, fmt.Appendf(nil, "alone-%d", i))
	}
	waitFor(t, "a first snapshot", func() bool { s, _ := listSnaps(snapDir); return len(s) > 0 })
	for i := range 60 {
		c.propose(lead, fmt.Appendf(nil, "alone-more-%d", i))
	}
	if first, _ := n.ms.FirstIndex(); first+2*catchUpEntries < n.AppliedIndex() {
		t.Fatalf("lone member keeps its log from %d, applied %d", first, n.AppliedIndex())
	}
	m2 := c.add(2)
	if err := n.AddVoter(ctxT(t), 2, m2.addr); err != nil {
		t.Fatal(err)
	}
	c.propose(lead, []byte("two"))
	c.waitConverged()
	if _, restores := m2.sm.calls(); restores == 0 {
		t.Fatal("the new member caught up without a snapshot")
	}
	for i := range 100 {
		c.propose(lead, fmt.Appendf(nil, "pair-%d", i))
	}
	first, _ := n.ms.FirstIndex()
	if s, _ := listSnaps(snapDir); first > s[0].index+1 {
		t.Fatalf("with a follower the log starts at %d, after the newest snapshot %d", first, s[0].index)
	}
	// Alone again, with a newest snapshot that lists member 2: the log is
	// compacted past it, and a new member 2 must get a fresh snapshot, not that
	// one (after which the log would not go on).
	for i := 0; ; i++ {
		s, _ := listSnaps(snapDir)
		if s[0].index+3 > n.AppliedIndex() {
			break // just after a snapshot (SnapshotCount 40): none until 40 more entries
		}
		if i == 200 {
			t.Fatal("never just after a snapshot")
		}
		c.propose(lead, fmt.Appendf(nil, "to-snapshot-%d", i))
	}
	if err := n.Remove(ctxT(t), 2); err != nil {
		t.Fatal(err)
	}
	c.kill(2)
	for i := range 25 {
		c.propose(lead, fmt.Appendf(nil, "alone-again-%d", i))
	}
	s, _ := listSnaps(snapDir)
	if f, _ := n.ms.FirstIndex(); f <= s[0].index+1 {
		t.Fatalf("the log (from %d) still continues the newest snapshot %d", f, s[0].index)
	}
	m2 = c.add(2)
	if err := n.AddVoter(ctxT(t), 2, m2.addr); err != nil {
		t.Fatal(err)
	}
	c.propose(lead, []byte("two-again"))
	c.waitConverged()
}

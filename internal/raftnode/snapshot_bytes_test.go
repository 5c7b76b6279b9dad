package raftnode

import (
	"bytes"
	"testing"
	"time"
)

// logBytes returns the entry data held in a member's in-memory raft log.
func logBytes(t *testing.T, n *Node) (entries int, size uint64) {
	t.Helper()
	first, _ := n.ms.FirstIndex()
	last, _ := n.ms.LastIndex()
	if last < first {
		return 0, 0
	}
	ents, err := n.ms.Entries(first, last+1, ^uint64(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		size += uint64(len(e.Data))
	}
	return len(ents), size
}

// heldWithin waits until a member's in-memory log holds at most limit bytes of
// entry data. While a snapshot is being written entries go on piling up behind it;
// once it is done, the next one starts at once if enough came in meanwhile.
func heldWithin(t *testing.T, n *Node, limit uint64) (entries int, held uint64, ok bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		entries, held = logBytes(t, n)
		if held <= limit {
			return entries, held, true
		}
		if time.Now().After(deadline) {
			return entries, held, false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Large entries trigger snapshots by their bytes, not only by their count, and the
// tail kept behind a snapshot is bounded in bytes too: a client writing big values
// must not make members hold SnapshotCount of them in memory.
func TestSnapshotByBytesBoundsTheInMemoryLog(t *testing.T) {
	oldSnap, oldTail := snapshotBytes, catchUpBytes
	snapshotBytes, catchUpBytes = 1<<20, 256<<10
	// Restored after the members stop (cleanups run last-registered first).
	t.Cleanup(func() { snapshotBytes, catchUpBytes = oldSnap, oldTail })

	c := newCluster(t, 3, nil, func(cfg *Config) { cfg.SnapshotCount = 1_000_000 })
	leader := c.waitLeader()
	const n, size = 160, 64 << 10 // 10 MiB in all, 10x snapshotBytes
	for i := range n {
		c.propose(leader, bytes.Repeat([]byte{byte(i)}, size))
	}
	c.waitConverged()
	for _, m := range c.running() {
		snap, err := m.n.ms.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		if snap.Metadata.Index == 0 {
			t.Errorf("member %d took no snapshot after %d MiB of entries (SnapshotCount not reached)", m.id, n*size>>20)
		}
		// At most: what came since the last snapshot (below snapshotBytes plus
		// one entry) and the catch-up tail.
		if ents, held, ok := heldWithin(t, m.n, 2*snapshotBytes+catchUpBytes); !ok {
			limit := 2*snapshotBytes + catchUpBytes
			t.Errorf("member %d holds %d entries, %d KiB, in its in-memory log; want at most %d KiB", m.id, ents, held>>10, limit>>10)
		}
	}
}

// The same holds for a member alone, which compacts its in-memory log right behind
// what it applied.
func TestSnapshotByBytesAlone(t *testing.T) {
	oldSnap, oldTail := snapshotBytes, catchUpBytes
	snapshotBytes, catchUpBytes = 1<<20, 256<<10
	// Restored after the members stop (cleanups run last-registered first).
	t.Cleanup(func() { snapshotBytes, catchUpBytes = oldSnap, oldTail })

	cfg := testConfig(t, t.TempDir())
	cfg.SnapshotCount = 1_000_000
	sm := &fakeSM{}
	n := mustStart(t, cfg, sm)
	t.Cleanup(n.Stop)
	proposeSeq(t, n, sm, 0, 160, 64<<10)
	if snap, err := n.ms.Snapshot(); err != nil || snap.Metadata.Index == 0 {
		t.Fatalf("no snapshot after 10 MiB of entries: %v %v", snap.Metadata, err)
	}
	if ents, held, ok := heldWithin(t, n, 2*snapshotBytes+catchUpBytes); !ok {
		t.Fatalf("a lone member holds %d entries, %d KiB, in its in-memory log", ents, held>>10)
	}
}

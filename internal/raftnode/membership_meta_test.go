package raftnode

import (
	"fmt"
	"maps"
	"path/filepath"
	"testing"
)

// The config version (index of the last membership change), its time and the client
// addresses given with changes are the same on every member, and survive snapshots:
// a member that joins from a snapshot and a member restarted from its own snapshot
// know them.
func TestMembershipMeta(t *testing.T) {
	c := newCluster(t, 3, nil, smallLog(t))
	lead := c.waitLeader()
	boot := c.ms[lead].n.Members()
	if boot.ConfIndex != 3 || boot.ConfTime != 0 {
		t.Fatalf("bootstrap membership: ConfIndex %d ConfTime %d, want 3 and 0", boot.ConfIndex, boot.ConfTime)
	}
	for i := range 60 {
		c.propose(lead, fmt.Appendf(nil, "old-%d", i))
	}
	m4 := c.add(4)
	if err := c.ms[lead].n.AddLearner(ctxT(t), 4, m4.addr, WithClientAddr("127.0.0.1:2184")); err != nil {
		t.Fatal(err)
	}
	want := c.ms[lead].n.Members()
	if want.ConfIndex <= boot.ConfIndex || want.ConfTime == 0 || want.ClientAddrs[4] != "127.0.0.1:2184" {
		t.Fatalf("after AddLearner: %+v", want)
	}
	for i := range 60 {
		c.propose(lead, fmt.Appendf(nil, "new-%d", i))
	}
	c.waitConverged()
	if _, restores := m4.sm.calls(); restores == 0 {
		t.Fatal("member 4 caught up without a snapshot; the test does not test snapshots")
	}
	same := func(who string, m Membership) {
		t.Helper()
		if m.ConfIndex != want.ConfIndex || m.ConfTime != want.ConfTime || !maps.Equal(m.ClientAddrs, want.ClientAddrs) {
			t.Fatalf("%s: ConfIndex %d ConfTime %d clients %v; want %d %d %v", who, m.ConfIndex, m.ConfTime, m.ClientAddrs,
				want.ConfIndex, want.ConfTime, want.ClientAddrs)
		}
	}
	for id, m := range c.ms {
		same(fmt.Sprintf("member %d", id), m.n.Members())
	}
	// A member restarted from its own snapshot (taken after the change).
	var other uint64 = 1
	if lead == 1 {
		other = 2
	}
	snaps, err := listSnaps(filepath.Join(c.ms[other].dir, "snap"))
	if err != nil || len(snaps) == 0 || snaps[0].index <= want.ConfIndex {
		t.Fatalf("member %d has no snapshot after the change: %v %v", other, snaps, err)
	}
	si, err := verifySnapshotFile(filepath.Join(c.ms[other].dir, "snap", snaps[0].name))
	if err != nil {
		t.Fatal(err)
	}
	if si.meta.ConfIndex != want.ConfIndex || si.meta.Clients[4] != "127.0.0.1:2184" || si.addrs[4] != m4.addr {
		t.Fatalf("snapshot meta %+v", si.meta)
	}
	c.kill(other)
	c.restart(other)
	same("restarted member", c.ms[other].n.Members())
	// Removal forgets the client address.
	if err := c.ms[lead].n.Remove(ctxT(t), 4); err != nil {
		t.Fatal(err)
	}
	if m := c.ms[lead].n.Members(); m.ClientAddrs[4] != "" || m.ConfIndex <= want.ConfIndex {
		t.Fatalf("after Remove: %+v", m)
	}
}

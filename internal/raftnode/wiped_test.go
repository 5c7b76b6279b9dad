package raftnode

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
)

// TestWipedMemberExitsAndRejoins wipes a follower's data directory and restarts
// it with the same id and peers. It has acknowledged entries it no longer has:
// it must exit with a clear error (not panic inside raft, not rejoin as if
// nothing happened), the others must keep committing, and the documented
// remedy (remove it, add it again, start it with Join on an empty data
// directory) must bring it back with every entry.
func TestWipedMemberExitsAndRejoins(t *testing.T) {
	var code, calls atomic.Int32
	code.Store(-1)
	exit = func(c int) { code.Store(int32(c)); calls.Add(1) }
	t.Cleanup(func() { exit = os.Exit })

	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	for i := range 20 {
		c.propose(lead, fmt.Appendf(nil, "before-%d", i))
	}
	c.waitConverged()
	var wiped uint64 = 1
	if lead == 1 {
		wiped = 2
	}
	c.kill(wiped)
	if err := os.RemoveAll(c.ms[wiped].dir); err != nil {
		t.Fatal(err)
	}
	c.restart(wiped)
	waitFor(t, "the wiped member to give up", func() bool { return code.Load() != -1 })
	if got := code.Load(); got != 1 {
		t.Fatalf("exit code %d, want 1", got)
	}
	if p := c.ms[wiped].n.failErr.Load(); p == nil || !errors.Is(*p, errLogLost) {
		t.Fatalf("failErr = %v, want errLogLost", p)
	}
	c.kill(wiped)
	c.propose(lead, []byte("without-it"))

	if err := c.ms[lead].n.Remove(ctxT(t), wiped); err != nil {
		t.Fatalf("remove %d: %v", wiped, err)
	}
	if err := c.ms[lead].n.AddVoter(ctxT(t), wiped, c.ms[wiped].addr); err != nil {
		t.Fatalf("add %d again: %v", wiped, err)
	}
	if err := os.RemoveAll(c.ms[wiped].dir); err != nil {
		t.Fatal(err)
	}
	c.ms[wiped].sm = &fakeSM{}
	c.startWith(wiped, nil, true)
	c.propose(lead, []byte("rejoined"))
	c.waitConverged()
	if !c.ms[wiped].sm.has([]byte("before-0")) {
		t.Fatal("the rejoined member lacks the entries from before it was wiped")
	}
	if n := calls.Load(); n != 1 {
		t.Fatalf("exit hook called %d times, want once (before the member was removed)", n)
	}
}

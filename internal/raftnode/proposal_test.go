package raftnode

import (
	"context"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// A proposal forwarded by a follower must not hold up the stream it came on while
// this member knows no leader: raft takes proposals only with a leader, and the
// messages behind it on the stream (a new leader's heartbeats) would never be read.
// Regression test for a frozen ex-leader that never rejoined after SIGCONT.
func TestForwardedProposalDoesNotBlockTheStream(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	var survivor uint64
	for id := range c.ms {
		if id != lead {
			survivor = id
		}
	}
	for id := range c.ms {
		if id != survivor {
			c.kill(id)
		}
	}
	n := c.ms[survivor].n
	waitFor(t, "the survivor to lose its leader", func() bool { return n.Leader() == 0 })
	done := make(chan error, 1)
	go func() {
		h := (*handler)(n)
		done <- h.Process(context.Background(), raftpb.Message{Type: raftpb.MsgProp, From: lead, To: survivor,
			Entries: []raftpb.Entry{{Data: []byte("forwarded")}}})
	}()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("stepping a forwarded proposal blocked the peer stream while no leader is known")
	}
}

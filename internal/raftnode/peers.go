package raftnode

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/corral-io/corral/internal/transport"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Fast failover: when the stream to the leader breaks because its process
// is gone, a follower forgets the leader (so it grants pre-votes at once)
// and campaigns after a delay staggered by its rank among the surviving
// voters (by id): failoverMinDelay + rank*failoverStep plus a jitter below
// failoverJitter. So one follower campaigns first and the others, having
// forgotten the leader too, grant its pre-vote and vote, instead of all
// campaigning together and splitting the vote; if the first cannot win
// (its log is behind), the next one tries a step later.
const (
	failoverMinDelay = 50 * time.Millisecond
	failoverStep     = 50 * time.Millisecond
	failoverJitter   = 20 * time.Millisecond
)

// handler is the Node as the transport sees it.
type handler Node

var _ transport.Handler = (*handler)(nil)

func (h *handler) node() *Node { return (*Node)(h) }

// Process steps a message received from a peer. A proposal forwarded by a
// follower is stepped like any other message: raft takes it or drops it at
// once (lockedRaft never blocks), so it cannot hold back what follows it on
// the stream, such as a new leader's heartbeats and appends, while this member
// knows no leader. (Found by freezing a leader with SIGSTOP, when raft.Node
// made such a proposal wait for a leader: on SIGCONT it read a forwarded
// proposal first and never heard the new leader.) A dropped proposal is
// noticed by the proposer's server, which closes the client's connection when
// its write is not committed in time.
func (h *handler) Process(ctx context.Context, m raftpb.Message) error {
	return h.node().Step(ctx, m)
}

// ReportUnreachable tells raft a message to id was dropped.
func (h *handler) ReportUnreachable(id uint64) { h.rn.ReportUnreachable(id) }

// ReportSnapshot tells raft how sending a snapshot to id ended.
func (h *handler) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	h.rn.ReportSnapshot(id, status)
}

// App hands an application message to the registered AppHandler.
func (h *handler) App(from uint64, kind uint8, data []byte) {
	if f := h.appHandler.Load(); f != nil {
		(*f)(from, kind, data)
	}
}

// PeerLost starts a fast failover when the lost peer is this member's
// leader. A lost follower, or a lost peer while this member leads, changes
// nothing: raft's own timeouts and CheckQuorum cover those.
func (h *handler) PeerLost(id uint64, err error) {
	n := h.node()
	if id == raft.None || n.lead.Load() != id || n.leader.Load() {
		return
	}
	select {
	case <-n.stopc:
		return
	case <-n.done:
		return
	default:
	}
	if !n.failoverPending.CompareAndSwap(false, true) {
		return
	}
	// n.lead trails raft by a Ready; ask raft itself, so that a late report
	// about an old leader does not make this member forget a new one.
	if n.rn.Status().Lead != id {
		n.failoverPending.Store(false)
		return
	}
	mb := n.members.Load()
	voter := mb.IsVoter(n.cfg.ID)
	n.lg.Info("the leader's process is gone; forgetting it", "leader", fmt.Sprintf("%x", id), "err", err, "willCampaign", voter)
	if ferr := n.rn.ForgetLeader(); ferr != nil {
		n.failoverPending.Store(false)
		return
	}
	rank := 0
	for _, v := range mb.Voters {
		if v != id && v < n.cfg.ID {
			rank++
		}
	}
	delay := failoverMinDelay + time.Duration(rank)*failoverStep + rand.N(failoverJitter)
	time.AfterFunc(delay, func() {
		defer n.failoverPending.Store(false)
		select {
		case <-n.stopc:
			return
		case <-n.done:
			return
		default:
		}
		if n.lead.Load() != raft.None || !n.members.Load().IsVoter(n.cfg.ID) {
			return
		}
		n.lg.Info("campaigning after losing the leader", "lost", fmt.Sprintf("%x", id), "delay", delay.Round(time.Millisecond))
		n.rn.Campaign()
	})
}

// OpenSnapshot opens this member's snapshot file that a MsgSnap (from
// raft's MemoryStorage, which names the file in Snapshot.Data) refers to.
func (h *handler) OpenSnapshot(m raftpb.Message) (io.ReadCloser, int64, error) {
	name := string(m.Snapshot.Data)
	if _, _, ok := parseSnapName(name); !ok {
		return nil, 0, fmt.Errorf("raftnode: MsgSnap names %q, not a snapshot file", name)
	}
	f, err := os.Open(filepath.Join(h.snapDir, name))
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// ReceiveSnapshot stores the file streamed with a MsgSnap; see
// receiveSnapshot.
func (h *handler) ReceiveSnapshot(m *raftpb.Message, r io.Reader, size int64) error {
	return h.node().receiveSnapshot(m, r, size)
}

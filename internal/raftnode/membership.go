package raftnode

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// Membership is the cluster's configuration as this member has applied it.
type Membership struct {
	Voters   []uint64 // sorted
	Learners []uint64 // sorted; raft learners, i.e. ZooKeeper observers
	// VotersOutgoing is non-empty while a joint configuration change is in
	// progress (the old voters, which must also agree).
	VotersOutgoing []uint64
	// Addrs holds the peer address of each member where known (recorded in
	// the log or snapshot, or given in Config.Peers).
	Addrs map[uint64]string
	// ClientAddrs holds the client address of members where one was given
	// with the change that added them (WithClientAddr).
	ClientAddrs map[uint64]string
	// ConfIndex is the raft index of the last applied membership change:
	// the configuration's version (ZooKeeper's config version). 0 when
	// unknown (a member restored from a snapshot written before it was
	// recorded, until the next change).
	ConfIndex uint64
	// ConfTime is when that change was proposed (unix ms; 0 if unknown,
	// e.g. for the bootstrap configuration).
	ConfTime int64
}

// IsVoter reports whether id is a voter (in either half of a joint config).
func (m Membership) IsVoter(id uint64) bool {
	return slices.Contains(m.Voters, id) || slices.Contains(m.VotersOutgoing, id)
}

// IsLearner reports whether id is a learner.
func (m Membership) IsLearner(id uint64) bool { return slices.Contains(m.Learners, id) }

// IsMember reports whether id is a voter or a learner.
func (m Membership) IsMember(id uint64) bool { return m.IsVoter(id) || m.IsLearner(id) }

// ccContext is the Context of every conf change corral proposes: the peer
// addresses of the members it adds, and a request id so the proposer learns
// when it is applied.
type ccContext struct {
	Addrs   map[uint64]string `json:"addrs,omitempty"`
	Req     string            `json:"req,omitempty"`
	Clients map[uint64]string `json:"clients,omitempty"` // client addresses of added members
	Time    int64             `json:"time,omitempty"`    // proposer's clock, unix ms
}

func (c ccContext) encode() []byte {
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // plain data
	}
	return b
}

// parseCCContext decodes a conf change context; a context corral did not
// write (raft's own, or an old one) yields an empty ccContext.
func parseCCContext(b []byte) ccContext {
	var c ccContext
	if len(b) > 0 && json.Unmarshal(b, &c) != nil {
		return ccContext{}
	}
	return c
}

func decodeConfChange(e raftpb.Entry) (raftpb.ConfChangeI, error) {
	if e.Type == raftpb.EntryConfChange {
		var c1 raftpb.ConfChange
		if err := c1.Unmarshal(e.Data); err != nil {
			return nil, err
		}
		return c1, nil
	}
	var c2 raftpb.ConfChangeV2
	if err := c2.Unmarshal(e.Data); err != nil {
		return nil, err
	}
	return c2, nil
}

// newWALMeta is the identity recorded in a new data dir.
func (n *Node) newWALMeta() walMeta {
	m := walMeta{ID: n.cfg.ID, ClusterID: n.cfg.ClusterID, Join: n.cfg.Join}
	if len(n.cfg.Peers) > 0 {
		m.Peers = maps.Clone(n.cfg.Peers)
		m.Learners = slices.Sorted(slices.Values(n.cfg.Learners))
	}
	return m
}

// checkIdentity refuses a data dir created for another member or cluster.
func (n *Node) checkIdentity(m walMeta) error {
	if m.ID != n.cfg.ID {
		return fmt.Errorf("raftnode: data dir %s belongs to member %x, not %x (check --id)", n.cfg.DataDir, m.ID, n.cfg.ID)
	}
	if !m.v1 && m.ClusterID != n.cfg.ClusterID {
		return fmt.Errorf("raftnode: data dir %s belongs to cluster %q, not %q", n.cfg.DataDir, m.ClusterID, n.cfg.ClusterID)
	}
	if len(n.cfg.Peers) > 0 && len(m.Peers) > 0 && !maps.Equal(n.cfg.Peers, m.Peers) {
		n.lg.Warn("the configured peers differ from those this data dir was bootstrapped with; membership comes from the raft log, the configured peers only supply addresses",
			"configured", n.cfg.Peers, "bootstrapped", m.Peers)
	}
	return nil
}

// bootstrapEntries builds the first entries of a new cluster: one conf
// change per member, voters first, each carrying the member's address, all
// committed at term 1. Every member bootstrapped with the same Peers and
// Learners writes the same entries.
func (n *Node) bootstrapEntries() ([]raftpb.Entry, raftpb.HardState, error) {
	peers := n.cfg.Peers
	if len(peers) == 0 {
		peers = map[uint64]string{n.cfg.ID: n.cfg.PeerAddr}
	}
	if _, ok := peers[n.cfg.ID]; !ok {
		return nil, raftpb.HardState{}, fmt.Errorf("raftnode: member %d is not in the initial peers %v; "+
			"to add a member to a running cluster start it with Join (--join) and add it with reconfig", n.cfg.ID, slices.Sorted(maps.Keys(peers)))
	}
	var voters, learners []uint64
	for _, id := range slices.Sorted(maps.Keys(peers)) {
		if slices.Contains(n.cfg.Learners, id) {
			learners = append(learners, id)
		} else {
			voters = append(voters, id)
		}
	}
	if len(voters) == 0 {
		return nil, raftpb.HardState{}, errors.New("raftnode: the initial peers have no voter")
	}
	var ents []raftpb.Entry
	add := func(id uint64, typ raftpb.ConfChangeType) error {
		ctx := ccContext{}
		if addr := peers[id]; addr != "" {
			ctx.Addrs = map[uint64]string{id: addr}
		}
		cc := raftpb.ConfChange{Type: typ, NodeID: id, Context: ctx.encode()}
		data, err := cc.Marshal()
		if err != nil {
			return err
		}
		ents = append(ents, raftpb.Entry{Type: raftpb.EntryConfChange, Term: 1, Index: uint64(len(ents) + 1), Data: data})
		return nil
	}
	for _, id := range voters {
		if err := add(id, raftpb.ConfChangeAddNode); err != nil {
			return nil, raftpb.HardState{}, err
		}
	}
	for _, id := range learners {
		if err := add(id, raftpb.ConfChangeAddLearnerNode); err != nil {
			return nil, raftpb.HardState{}, err
		}
	}
	n.lg.Info("bootstrapping a new cluster", "voters", voters, "learners", learners, "cluster", n.cfg.ClusterID)
	return ents, raftpb.HardState{Term: 1, Commit: uint64(len(ents))}, nil
}

// applyConfChange applies a committed conf change (in the loop goroutine):
// raft's configuration, the address book, the transport's peers, and the
// proposer's waiter.
func (n *Node) applyConfChange(index uint64, cc raftpb.ConfChangeI) {
	n.confState = *n.rn.ApplyConfChange(cc)
	v2 := cc.AsV2()
	ctx := parseCCContext(v2.Context)
	n.confIndex, n.confTime = index, ctx.Time
	for _, ch := range v2.Changes {
		switch ch.Type {
		case raftpb.ConfChangeAddNode, raftpb.ConfChangeAddLearnerNode:
			if addr := ctx.Addrs[ch.NodeID]; addr != "" {
				n.book[ch.NodeID] = addr
			}
			if addr := ctx.Clients[ch.NodeID]; addr != "" {
				n.clients[ch.NodeID] = addr
			}
			if addr := n.book[ch.NodeID]; addr != "" {
				n.tr.SetPeer(ch.NodeID, addr)
			}
		case raftpb.ConfChangeRemoveNode:
			delete(n.clients, ch.NodeID)
			if ch.NodeID == n.cfg.ID {
				n.lg.Warn("this member has been removed from the cluster", "index", index)
				continue
			}
			delete(n.book, ch.NodeID)
			n.tr.RemovePeer(ch.NodeID)
		}
	}
	m := n.publishMembers()
	n.lg.Info("applied membership change", "index", index, "voters", m.Voters, "learners", m.Learners,
		"outgoing", m.VotersOutgoing)
	if ctx.Req != "" {
		n.ccMu.Lock()
		ch, ok := n.ccWait[ctx.Req]
		delete(n.ccWait, ctx.Req)
		n.ccMu.Unlock()
		if ok {
			ch <- m
		}
	}
}

// publishMembers publishes the applied configuration (loop goroutine).
func (n *Node) publishMembers() Membership {
	cs := n.confState
	m := Membership{
		Voters:         slices.Sorted(slices.Values(cs.Voters)),
		Learners:       slices.Sorted(slices.Values(cs.Learners)),
		VotersOutgoing: slices.Sorted(slices.Values(cs.VotersOutgoing)),
		Addrs:          n.memberAddrs(),
		ClientAddrs:    maps.Clone(n.clients),
		ConfIndex:      n.confIndex,
		ConfTime:       n.confTime,
	}
	n.members.Store(&m)
	return m
}

// snapMeta is the membership detail written into a snapshot (loop goroutine).
func (n *Node) snapMeta() snapMeta {
	return snapMeta{Addrs: n.memberAddrs(), ConfIndex: n.confIndex, ConfTime: n.confTime, Clients: maps.Clone(n.clients)}
}

// restoreSnapMeta takes the membership detail of a restored or installed
// snapshot (before publishMembers).
func (n *Node) restoreSnapMeta(m snapMeta) {
	n.confIndex, n.confTime = m.ConfIndex, m.ConfTime
	n.clients = make(map[uint64]string, len(m.Clients))
	for id, a := range m.Clients {
		n.clients[id] = a
	}
}

// memberAddrs returns the known addresses of the current members.
func (n *Node) memberAddrs() map[uint64]string {
	cs := n.confState
	out := make(map[uint64]string)
	for _, ids := range [][]uint64{cs.Voters, cs.VotersOutgoing, cs.Learners, cs.LearnersNext} {
		for _, id := range ids {
			if addr := n.book[id]; addr != "" {
				out[id] = addr
			}
		}
	}
	return out
}

// IsMember reports whether id is a voter or learner in the configuration this member
// has applied (Members().IsMember(id) without copying the configuration).
func (n *Node) IsMember(id uint64) bool { return n.members.Load().IsMember(id) }

// Members returns the configuration this member has applied.
func (n *Node) Members() Membership {
	m := *n.members.Load()
	m.Voters = slices.Clone(m.Voters)
	m.Learners = slices.Clone(m.Learners)
	m.VotersOutgoing = slices.Clone(m.VotersOutgoing)
	m.Addrs = maps.Clone(m.Addrs)
	m.ClientAddrs = maps.Clone(m.ClientAddrs)
	return m
}

// ProposeConfChange proposes a membership change and waits until this
// member has applied it. addrs gives the peer addresses of members the
// change adds; they are recorded in the raft log with the change (the log
// and snapshots are the only place membership is kept). cc.Context is
// overwritten.
//
// Raft takes one change at a time: the leader turns a change proposed while
// another is still unapplied into a no-op, and a change can be lost in a
// leader change, so the call then fails when ctx ends (after 30 s if ctx
// has no deadline); check Members and retry. It fails at once with
// ErrNotLeader when no leader is known.
func (n *Node) ProposeConfChange(ctx context.Context, cc raftpb.ConfChangeV2, addrs map[uint64]string) (Membership, error) {
	return n.proposeConfChange(ctx, cc, addrs, nil)
}

func (n *Node) proposeConfChange(ctx context.Context, cc raftpb.ConfChangeV2, addrs, clients map[uint64]string) (Membership, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	n.ccMu.Lock()
	n.ccSeq++
	req := fmt.Sprintf("%x-%d-%d", n.cfg.ID, time.Now().UnixNano(), n.ccSeq)
	ch := make(chan Membership, 1)
	n.ccWait[req] = ch
	n.ccMu.Unlock()
	defer func() {
		n.ccMu.Lock()
		delete(n.ccWait, req)
		n.ccMu.Unlock()
	}()
	cc.Context = ccContext{Addrs: addrs, Req: req, Clients: clients, Time: time.Now().UnixMilli()}.encode()
	if err := n.withLeader(func() error { return n.rn.ProposeConfChange(cc) }); err != nil {
		return Membership{}, err
	}
	select {
	case m, ok := <-ch:
		if !ok {
			return Membership{}, ErrStopped
		}
		return m, nil
	case <-ctx.Done():
		return Membership{}, fmt.Errorf("raftnode: membership change not applied (rejected while another change was pending, or lost in a leader change): %w", ctx.Err())
	case <-n.done:
		return Membership{}, ErrStopped
	}
}

// failConfChanges wakes conf-change waiters at shutdown.
func (n *Node) failConfChanges() {
	n.ccMu.Lock()
	for k, ch := range n.ccWait {
		close(ch)
		delete(n.ccWait, k)
	}
	n.ccMu.Unlock()
}

// ChangeOption qualifies AddVoter and AddLearner.
type ChangeOption func(*changeOpts)

type changeOpts struct{ clientAddr string }

// WithClientAddr records the client address of the member being added with
// the change (it then shows in Membership.ClientAddrs on every member).
func WithClientAddr(addr string) ChangeOption { return func(o *changeOpts) { o.clientAddr = addr } }

func clientsOf(id uint64, opts []ChangeOption) map[uint64]string {
	var o changeOpts
	for _, f := range opts {
		f(&o)
	}
	if o.clientAddr == "" {
		return nil
	}
	return map[uint64]string{id: o.clientAddr}
}

func simpleChange(typ raftpb.ConfChangeType, id uint64) raftpb.ConfChangeV2 {
	return raftpb.ConfChangeV2{Changes: []raftpb.ConfChangeSingle{{Type: typ, NodeID: id}}}
}

// AddVoter adds member id, reachable at peer address addr, as a voter, and
// returns once this member has applied the change. The new member should
// be running (started with Config.Join) or about to be: until it has caught
// up it counts towards the quorum without voting, so prefer AddLearner
// followed by Promote for a member that needs a large snapshot. Adding an
// existing voter does nothing.
func (n *Node) AddVoter(ctx context.Context, id uint64, addr string, opts ...ChangeOption) error {
	m := n.Members()
	if m.IsVoter(id) {
		return nil
	}
	if m.IsLearner(id) {
		return n.Promote(ctx, id)
	}
	if id == 0 || addr == "" {
		return fmt.Errorf("raftnode: AddVoter needs a non-zero id and an address (got %d, %q)", id, addr)
	}
	_, err := n.proposeConfChange(ctx, simpleChange(raftpb.ConfChangeAddNode, id), map[uint64]string{id: addr}, clientsOf(id, opts))
	return err
}

// AddLearner adds member id, reachable at addr, as a learner (a non-voting
// member: it receives the log and serves reads, like a ZooKeeper observer)
// and returns once this member has applied the change. Adding an existing
// learner does nothing; a voter is refused (demotion is not offered).
func (n *Node) AddLearner(ctx context.Context, id uint64, addr string, opts ...ChangeOption) error {
	m := n.Members()
	if m.IsLearner(id) {
		return nil
	}
	if m.IsVoter(id) {
		return fmt.Errorf("raftnode: member %d is a voter; remove it first to make it a learner", id)
	}
	if id == 0 || addr == "" {
		return fmt.Errorf("raftnode: AddLearner needs a non-zero id and an address (got %d, %q)", id, addr)
	}
	_, err := n.proposeConfChange(ctx, simpleChange(raftpb.ConfChangeAddLearnerNode, id), map[uint64]string{id: addr}, clientsOf(id, opts))
	return err
}

// Promote makes learner id a voter and returns once this member has
// applied the change. Promoting a voter does nothing.
func (n *Node) Promote(ctx context.Context, id uint64) error {
	m := n.Members()
	if m.IsVoter(id) {
		return nil
	}
	if !m.IsLearner(id) {
		return fmt.Errorf("raftnode: cannot promote member %d: %w", id, ErrNotMember)
	}
	_, err := n.ProposeConfChange(ctx, simpleChange(raftpb.ConfChangeAddNode, id), nil)
	return err
}

// Remove removes member id (voter or learner) and returns once this member
// has applied the change. Removing the leader makes it step down; removing
// this member leaves it running but outside the cluster (the caller should
// stop it). Removing a non-member does nothing.
func (n *Node) Remove(ctx context.Context, id uint64) error {
	if !n.Members().IsMember(id) {
		return nil
	}
	_, err := n.ProposeConfChange(ctx, simpleChange(raftpb.ConfChangeRemoveNode, id), nil)
	return err
}

package raftnode

import (
	"context"
	"fmt"
	"time"

	"go.etcd.io/raft/v3"
)

// Roles returned by Node.Role.
const (
	RoleLeader     = "leader"
	RoleFollower   = "follower"
	RoleCandidate  = "candidate" // also a pre-candidate (PreVote)
	RoleLearner    = "learner"
	RoleStandalone = "standalone" // the only member of a one-member group
	RoleNone       = "none"       // not (or not yet) a member: joining, or removed
)

// softState records raft's volatile state from a Ready (loop goroutine).
func (n *Node) softState(ss raft.SoftState) {
	n.raftState.Store(uint32(ss.RaftState))
	isLeader := ss.RaftState == raft.StateLeader
	n.leader.Store(isLeader)
	prev := n.lead.Swap(ss.Lead)
	if prev == ss.Lead {
		return
	}
	n.lg.Info("leader changed", "leader", fmt.Sprintf("%x", ss.Lead), "previous", fmt.Sprintf("%x", prev),
		"self", isLeader)
	// Read-index requests forwarded to the old leader are lost silently.
	n.failReads()
	n.leaderMu.Lock()
	close(n.leaderCh)
	n.leaderCh = make(chan struct{})
	n.leaderMu.Unlock()
	if f := n.cfg.OnLeaderChange; f != nil {
		f(ss.Lead)
	}
}

// leaderChanged returns a channel closed at the next change of the known
// leader.
func (n *Node) leaderChanged() <-chan struct{} {
	n.leaderMu.Lock()
	defer n.leaderMu.Unlock()
	return n.leaderCh
}

// ContactWithin reports whether, within d, this member has heard from the members it
// needs to commit: a follower or learner from its leader, the leader from a quorum of
// the voters (itself counted; both quorums during a joint change). A member that is
// alone has. It is a hint that a proposal made now will most likely commit (a
// member that is cut off stops hearing at once, long before raft's election
// timeout says so), not a guarantee.
func (n *Node) ContactWithin(d time.Duration) bool {
	lead := n.lead.Load()
	if lead == 0 {
		return false
	}
	since := time.Now().UnixNano() - int64(d)
	if lead != n.cfg.ID {
		return lead < uint64(len(n.heardAt)) && n.heardAt[lead].Load() >= since
	}
	m := n.members.Load()
	if m == nil {
		return false
	}
	return n.quorumHeard(m.Voters, since) && (len(m.VotersOutgoing) == 0 || n.quorumHeard(m.VotersOutgoing, since))
}

// quorumHeard reports whether a majority of voters (this member counting as heard)
// sent a message after since (unix ns).
func (n *Node) quorumHeard(voters []uint64, since int64) bool {
	heard := 0
	for _, id := range voters {
		if id == n.cfg.ID || (id < uint64(len(n.heardAt)) && n.heardAt[id].Load() >= since) {
			heard++
		}
	}
	return heard > len(voters)/2
}

// ID returns this member's id.
func (n *Node) ID() uint64 { return n.cfg.ID }

// Leader returns the id of the leader this member knows, 0 if none.
func (n *Node) Leader() uint64 { return n.lead.Load() }

// Term returns the current raft term.
func (n *Node) Term() uint64 { return n.termA.Load() }

// Role returns this member's role: RoleLeader, RoleFollower, RoleCandidate,
// RoleLearner, RoleStandalone (the single voter of a group without
// learners) or RoleNone (not a member: joining, or removed).
func (n *Node) Role() string {
	m := n.members.Load()
	switch {
	case m.IsLearner(n.cfg.ID):
		return RoleLearner
	case !m.IsVoter(n.cfg.ID):
		return RoleNone
	case len(m.Voters) == 1 && len(m.VotersOutgoing) == 0 && len(m.Learners) == 0:
		return RoleStandalone
	}
	switch raft.StateType(n.raftState.Load()) {
	case raft.StateLeader:
		return RoleLeader
	case raft.StateCandidate, raft.StatePreCandidate:
		return RoleCandidate
	}
	return RoleFollower
}

// Status is a snapshot of this member's view of the group.
type Status struct {
	ID      uint64
	Leader  uint64
	Term    uint64
	Role    string
	Applied uint64
	Commit  uint64
	Members Membership
	// Match holds, on the leader only, the highest log index known to be
	// replicated to each member (itself included).
	Match map[uint64]uint64
}

// Status returns this member's view of the group.
func (n *Node) Status() Status {
	st := Status{
		ID:      n.cfg.ID,
		Leader:  n.lead.Load(),
		Role:    n.Role(),
		Applied: n.applied.Load(),
		Members: n.Members(),
	}
	select {
	case <-n.done:
		st.Term = n.termA.Load()
		return st
	default:
	}
	rs := n.rn.Status()
	st.Term, st.Commit = rs.Term, rs.Commit
	if len(rs.Progress) > 0 {
		st.Match = make(map[uint64]uint64, len(rs.Progress))
		for id, pr := range rs.Progress {
			st.Match[id] = pr.Match
		}
	}
	return st
}

// electionTimeout is the configured (minimum) election timeout.
func (n *Node) electionTimeout() time.Duration {
	return time.Duration(n.cfg.ElectionTicks) * n.cfg.TickInterval
}

// bestTransferee picks the voter, other than this member, with the most of
// the log (ties: the lowest id), preferring recently active ones; 0 if none.
func (n *Node) bestTransferee() uint64 {
	rs := n.rn.Status()
	var best uint64
	var bestMatch uint64
	bestActive := false
	for id, pr := range rs.Progress {
		if id == n.cfg.ID || pr.IsLearner {
			continue
		}
		better := best == 0 ||
			(pr.RecentActive && !bestActive) ||
			(pr.RecentActive == bestActive && (pr.Match > bestMatch || pr.Match == bestMatch && id < best))
		if better {
			best, bestMatch, bestActive = id, pr.Match, pr.RecentActive
		}
	}
	return best
}

// TransferLeadership hands leadership from this member (which must be the
// leader) to voter to, or, with to == 0, to the most up-to-date voter. It
// returns once to is the leader this member knows. raft first brings to's
// log up to date; proposals are dropped (ErrNotLeader) meanwhile.
func (n *Node) TransferLeadership(ctx context.Context, to uint64) error {
	select {
	case <-n.done:
		return ErrStopped
	default:
	}
	if !n.IsLeader() {
		return ErrNotLeader
	}
	if to == 0 {
		if to = n.bestTransferee(); to == 0 {
			return fmt.Errorf("raftnode: no other voter to transfer leadership to: %w", ErrNotMember)
		}
	}
	if to == n.cfg.ID {
		return nil
	}
	if !n.Members().IsVoter(to) {
		return fmt.Errorf("raftnode: cannot transfer leadership to %d, not a voter: %w", to, ErrNotMember)
	}
	t0 := time.Now()
	for {
		ch := n.leaderChanged()
		lead := n.lead.Load()
		switch {
		case lead == to:
			n.lg.Info("leadership transferred", "to", fmt.Sprintf("%x", to), "took", time.Since(t0).Round(time.Millisecond))
			return nil
		case n.IsLeader():
			// (Re)start the transfer; raft abandons one that has not
			// finished within an election timeout.
			n.rn.TransferLeadership(to)
		case lead != raft.None:
			return fmt.Errorf("raftnode: leadership went to %d instead of %d", lead, to)
		}
		select {
		case <-ch:
		case <-time.After(n.electionTimeout()):
		case <-ctx.Done():
			return ctx.Err()
		case <-n.done:
			return ErrStopped
		}
	}
}

// handOff transfers leadership away before a graceful stop.
func (n *Node) handOff() {
	select {
	case <-n.done:
		return
	default:
	}
	if !n.IsLeader() || len(n.Members().Voters) < 2 {
		return
	}
	to := n.bestTransferee()
	if to == 0 {
		return
	}
	if pr, ok := n.rn.Status().Progress[to]; !ok || !pr.RecentActive {
		n.lg.Warn("no other voter is reachable; stopping without handing leadership over")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*n.electionTimeout())
	defer cancel()
	if err := n.TransferLeadership(ctx, to); err != nil {
		n.lg.Warn("could not hand leadership over before stopping; the others will elect a leader", "err", err)
	}
}

// AppHandler receives application messages sent with SendApp by other
// members. It is called from the transport's goroutines (one per sending
// member, in the order that member sent), so it must not block for long.
// data is the handler's to keep.
type AppHandler func(from uint64, kind uint8, data []byte)

// OnApp registers the handler for application messages (nil: drop them).
// Messages that arrive before a handler is registered are dropped.
func (n *Node) OnApp(h AppHandler) {
	if h == nil {
		n.appHandler.Store(nil)
		return
	}
	n.appHandler.Store(&h)
}

// SendApp sends an application message to member to: kind is the
// application's own message type; data is copied. Delivery is best-effort
// and in order per destination; a message may be lost when the stream
// breaks. Sending to this member's own id calls the handler directly.
func (n *Node) SendApp(to uint64, kind uint8, data []byte) error {
	select {
	case <-n.done:
		return ErrStopped
	default:
	}
	if to == n.cfg.ID {
		if h := n.appHandler.Load(); h != nil {
			(*h)(to, kind, append([]byte(nil), data...))
		}
		return nil
	}
	if err := n.tr.SendApp(to, kind, data); err != nil {
		return fmt.Errorf("raftnode: sending to member %d: %w", to, err)
	}
	return nil
}

package raftnode

import (
	"errors"
	"sync"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// lockedRaft is etcd-raft's RawNode behind a mutex, in place of raft.Node.
//
// raft.Node runs the raft state machine on a goroutine of its own and reaches
// it through channels: every received message, every proposal (and its
// result), every Ready and every Advance is a hand-off between goroutines, and
// the goroutine selects over eight channels each time. Under session churn a
// leader's CPU profile put 7.5 % in that goroutine's channel operations and
// selects, more than raft's own Step (5.6 %), before the thread wake-ups the
// hand-offs cause. Here the caller steps raft on its own goroutine, under the
// lock, and the Ready loop is woken (wake) when there may be work.
//
// Other goroutines step messages and proposals while a Ready is being handled,
// as with raft.Node (raft hands out no slice it will modify later); the loop
// holds the lock only to take a Ready, never while it sends or applies, and
// the appender only to step the responses of what it wrote. Nothing raft
// calls while the lock is held (its Storage, its Logger) takes it.
type lockedRaft struct {
	mu      sync.Mutex
	rn      *raft.RawNode
	stopped bool

	// wake has room for one signal: the Ready loop checks for work after it.
	wake chan struct{}
}

func newLockedRaft(c *raft.Config) (*lockedRaft, error) {
	rn, err := raft.NewRawNode(c)
	if err != nil {
		return nil, err
	}
	return &lockedRaft{rn: rn, wake: make(chan struct{}, 1)}, nil
}

// kick wakes the Ready loop, if it is not already due to wake.
func (l *lockedRaft) kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// do runs f on the RawNode under the lock and wakes the Ready loop. It
// returns raft.ErrStopped once the node is stopped.
func (l *lockedRaft) do(f func(rn *raft.RawNode) error) error {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return raft.ErrStopped
	}
	err := f(l.rn)
	l.mu.Unlock()
	l.kick()
	return err
}

// Tick advances raft's logical clock by one tick.
func (l *lockedRaft) Tick() {
	l.do(func(rn *raft.RawNode) error { rn.Tick(); return nil })
}

// Campaign makes this member start an election.
func (l *lockedRaft) Campaign() error {
	return l.do(func(rn *raft.RawNode) error { return rn.Campaign() })
}

// Propose appends data to the log (leader) or forwards it to the leader
// (follower). It returns raft.ErrProposalDropped when raft refuses it: no
// leader is known, or a leadership transfer is under way.
func (l *lockedRaft) Propose(data []byte) error {
	return l.do(func(rn *raft.RawNode) error { return rn.Propose(data) })
}

// ProposeConfChange proposes a membership change.
func (l *lockedRaft) ProposeConfChange(cc raftpb.ConfChangeI) error {
	return l.do(func(rn *raft.RawNode) error { return rn.ProposeConfChange(cc) })
}

// ApplyConfChange applies a committed membership change to raft.
func (l *lockedRaft) ApplyConfChange(cc raftpb.ConfChangeI) *raftpb.ConfState {
	var cs *raftpb.ConfState
	if err := l.do(func(rn *raft.RawNode) error { cs = rn.ApplyConfChange(cc); return nil }); err != nil {
		return &raftpb.ConfState{}
	}
	return cs
}

// Step hands raft a message from another member. Messages raft would never
// take from the network (local ones, responses from unknown members) are
// ignored, as raft.Node ignores them.
func (l *lockedRaft) Step(m raftpb.Message) error {
	err := l.do(func(rn *raft.RawNode) error { return rn.Step(m) })
	if errors.Is(err, raft.ErrStepLocalMsg) || errors.Is(err, raft.ErrStepPeerNotFound) {
		return nil
	}
	return err
}

// ReadIndex asks raft for a read index; the answer comes in a Ready's
// ReadStates, with rctx.
func (l *lockedRaft) ReadIndex(rctx []byte) error {
	return l.do(func(rn *raft.RawNode) error { rn.ReadIndex(rctx); return nil })
}

// TransferLeadership asks the leader to hand leadership to transferee.
func (l *lockedRaft) TransferLeadership(transferee uint64) {
	l.do(func(rn *raft.RawNode) error { rn.TransferLeader(transferee); return nil })
}

// ForgetLeader makes a follower forget its leader (see raft's ForgetLeader).
func (l *lockedRaft) ForgetLeader() error {
	return l.do(func(rn *raft.RawNode) error { return rn.ForgetLeader() })
}

// ReportUnreachable tells raft a message to id could not be sent.
func (l *lockedRaft) ReportUnreachable(id uint64) {
	l.do(func(rn *raft.RawNode) error { rn.ReportUnreachable(id); return nil })
}

// ReportSnapshot tells raft how sending a snapshot to id ended.
func (l *lockedRaft) ReportSnapshot(id uint64, status raft.SnapshotStatus) {
	l.do(func(rn *raft.RawNode) error { rn.ReportSnapshot(id, status); return nil })
}

// Status returns raft's status (with the leader's view of its followers).
func (l *lockedRaft) Status() raft.Status {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rn.Status()
}

// Applied returns the index raft counts as applied: what it handed out for
// applying and has been told is applied. raft may still read the entries after
// it from its log storage.
func (l *lockedRaft) Applied() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rn.BasicStatus().Applied
}

// Stop makes every later call fail with raft.ErrStopped (or do nothing).
func (l *lockedRaft) Stop() {
	l.mu.Lock()
	l.stopped = true
	l.mu.Unlock()
}

// ready returns the next Ready, if raft has one. With AsyncStorageWrites
// there is no Advance: the storage messages a Ready carries report back.
func (l *lockedRaft) ready() (raft.Ready, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped || !l.rn.HasReady() {
		return raft.Ready{}, false
	}
	return l.rn.Ready(), true
}

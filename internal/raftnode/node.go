package raftnode

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// StateMachine is driven by the Node from a single goroutine, in log order.
type StateMachine interface {
	// Apply applies the committed entry at index. data is nil for entries that carry no
	// user data (raft's empty leader entries, conf changes); Apply must still record index as applied.
	// data must not be modified (raft's in-memory log shares it); it may be retained.
	Apply(index uint64, data []byte)
	// WriteSnapshot writes the state as of the last applied index to w. Called between Apply calls.
	WriteSnapshot(w io.Writer) error
	// RestoreSnapshot replaces the whole state with one written by WriteSnapshot at index.
	RestoreSnapshot(index uint64, r io.Reader) error
}

// Node runs a raft member: the raft state machine, its durable WAL and
// snapshots, and the user's StateMachine. See the package documentation for
// the Ready-loop obligations it keeps.
type Node struct {
	cfg Config
	lg  *slog.Logger
	zl  *zap.Logger
	sm  StateMachine
	rn  raft.Node
	ms  *raft.MemoryStorage
	w   *wal.WAL

	walDir, snapDir string
	lock            *fileutil.LockedFile

	// Owned by the loop goroutine.
	confState     raftpb.ConfState
	term          uint64 // current term, from HardState
	appliedTerm   uint64 // term of the entry at applied
	snapIndex     uint64 // index of the newest snapshot (file + WAL record)
	snapAttempt   uint64 // applied index of the last snapshot attempt
	startCommit   uint64 // commit index recovered from the WAL
	campaigned    bool
	readySignaled bool

	applied  atomic.Uint64
	saves    atomic.Uint64 // WAL Saves that carried entries (group commits); for tests and benchmarks
	leader   atomic.Bool
	lead     atomic.Uint64 // known leader id, 0 if none
	notifyMu sync.Mutex
	notifyCh chan struct{} // closed and replaced whenever applied advances

	readMu   sync.Mutex
	readSeq  uint64
	readWait map[string]chan uint64

	readyc   chan struct{} // closed once the restored state is applied (and, single member, leader)
	stopc    chan struct{}
	done     chan struct{} // closed when the loop has exited and storage is closed
	stopOnce sync.Once
	failErr  atomic.Pointer[error] // set when a fatal storage error ended the loop
}

// Start opens (or creates) the data dir, restores the newest valid snapshot into sm, replays the WAL,
// and starts the raft loop. It returns once the restored state has been applied to sm
// (i.e. all entries that were committed before the restart have gone through sm.Apply)
// and, for a single member, once this node is leader and ready to accept proposals.
func Start(cfg Config, sm StateMachine) (*Node, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:      c,
		lg:       c.Logger.With("component", "raftnode", "member", fmt.Sprintf("%x", c.ID)),
		sm:       sm,
		walDir:   filepath.Join(c.DataDir, "wal"),
		snapDir:  filepath.Join(c.DataDir, "snap"),
		notifyCh: make(chan struct{}),
		readWait: make(map[string]chan uint64),
		readyc:   make(chan struct{}),
		stopc:    make(chan struct{}),
		done:     make(chan struct{}),
	}
	n.zl = newZapLogger(n.lg)
	if err := n.open(); err != nil {
		if n.w != nil {
			n.w.Close()
		}
		if n.lock != nil {
			n.lock.Close()
		}
		return nil, err
	}
	go n.run()
	select {
	case <-n.readyc:
		return n, nil
	case <-n.done:
		if p := n.failErr.Load(); p != nil {
			return nil, *p
		}
		return nil, ErrStopped
	}
}

// open prepares storage, restores sm and creates the raft node.
func (n *Node) open() error {
	t0 := time.Now()
	if err := os.MkdirAll(n.cfg.DataDir, 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(n.snapDir, 0o700); err != nil {
		return err
	}
	lock, err := fileutil.TryLockFile(filepath.Join(n.cfg.DataDir, "LOCK"), os.O_WRONLY|os.O_CREATE, fileutil.PrivateFileMode)
	if err != nil {
		return fmt.Errorf("raftnode: data dir %s is in use by another process: %w", n.cfg.DataDir, err)
	}
	n.lock = lock
	if err := removeTmpFiles(n.snapDir); err != nil {
		return err
	}

	var (
		snap  raftpb.Snapshot
		ws    walState
		fresh bool
	)
	if !wal.Exist(n.walDir) {
		w, err := wal.Create(n.zl, n.walDir, walMetadata(n.cfg.ID))
		if err != nil {
			return fmt.Errorf("raftnode: creating WAL in %s: %w", n.walDir, err)
		}
		ws = walState{w: w, id: n.cfg.ID}
		fresh = true
		n.lg.Info("created new WAL", "dir", n.walDir)
	} else {
		walSnaps, err := wal.ValidSnapshotEntries(n.zl, n.walDir)
		if err != nil {
			return fmt.Errorf("%w: scanning WAL in %s for snapshot records: %v", ErrCorrupt, n.walDir, err)
		}
		known := make(map[uint64]uint64, len(walSnaps))
		for _, s := range walSnaps {
			known[s.Index] = s.Term
		}
		sf, si, ok, err := n.loadSnapshot(n.snapDir, known)
		if err != nil {
			return fmt.Errorf("raftnode: loading snapshot from %s: %w", n.snapDir, err)
		}
		walSnap := walpb.Snapshot{}
		if ok {
			snap.Metadata = raftpb.SnapshotMetadata{Index: si.index, Term: si.term, ConfState: si.confState}
			snap.Data = []byte(sf.name)
			walSnap = walpb.Snapshot{Index: si.index, Term: si.term}
		}
		if ws, err = openWAL(n.lg, n.zl, n.walDir, walSnap); err != nil {
			return err
		}
		n.w = ws.w
		if ws.id != n.cfg.ID {
			return fmt.Errorf("raftnode: data dir %s belongs to member %x, not %x", n.cfg.DataDir, ws.id, n.cfg.ID)
		}
		last := snap.Metadata.Index
		if len(ws.ents) > 0 {
			last = ws.ents[len(ws.ents)-1].Index
			if first := ws.ents[0].Index; first != snap.Metadata.Index+1 {
				return fmt.Errorf("%w: WAL in %s starts at entry %d, snapshot is at %d", ErrCorrupt, n.walDir, first, snap.Metadata.Index)
			}
		}
		if ws.hs.Commit > last || (ok && ws.hs.Commit < snap.Metadata.Index) {
			return fmt.Errorf("%w: WAL in %s: commit index %d outside the recovered log [%d, %d]; committed entries are missing",
				ErrCorrupt, n.walDir, ws.hs.Commit, snap.Metadata.Index, last)
		}
		fresh = !ok && raft.IsEmptyHardState(ws.hs) && len(ws.ents) == 0
		if ok {
			t1 := time.Now()
			if err := restoreSnapshotFile(filepath.Join(n.snapDir, sf.name), si, n.sm); err != nil {
				return err
			}
			n.lg.Info("restored snapshot", "file", sf.name, "index", si.index, "term", si.term,
				"bytes", si.bodyLen, "took", time.Since(t1))
		}
		n.lg.Info("replayed WAL", "dir", n.walDir, "entries", len(ws.ents), "commit", ws.hs.Commit, "term", ws.hs.Term)
	}
	n.w = ws.w

	n.ms = raft.NewMemoryStorage()
	if !raft.IsEmptySnap(snap) {
		if err := n.ms.ApplySnapshot(snap); err != nil {
			return err
		}
		n.confState = snap.Metadata.ConfState
		n.snapIndex, n.snapAttempt = snap.Metadata.Index, snap.Metadata.Index
		n.appliedTerm = snap.Metadata.Term
		n.applied.Store(snap.Metadata.Index)
	}
	if err := n.ms.SetHardState(ws.hs); err != nil {
		return err
	}
	if err := n.ms.Append(ws.ents); err != nil {
		return err
	}
	n.term, n.startCommit = ws.hs.Term, ws.hs.Commit

	rc := &raft.Config{
		ID:              n.cfg.ID,
		ElectionTick:    n.cfg.ElectionTicks,
		HeartbeatTick:   n.cfg.HeartbeatTicks,
		Storage:         n.ms,
		Applied:         snap.Metadata.Index,
		MaxSizePerMsg:   maxSizePerMsg,
		MaxInflightMsgs: maxInflightMsgs,
		CheckQuorum:     true,
		PreVote:         true,
		Logger:          raftLogger{n.lg.With("sub", "etcd-raft")},
	}
	if fresh {
		peers := []raft.Peer{{ID: n.cfg.ID}}
		// Bootstrap commits one conf change entry per peer; wait for them
		// so the membership is known before deciding readiness.
		n.startCommit = uint64(len(peers))
		n.rn = raft.StartNode(rc, peers)
	} else {
		n.rn = raft.RestartNode(rc)
	}
	n.lg.Info("storage opened", "fresh", fresh, "snapshot", snap.Metadata.Index, "took", time.Since(t0))
	return nil
}

// run is the Ready loop. See doc.go for the obligations it keeps.
func (n *Node) run() {
	defer n.shutdown()
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	n.maybeSignalReady()
	for {
		select {
		case <-ticker.C:
			n.rn.Tick()
		case rd := <-n.rn.Ready():
			if !n.handleReady(rd) {
				return
			}
			n.rn.Advance()
			n.maybeCampaign()
		case <-n.stopc:
			return
		}
	}
}

// handleReady processes one Ready. It returns false if the loop must end
// (a fatal storage error; the process exits unless a test intercepted exit).
func (n *Node) handleReady(rd raft.Ready) bool {
	if rd.SoftState != nil {
		isLeader := rd.SoftState.RaftState == raft.StateLeader
		n.lead.Store(rd.SoftState.Lead)
		if n.leader.Swap(isLeader) != isLeader {
			n.lg.Info("leadership changed", "leader", isLeader, "lead", fmt.Sprintf("%x", rd.SoftState.Lead))
		}
		if !isLeader && rd.SoftState.Lead == raft.None {
			n.failReads()
		}
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		// Only a leader sends snapshots; a single-member group never
		// receives one. Installing one needs the transport to have stored
		// the snapshot file first, which does not exist yet.
		return n.fatal("received a raft snapshot, which this version cannot install", errors.New("snapshot install not implemented"))
	}
	// 1. Persist HardState and entries (one write, one fsync) before anything
	//    that depends on them: applying, sending, Advance.
	if err := n.w.Save(rd.HardState, rd.Entries); err != nil {
		return n.fatal("WAL save failed", err)
	}
	if len(rd.Entries) > 0 {
		n.saves.Add(1)
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		n.term = rd.HardState.Term
	}
	// 2. Make them visible to raft's log reader.
	if err := n.ms.Append(rd.Entries); err != nil {
		return n.fatal("raft storage append failed", err)
	}
	// 3. Send messages (durable now).
	if len(rd.Messages) > 0 {
		n.cfg.Transport.Send(rd.Messages)
	}
	// 4. Answer read-index requests.
	for _, rs := range rd.ReadStates {
		n.deliverRead(rs)
	}
	// 5. Apply committed entries in order.
	if len(rd.CommittedEntries) > 0 {
		n.applyEntries(rd.CommittedEntries)
		if !n.maybeSnapshot() {
			return false
		}
	}
	n.maybeSignalReady()
	return true
}

func (n *Node) applyEntries(ents []raftpb.Entry) {
	for i := range ents {
		e := &ents[i]
		if e.Index <= n.applied.Load() {
			continue // already in the restored snapshot
		}
		switch e.Type {
		case raftpb.EntryNormal:
			if len(e.Data) == 0 {
				n.sm.Apply(e.Index, nil)
			} else {
				n.sm.Apply(e.Index, e.Data)
			}
		case raftpb.EntryConfChange, raftpb.EntryConfChangeV2:
			var cc raftpb.ConfChangeI
			if e.Type == raftpb.EntryConfChange {
				var c1 raftpb.ConfChange
				if err := c1.Unmarshal(e.Data); err != nil {
					n.lg.Error("undecodable conf change entry", "index", e.Index, "err", err)
					panic(err)
				}
				cc = c1
			} else {
				var c2 raftpb.ConfChangeV2
				if err := c2.Unmarshal(e.Data); err != nil {
					n.lg.Error("undecodable conf change entry", "index", e.Index, "err", err)
					panic(err)
				}
				cc = c2
			}
			n.confState = *n.rn.ApplyConfChange(cc)
			n.lg.Info("applied membership change", "index", e.Index, "voters", n.confState.Voters, "learners", n.confState.Learners)
			n.sm.Apply(e.Index, nil)
		}
		n.appliedTerm = e.Term
		n.applied.Store(e.Index)
	}
	n.notifyMu.Lock()
	close(n.notifyCh)
	n.notifyCh = make(chan struct{})
	n.notifyMu.Unlock()
}

// singleVoter reports whether this member is the only voter.
func (n *Node) singleVoter() bool {
	cs := n.confState
	return len(cs.Voters) == 1 && cs.Voters[0] == n.cfg.ID && len(cs.VotersOutgoing) == 0
}

// maybeCampaign makes a single voter campaign as soon as its restored log is
// applied (raft ignores a campaign while committed conf changes are unapplied),
// instead of waiting out an election timeout.
func (n *Node) maybeCampaign() {
	if n.campaigned || n.applied.Load() < n.startCommit || !n.singleVoter() {
		return
	}
	n.campaigned = true
	if err := n.rn.Campaign(context.Background()); err != nil {
		n.lg.Warn("campaign failed", "err", err)
	}
}

func (n *Node) maybeSignalReady() {
	if n.readySignaled || n.applied.Load() < n.startCommit {
		return
	}
	if n.singleVoter() && !(n.leader.Load() && n.appliedTerm == n.term) {
		return
	}
	n.readySignaled = true
	close(n.readyc)
	n.lg.Info("ready", "applied", n.applied.Load(), "term", n.term, "leader", n.leader.Load())
}

// fatal handles an error that leaves memory possibly ahead of disk: log it and
// exit the process. If exit returns (tests), the loop ends.
func (n *Node) fatal(msg string, err error) bool {
	n.lg.Error("raftnode: fatal storage error, exiting: "+msg, "err", err)
	e := fmt.Errorf("raftnode: %s: %w", msg, err)
	n.failErr.Store(&e)
	exit(1)
	return false
}

// shutdown stops raft and closes storage; it runs when the loop ends.
func (n *Node) shutdown() {
	n.rn.Stop()
	n.cfg.Transport.Stop()
	n.failReads()
	if n.failErr.Load() == nil {
		if err := n.w.Close(); err != nil {
			n.lg.Error("closing WAL", "err", err)
		}
	}
	n.lock.Close()
	close(n.done)
	n.lg.Info("stopped", "applied", n.applied.Load())
}

// Propose hands data to raft as a new log entry. It does not wait for the
// entry to commit; it returns once raft has accepted it (on a leader, appended
// it to the unstable log) or failed. Entries can still be lost afterwards
// (e.g. a leader change before commit), so callers match applied entries
// against what they proposed.
func (n *Node) Propose(ctx context.Context, data []byte) error {
	if len(data) > n.cfg.MaxEntryBytes {
		return ErrEntryTooLarge
	}
	if len(data) == 0 {
		return ErrEmptyEntry
	}
	select {
	case <-n.done:
		return ErrStopped
	case <-n.stopc:
		return ErrStopped
	default:
	}
	return n.mapErr(n.rn.Propose(ctx, data))
}

func (n *Node) mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, raft.ErrStopped):
		return ErrStopped
	case errors.Is(err, raft.ErrProposalDropped):
		return ErrNotLeader
	}
	return err
}

// ReadIndex returns an index such that, once AppliedIndex reaches it, local
// state reflects every write committed before ReadIndex was called
// (raft's ReadIndex protocol; immediate for a single-member leader).
func (n *Node) ReadIndex(ctx context.Context) (uint64, error) {
	select {
	case <-n.done:
		return 0, ErrStopped
	default:
	}
	if n.lead.Load() == raft.None {
		return 0, ErrNotLeader
	}
	n.readMu.Lock()
	n.readSeq++
	var rctx [8]byte
	binary.BigEndian.PutUint64(rctx[:], n.readSeq)
	ch := make(chan uint64, 1)
	n.readWait[string(rctx[:])] = ch
	n.readMu.Unlock()
	defer func() {
		n.readMu.Lock()
		delete(n.readWait, string(rctx[:]))
		n.readMu.Unlock()
	}()
	if err := n.rn.ReadIndex(ctx, rctx[:]); err != nil {
		return 0, n.mapErr(err)
	}
	select {
	case idx, ok := <-ch:
		if !ok {
			return 0, ErrNotLeader
		}
		return idx, nil
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-n.done:
		return 0, ErrStopped
	}
}

func (n *Node) deliverRead(rs raft.ReadState) {
	n.readMu.Lock()
	ch, ok := n.readWait[string(rs.RequestCtx)]
	if ok {
		delete(n.readWait, string(rs.RequestCtx))
	}
	n.readMu.Unlock()
	if ok {
		ch <- rs.Index
	}
}

// failReads fails pending read-index requests (leader lost or shutdown):
// raft drops them silently in those cases.
func (n *Node) failReads() {
	n.readMu.Lock()
	for k, ch := range n.readWait {
		close(ch)
		delete(n.readWait, k)
	}
	n.readMu.Unlock()
}

// WaitApplied blocks until the state machine has applied index, ctx is done,
// or the node stops.
func (n *Node) WaitApplied(ctx context.Context, index uint64) error {
	for {
		n.notifyMu.Lock()
		ch := n.notifyCh
		n.notifyMu.Unlock()
		if n.applied.Load() >= index {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-n.done:
			if n.applied.Load() >= index {
				return nil
			}
			return ErrStopped
		}
	}
}

// AppliedIndex returns the index of the last entry applied to the state machine.
func (n *Node) AppliedIndex() uint64 { return n.applied.Load() }

// IsLeader reports whether this member is currently the raft leader.
func (n *Node) IsLeader() bool { return n.leader.Load() }

// Step hands a raft message received from another member to raft. It is the
// entry point for a Transport's receiving side.
func (n *Node) Step(ctx context.Context, m raftpb.Message) error {
	return n.mapErr(n.rn.Step(ctx, m))
}

// Stop stops the raft loop after the Ready being processed (if any), then
// closes the WAL. It is idempotent and safe to call concurrently.
func (n *Node) Stop() {
	n.stopOnce.Do(func() { close(n.stopc) })
	<-n.done
}

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
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-io/corral/internal/transport"
	"github.com/corral-io/corral/internal/trash"
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
	rn  *lockedRaft
	app *appender // writes the log (raft's LocalAppendThread)
	ms  *raft.MemoryStorage
	w   *wal.WAL

	walDir, snapDir string
	lock            *fileutil.LockedFile
	bin             *trash.Bin // removes purged snapshots and WAL segments gently

	// Owned by the loop goroutine.
	confState     raftpb.ConfState
	term          uint64         // current term, from HardState
	appliedTerm   uint64         // term of the entry at applied
	snapIndex     uint64         // index of the newest snapshot (file + WAL record)
	snapAttempt   uint64         // applied index of the last snapshot attempt
	bg            bgSnapshot     // the snapshot being written in the background (snapshot_bg.go)
	startCommit   uint64         // commit index recovered from the WAL
	commit        uint64         // commit index, from HardState
	unsynced      []raftpb.Entry // entries handed to the appender, not yet applied (early.go)
	campaigned    bool
	readySignaled bool

	// Also owned by the loop: bytes of entry data applied, in all and at the last
	// snapshot attempt, and the size of the newest snapshot file (see maybeSnapshot).
	appliedBytes, snapAttemptBytes, snapSize uint64

	applied atomic.Uint64
	saves   atomic.Uint64 // WAL Saves that carried entries (group commits); for tests and benchmarks
	// skippedAcks counts acknowledgements not sent because they repeated the last
	// (appender.skipRepeatedAck); for tests.
	skippedAcks atomic.Uint64
	leader      atomic.Bool
	lead        atomic.Uint64     // known leader id, 0 if none
	heardAt     [256]atomic.Int64 // member id -> when its last message arrived (unix ns); see ContactWithin
	notifyMu    sync.Mutex
	notifyCh    chan struct{} // closed and replaced whenever applied advances

	readMu   sync.Mutex
	readSeq  uint64
	readWait map[string]chan uint64
	readNext *readBatch    // ReadIndex callers waiting for the next raft read
	readKick chan struct{} // wakes readLoop
	reads    atomic.Uint64 // raft reads sent (batches); for tests

	tr Transport

	// Membership and addresses. book is owned by the loop goroutine (and
	// open); members is the published copy for Members and the handler.
	book         map[uint64]string // member id -> peer address (recorded, or a hint from Config.Peers)
	clients      map[uint64]string // member id -> client address, as recorded with conf changes
	confIndex    uint64            // raft index of the last applied conf change (0: unknown)
	confTime     int64             // its proposer's clock, unix ms (0: unknown)
	members      atomic.Pointer[Membership]
	bootstrapped bool // this process bootstrapped a fresh cluster

	raftState atomic.Uint32 // raft.StateType from the last SoftState
	termA     atomic.Uint64

	leaderMu sync.Mutex
	leaderCh chan struct{} // closed and replaced whenever the known leader changes

	failoverPending atomic.Bool
	appHandler      atomic.Pointer[AppHandler]

	ccMu   sync.Mutex
	ccSeq  uint64
	ccWait map[string]chan Membership

	readyc   chan struct{} // closed once the restored state is applied (and, single member, leader)
	stopc    chan struct{}
	done     chan struct{} // closed when the loop has exited and storage is closed
	stopOnce sync.Once
	graceful atomic.Bool           // Stop (not halt) ended the loop: snapshotOnStop
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
		readKick: make(chan struct{}, 1),
		readyc:   make(chan struct{}),
		stopc:    make(chan struct{}),
		done:     make(chan struct{}),
		book:     make(map[uint64]string),
		clients:  make(map[uint64]string),
		leaderCh: make(chan struct{}),
		ccWait:   make(map[string]chan Membership),
	}
	n.zl = newZapLogger(n.lg)
	if err := n.open(); err != nil {
		if n.rn != nil {
			n.rn.Stop()
		}
		if n.tr != nil {
			n.tr.Stop()
		}
		if n.w != nil {
			n.w.Close()
		}
		if n.bin != nil {
			n.bin.Close()
		}
		if n.lock != nil {
			n.lock.Close()
		}
		if n.tr == nil && c.PeerListener != nil {
			c.PeerListener.Close()
		}
		return nil, err
	}
	if t, ok := n.tr.(*transport.Transport); ok {
		t.Start()
	}
	n.app = newAppender(n)
	go n.app.run()
	go n.run()
	go n.readLoop()
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

// open prepares storage, restores sm, starts the peer transport (not yet
// accepting) and creates the raft node.
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
	if n.bin, err = trash.Open(filepath.Join(n.cfg.DataDir, "trash"), n.lg, n.cfg.trash); err != nil {
		return err
	}
	if err := removeTmpFiles(n.snapDir, n.bin.Remove); err != nil {
		return err
	}
	for id, addr := range n.cfg.Peers {
		n.book[id] = addr
	}
	if n.cfg.PeerAddr != "" {
		if _, ok := n.book[n.cfg.ID]; !ok {
			n.book[n.cfg.ID] = n.cfg.PeerAddr
		}
	}

	var (
		snap  raftpb.Snapshot
		ws    walState
		fresh bool
	)
	if !wal.Exist(n.walDir) {
		meta := n.newWALMeta()
		w, err := wal.Create(n.zl, n.walDir, meta.encode())
		if err != nil {
			return fmt.Errorf("raftnode: creating WAL in %s: %w", n.walDir, err)
		}
		ws = walState{w: w, meta: meta}
		fresh = true
		n.lg.Info("created new WAL", "dir", n.walDir, "cluster", meta.ClusterID, "join", meta.Join)
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
		if err := n.checkIdentity(ws.meta); err != nil {
			return err
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
			for id, addr := range si.addrs {
				n.book[id] = addr
			}
			n.restoreSnapMeta(si.meta)
			n.lg.Info("restored snapshot", "file", sf.name, "index", si.index, "term", si.term,
				"bytes", si.bodyLen, "took", time.Since(t1))
		}
		n.lg.Info("replayed WAL", "dir", n.walDir, "entries", len(ws.ents), "commit", ws.hs.Commit, "term", ws.hs.Term)
	}
	n.w = ws.w
	if n.cfg.ForceNewCluster && !fresh {
		if err := n.forceNewCluster(&ws, snap); err != nil {
			return err
		}
	}

	if fresh && !ws.meta.Join {
		ents, hs, err := n.bootstrapEntries()
		if err != nil {
			return err
		}
		if err := n.w.Save(hs, ents); err != nil {
			return fmt.Errorf("raftnode: writing the bootstrap entries to the WAL: %w", err)
		}
		ws.hs, ws.ents = hs, ents
		n.bootstrapped = true
	}
	// Addresses recorded in the log (bootstrap and conf changes) win over
	// the hints from the flags; membership itself is applied by raft.
	for _, e := range ws.ents {
		if e.Type == raftpb.EntryConfChange || e.Type == raftpb.EntryConfChangeV2 {
			if cc, err := decodeConfChange(e); err == nil {
				for id, addr := range parseCCContext(cc.AsV2().Context).Addrs {
					n.book[id] = addr
				}
			}
		}
	}

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
	n.term, n.startCommit, n.commit = ws.hs.Term, ws.hs.Commit, ws.hs.Commit
	n.termA.Store(n.term)
	n.publishMembers()

	if n.cfg.multiMember() {
		t, err := transport.New(transport.Config{
			ID:         n.cfg.ID,
			ClusterID:  n.cfg.ClusterID,
			ListenAddr: n.cfg.PeerAddr,
			Listener:   n.cfg.PeerListener,
			Handler:    (*handler)(n),
			Logger:     n.cfg.Logger,
			Faults:     n.cfg.PeerFaults,
		})
		if err != nil {
			return fmt.Errorf("raftnode: %w", err)
		}
		for id, addr := range n.book {
			t.SetPeer(id, addr)
		}
		n.tr = t
	} else {
		n.tr = NopTransport{}
	}

	rc := raftConfig(n.cfg, n.ms, snap.Metadata.Index, raftLogger{n.lg.With("sub", "etcd-raft")})
	rc.AsyncStorageWrites = true
	if n.rn, err = newLockedRaft(rc); err != nil {
		return fmt.Errorf("raftnode: %w", err)
	}
	n.lg.Info("storage opened", "fresh", fresh, "join", ws.meta.Join, "snapshot", snap.Metadata.Index, "took", time.Since(t0))
	return nil
}

// raftConfig is the raft configuration of every member (and of the
// deterministic simulation in sim_test.go, which checks it under faults).
func raftConfig(cfg Config, st raft.Storage, applied uint64, lg raft.Logger) *raft.Config {
	return &raft.Config{
		ID:                       cfg.ID,
		ElectionTick:             cfg.ElectionTicks,
		HeartbeatTick:            cfg.HeartbeatTicks,
		Storage:                  st,
		Applied:                  applied,
		MaxSizePerMsg:            maxSizePerMsg,
		MaxCommittedSizePerReady: maxCommittedPerReady,
		MaxInflightMsgs:          maxInflightMsgs,
		MaxInflightBytes:         maxInflightBytes,
		CheckQuorum:              true,
		PreVote:                  true,
		StepDownOnRemoval:        true,
		Logger:                   lg,
	}
}

// run is the Ready loop. See doc.go for the obligations it keeps.
func (n *Node) run() {
	defer n.shutdown()
	ticker := time.NewTicker(n.cfg.TickInterval)
	defer ticker.Stop()
	n.maybeSignalReady()
	for {
		wake := n.rn.wake
		if rd, ok := n.rn.ready(); ok {
			if !n.handleReady(rd) {
				return
			}
			n.maybeCampaign()
			// Raft may have another Ready at once: only poll the rest. select
			// picks among ready cases at random, so a steady stream of Readys
			// cannot hold back ticks, a finished snapshot or Stop.
			wake = closedChan
		}
		select {
		case <-ticker.C:
			n.rn.Tick()
		case r := <-n.bg.done:
			if !n.snapshotDone(r) {
				return
			}
		case <-n.stopc:
			return
		case <-n.app.done: // a fatal write error
			return
		case <-wake:
			// As in the appender: the goroutines runnable now (connections
			// proposing, streams stepping acknowledgements) go first, and what
			// they step into raft is in the next Ready.
			runtime.Gosched()
		}
	}
}

// closedChan is always ready to receive from.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// handleReady processes one Ready (raft runs with AsyncStorageWrites; see
// doc.go). It returns false if the loop must end (a fatal storage error; the
// process exits unless a test intercepted exit).
func (n *Node) handleReady(rd raft.Ready) bool {
	if rd.SoftState != nil {
		n.softState(*rd.SoftState)
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		n.term = rd.HardState.Term
		n.termA.Store(n.term)
		n.commit = max(n.commit, rd.HardState.Commit)
	}
	// rd.Messages is ours (raft starts a new slice after each Ready): the
	// messages to other members are gathered at its front, in order.
	var appendMsg, applyMsg raftpb.Message // Type 0 (MsgHup): none
	out := rd.Messages[:0]
	for _, m := range rd.Messages {
		switch m.To {
		case raft.LocalAppendThread:
			appendMsg = m
		case raft.LocalApplyThread:
			applyMsg = m
		default:
			out = append(out, m)
		}
	}
	// 1. Messages to other members go now: raft keeps back (as responses of
	//    the append) those that promise something not yet durable.
	if len(out) > 0 {
		if !n.refreshSnapshots(out) {
			return false
		}
		n.tr.Send(out)
	}
	// 2. New entries, HardState: to the appender, which writes them and then
	//    delivers their responses. A snapshot from the leader is installed
	//    here instead, once everything before it is written.
	if appendMsg.Type == raftpb.MsgStorageAppend {
		if appendMsg.Snapshot != nil {
			n.resetUnsynced()
			if !n.appendSnapshot(appendMsg) {
				return false
			}
		} else {
			n.trackUnsynced(appendMsg.Entries)
			if !n.app.send(appendMsg) {
				return false
			}
		}
	}
	// 3. Read-index answers.
	for _, rs := range rd.ReadStates {
		n.deliverRead(rs)
	}
	// 4. Committed entries (raft hands out only those already durable here),
	//    in order; then raft learns they are applied. Then those committed but
	//    still being written here (early.go).
	applied := false
	if applyMsg.Type == raftpb.MsgStorageApply {
		n.applyEntries(applyMsg.Entries)
		n.deliver(applyMsg.Responses)
		applied = true
	}
	if n.applyUnsynced() || applied {
		if !n.maybeSnapshot() {
			return false
		}
	}
	n.maybeSignalReady()
	return true
}

// appendSnapshot handles a MsgStorageAppend that carries a snapshot from the
// leader (already received into the snap dir and verified by the transport):
// once the appender has written everything before it, and a snapshot of our
// own still being written has finished, it records the snapshot in the WAL
// before the HardState that points past it, saves, restores the state
// machine from it, and delivers the message's responses.
func (n *Node) appendSnapshot(m raftpb.Message) bool {
	if !n.app.flush() || !n.waitSnapshot() {
		return false
	}
	snap := *m.Snapshot
	si, ok := n.recordSnapshot(snap)
	if !ok {
		return false
	}
	if err := n.w.Save(hardStateOf(m), m.Entries); err != nil {
		return n.fatal("WAL save failed", err)
	}
	// Save fsyncs only for new entries, term or vote; a HardState whose only
	// change is the Commit the snapshot brings would wait in the WAL's buffer.
	// It must be durable before the snapshot is acknowledged and older WAL
	// segments are purged (installSnapshot): start-up takes a snapshot record
	// only at or below the last durable Commit.
	if err := n.w.Sync(); err != nil {
		return n.fatal("WAL sync failed", err)
	}
	if !n.installSnapshot(snap, si) {
		return false
	}
	if err := n.ms.Append(m.Entries); err != nil {
		return n.fatal("raft storage append failed", err)
	}
	n.deliver(m.Responses)
	return true
}

func (n *Node) applyEntries(ents []raftpb.Entry) {
	for i := range ents {
		e := &ents[i]
		if e.Index <= n.applied.Load() {
			continue // already in the restored snapshot
		}
		n.appliedBytes += uint64(len(e.Data))
		switch e.Type {
		case raftpb.EntryNormal:
			if len(e.Data) == 0 {
				n.sm.Apply(e.Index, nil)
			} else {
				n.sm.Apply(e.Index, e.Data)
			}
		case raftpb.EntryConfChange, raftpb.EntryConfChangeV2:
			cc, err := decodeConfChange(*e)
			if err != nil {
				n.lg.Error("undecodable conf change entry", "index", e.Index, "err", err)
				panic(err)
			}
			n.applyConfChange(e.Index, cc)
			n.sm.Apply(e.Index, nil)
		}
		n.appliedTerm = e.Term
		n.applied.Store(e.Index)
	}
	n.notifyApplied()
}

// notifyApplied wakes WaitApplied callers.
func (n *Node) notifyApplied() {
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

// maybeCampaign makes a member campaign as soon as its restored log is
// applied (raft ignores a campaign while committed conf changes are
// unapplied), instead of waiting out an election timeout: a single voter
// always, and the lowest voter of a cluster this process just bootstrapped.
func (n *Node) maybeCampaign() {
	if n.campaigned || n.applied.Load() < n.startCommit {
		return
	}
	n.campaigned = true
	first := n.bootstrapped && len(n.confState.Voters) > 0 && slices.Min(n.confState.Voters) == n.cfg.ID
	if !n.singleVoter() && !first {
		return
	}
	if err := n.rn.Campaign(); err != nil {
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
// Only the first fatal error is logged and exits: the goroutines that meet one
// concurrently (the appender, the transport's streams) do not repeat it.
func (n *Node) fatal(msg string, err error) bool {
	e := fmt.Errorf("raftnode: %s: %w", msg, err)
	if !n.failErr.CompareAndSwap(nil, &e) {
		return false
	}
	n.lg.Error("raftnode: fatal storage error, exiting: "+msg, "err", err)
	exit(1)
	return false
}

// shutdown stops raft and closes storage; it runs when the loop ends.
func (n *Node) shutdown() {
	n.app.stop()
	n.finishSnapshot()
	n.snapshotOnStop()
	n.rn.Stop()
	n.tr.Stop()
	n.failReads()
	n.failConfChanges()
	if n.failErr.Load() == nil {
		if err := n.w.Close(); err != nil {
			n.lg.Error("closing WAL", "err", err)
		}
	}
	n.bin.Close()
	n.lock.Close()
	close(n.done)
	n.lg.Info("stopped", "applied", n.applied.Load())
}

// Propose hands data to raft as a new log entry. It does not wait for the
// entry to commit; it returns once raft has accepted it (on a leader,
// appended it to the unstable log; on a follower, forwarded it to the
// leader) or failed. Entries can still be lost afterwards (a leader change
// before commit, a forwarded proposal the leader never received), so
// callers match applied entries against what they proposed.
//
// It returns ErrNotLeader at once when no leader is known or raft drops the
// proposal (e.g. during a leadership transfer). It never blocks, so the
// context (kept for callers written against raft.Node) is not consulted.
func (n *Node) Propose(_ context.Context, data []byte) error {
	if len(data) > n.cfg.MaxEntryBytes {
		return ErrEntryTooLarge
	}
	if len(data) == 0 {
		return ErrEmptyEntry
	}
	return n.withLeader(func() error { return n.rn.Propose(data) })
}

// withLeader runs a raft call (which does not block: see lockedRaft) if a
// leader is known and this member is in the cluster, and ErrNotLeader
// otherwise.
func (n *Node) withLeader(call func() error) error {
	select {
	case <-n.done:
		return ErrStopped
	case <-n.stopc:
		return ErrStopped
	default:
	}
	if n.lead.Load() == raft.None {
		return ErrNotLeader
	}
	if m := n.members.Load(); len(m.Voters) > 0 && !m.IsMember(n.cfg.ID) {
		return fmt.Errorf("%w: this member is not in the cluster", ErrNotLeader)
	}
	return n.mapErr(call())
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
// (raft's ReadIndex protocol; immediate for a single-member leader). On a
// follower or learner raft forwards the request to the leader. It fails
// with ErrNotLeader when no leader is known or the leader changes while
// waiting (raft drops such requests silently).
//
// Concurrent callers share one raft read: a caller joins the batch that has
// not been sent yet, and readLoop sends one batch at a time. Each batch is
// sent after all its callers arrived, so the index it gets is good for every
// one of them; a burst of syncs or of clients reattaching after a member
// failed costs the leader a heartbeat round per batch, not per caller.
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
	b := n.readNext
	if b == nil {
		b = &readBatch{done: make(chan struct{})}
		n.readNext = b
	}
	n.readMu.Unlock()
	select {
	case n.readKick <- struct{}{}:
	default: // readLoop has been told already
	}
	select {
	case <-b.done:
		return b.idx, b.err
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-n.done:
		return 0, ErrStopped
	}
}

// readBatch is the callers of ReadIndex that one raft read answers.
type readBatch struct {
	done chan struct{} // closed once idx and err are set
	idx  uint64
	err  error
}

// readLoop sends the pending batch of ReadIndex callers as one raft read,
// one batch at a time, until the node stops.
func (n *Node) readLoop() {
	for {
		select {
		case <-n.readKick:
		case <-n.done:
			return
		}
		n.readMu.Lock()
		b := n.readNext
		n.readNext = nil
		n.readMu.Unlock()
		if b == nil {
			continue
		}
		// Bounded: raft drops a read it cannot forward without saying so.
		ctx, cancel := context.WithTimeout(context.Background(), 2*n.electionTimeout())
		b.idx, b.err = n.readOnce(ctx)
		cancel()
		close(b.done)
	}
}

// readOnce is one raft read.
func (n *Node) readOnce(ctx context.Context) (uint64, error) {
	if n.lead.Load() == raft.None {
		return 0, ErrNotLeader
	}
	n.reads.Add(1)
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
	if err := n.rn.ReadIndex(rctx[:]); err != nil {
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

// failReads fails pending read-index requests (leader changed or shutdown):
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
func (n *Node) Step(_ context.Context, m raftpb.Message) error {
	if m.From < uint64(len(n.heardAt)) {
		n.heardAt[m.From].Store(time.Now().UnixNano())
	}
	if p := n.failErr.Load(); p != nil && errors.Is(*p, errLogLost) {
		return errLogLost
	}
	if m.Type == raftpb.MsgHeartbeat {
		if last, err := n.ms.LastIndex(); err == nil && m.Commit > last {
			return n.logLost(m, last)
		}
	}
	return n.mapErr(n.rn.Step(m))
}

// errLogLost is what Step returns for a heartbeat that shows this member lost
// acknowledged entries.
var errLogLost = errors.New("raftnode: this member's log lacks entries it acknowledged")

// logLost handles a heartbeat whose commit index lies beyond the end of this
// member's log. A leader never sends a follower a commit index above what that
// follower acknowledged as written, so this member acknowledged entries it no
// longer has: its data directory was wiped, replaced by an older copy, or the
// disk lost synced writes. raft would panic; a member that lost acknowledged
// writes must not vote or acknowledge again under its id (a write the majority
// confirmed could be lost), so it says what happened and how to recover, and
// exits. Only a leader that saw the acknowledgements can tell: a new leader starts
// every follower's progress at 0, and catches a wiped member up without a word.
func (n *Node) logLost(m raftpb.Message, last uint64) error {
	err := fmt.Errorf("%w: leader %x holds it acknowledged index %d, its log (data dir %s) ends at %d",
		errLogLost, m.From, m.Commit, n.cfg.DataDir, last)
	n.fatal("this member's data directory has lost entries it acknowledged (it was wiped, "+
		"restored from an older copy, or the disk lost synced writes); it cannot rejoin under "+
		"the same id with this data. Restore the data directory, or remove the member "+
		"(reconfig -remove ID), add it again (reconfig -add) and start it with --join and "+
		"an empty data directory", err)
	return err
}

// Stop stops the member and closes its storage. When this member leads a
// group with other voters it first hands leadership to the most up-to-date
// one (waiting at most two election timeouts), so the group does not wait
// for an election. Then it stops the raft loop after the Ready being
// processed (if any), closes the transport and the WAL. It is idempotent
// and safe to call concurrently.
func (n *Node) Stop() {
	n.stopOnce.Do(func() {
		n.handOff()
		n.graceful.Store(true)
		close(n.stopc)
	})
	<-n.done
}

// halt stops the member without handing leadership over, as a crash would
// (tests).
func (n *Node) halt() {
	n.stopOnce.Do(func() { close(n.stopc) })
	<-n.done
}

package raftnode

// A deterministic, tick-driven simulation of a corral cluster: etcd-raft RawNodes
// configured exactly as members are (raftConfig), each applying committed entries to
// its own tree.Tree as the server does, over a simulated network that drops, delays,
// cuts one way or both, and partitions, with members that crash and restart from
// their durable state and catch up from snapshots of the tree.
//
// Everything runs on the test's goroutine: time is a counter (no clock, no sleeps),
// every random choice comes from the seeded generator, and raft's election jitter
// (which reads crypto/rand.Reader) is fed from the same seed while a simulation runs.
// A seed therefore replays the same run, message for message; TestSimDeterministic
// checks that, and the other tests check what a user relies on under faults:
//   - state machine safety: no two members apply different entries at one index, and
//     their trees' digests agree at every index both applied (snapshots included);
//   - no acknowledged write is lost, and none is applied twice;
//   - a leader cut off from the majority steps down (CheckQuorum), the majority elects
//     another, and writes made to the cut-off side are never acknowledged;
//   - a member that rejoins after a partition does not depose a healthy leader (PreVote);
//   - a member that missed compacted entries catches up from a streamed tree snapshot;
//   - after the faults heal, the cluster elects a leader and commits again.

import (
	"bytes"
	cryptorand "crypto/rand"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/corral-io/corral/internal/tree"
	"github.com/corral-io/corral/proto"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

const (
	simMicro         = 10 // network steps per raft tick
	simElectionTicks = 8  // as internal/server configures members
)

type simMsg struct {
	at, seq uint64
	m       raftpb.Message
}

type simMember struct {
	id      uint64
	up      bool
	st      *raft.MemoryStorage // the durable state: survives a crash
	rn      *raft.RawNode
	tree    *tree.Tree
	applied uint64
	lastSnp uint64
	state   raft.StateType
	snapsIn int // snapshots received from the leader
}

type sim struct {
	t                   testing.TB
	rng                 *rand.Rand
	now                 uint64
	seq                 uint64
	ms                  []*simMember
	cs                  raftpb.ConfState
	queue               []simMsg
	drop                float64
	delay               uint64             // maximum extra delay in network steps
	cut                 map[[2]uint64]bool // directed links that drop everything
	reqID               uint64
	acked               map[uint64]uint64 // request id -> index, acknowledged by its proposer
	at                  map[uint64]uint64 // index -> request id (0: not a request), from any member
	digests             map[uint64]uint64 // index -> tree digest after applying it, from any member
	snapEvery, snapKeep uint64
	trace               []byte // everything observable, for the determinism check
}

// seededReader feeds raft's election jitter from the simulation's seed.
type seededReader struct{ r *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

func newSim(t testing.TB, seed uint64, members int) *sim {
	t.Helper()
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	old := cryptorand.Reader
	cryptorand.Reader = seededReader{rand.NewChaCha8(key)}
	t.Cleanup(func() { cryptorand.Reader = old })

	s := &sim{
		t: t, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		cut: map[[2]uint64]bool{}, acked: map[uint64]uint64{}, at: map[uint64]uint64{},
		digests: map[uint64]uint64{}, snapEvery: 100, snapKeep: 20,
	}
	for id := uint64(1); id <= uint64(members); id++ {
		s.cs.Voters = append(s.cs.Voters, id)
	}
	var empty bytes.Buffer
	if err := tree.New().WriteSnapshot(&empty); err != nil {
		t.Fatal(err)
	}
	for id := uint64(1); id <= uint64(members); id++ {
		m := &simMember{id: id, st: raft.NewMemoryStorage()}
		// Every member starts from the same bootstrap snapshot: index 1, the voters, an empty tree.
		if err := m.st.ApplySnapshot(raftpb.Snapshot{Data: empty.Bytes(), Metadata: raftpb.SnapshotMetadata{Index: 1, Term: 1, ConfState: s.cs}}); err != nil {
			t.Fatal(err)
		}
		s.ms = append(s.ms, m)
		s.start(m)
	}
	return s
}

func (s *sim) logf(format string, a ...any) {
	s.trace = fmt.Appendf(s.trace, "%d ", s.now)
	s.trace = fmt.Appendf(s.trace, format, a...)
	s.trace = append(s.trace, '\n')
}

// start (re)starts a member from its durable storage.
func (s *sim) start(m *simMember) {
	snap, err := m.st.Snapshot()
	if err != nil {
		s.t.Fatal(err)
	}
	if m.tree, err = tree.ReadSnapshot(bytes.NewReader(snap.Data)); err != nil {
		s.t.Fatalf("member %d: restoring its snapshot: %v", m.id, err)
	}
	m.applied, m.lastSnp = snap.Metadata.Index, snap.Metadata.Index
	cfg := Config{ID: m.id, ElectionTicks: simElectionTicks, HeartbeatTicks: DefaultHeartbeatTicks}
	if m.rn, err = raft.NewRawNode(raftConfig(cfg, m.st, m.applied, raftLogger{slog.New(slog.DiscardHandler)})); err != nil {
		s.t.Fatal(err)
	}
	m.up, m.state = true, raft.StateFollower
	s.logf("start %d applied %d", m.id, m.applied)
}

func (s *sim) member(id uint64) *simMember { return s.ms[id-1] }

// crash stops a member: what it had not persisted (nothing, between steps) and
// the messages on their way to it are lost.
func (s *sim) crash(id uint64) {
	m := s.member(id)
	if !m.up {
		return
	}
	m.up, m.rn, m.tree = false, nil, nil
	s.queue = slices.DeleteFunc(s.queue, func(q simMsg) bool { return q.m.To == id })
	s.logf("crash %d", id)
}

func (s *sim) restart(id uint64) {
	if m := s.member(id); !m.up {
		s.start(m)
	}
}

// isolate cuts every link to and from id; heal restores the network.
func (s *sim) isolate(id uint64) {
	for _, m := range s.ms {
		if m.id != id {
			s.cut[[2]uint64{id, m.id}] = true
			s.cut[[2]uint64{m.id, id}] = true
		}
	}
	s.logf("isolate %d", id)
}

func (s *sim) heal() {
	clear(s.cut)
	s.drop, s.delay = 0, 0
	s.logf("heal")
}

func (s *sim) send(from uint64, msgs []raftpb.Message) {
	for _, m := range msgs {
		lost := s.cut[[2]uint64{from, m.To}] || !s.member(m.To).up || (s.drop > 0 && s.rng.Float64() < s.drop)
		if m.Type == raftpb.MsgSnap {
			// The transport streams the snapshot and reports how it went.
			st := raft.SnapshotFinish
			if lost {
				st = raft.SnapshotFailure
			}
			s.member(from).rn.ReportSnapshot(m.To, st)
		}
		if lost {
			continue
		}
		s.seq++
		d := uint64(1)
		if s.delay > 0 {
			d += s.rng.Uint64N(s.delay + 1)
		}
		s.queue = append(s.queue, simMsg{at: s.now + d, seq: s.seq, m: m})
	}
}

// step advances time by one network step: deliver what is due, tick on tick
// boundaries, and let every member handle its Ready.
func (s *sim) step() {
	s.now++
	slices.SortStableFunc(s.queue, func(a, b simMsg) int {
		if a.at != b.at {
			return int(a.at) - int(b.at)
		}
		return int(a.seq) - int(b.seq)
	})
	n := 0
	for n < len(s.queue) && s.queue[n].at <= s.now {
		n++
	}
	due := slices.Clone(s.queue[:n])
	s.queue = s.queue[n:]
	for _, q := range due {
		if to := s.member(q.m.To); to.up && !s.cut[[2]uint64{q.m.From, q.m.To}] {
			_ = to.rn.Step(q.m) // errors: stale or local messages, which raft ignores
		}
	}
	if s.now%simMicro == 0 {
		for _, m := range s.ms {
			if m.up {
				m.rn.Tick()
			}
		}
	}
	for _, m := range s.ms {
		for m.up && m.rn.HasReady() {
			s.handleReady(m)
		}
	}
}

func (s *sim) handleReady(m *simMember) {
	rd := m.rn.Ready()
	if rd.SoftState != nil && rd.SoftState.RaftState != m.state {
		m.state = rd.SoftState.RaftState
		s.logf("member %d is %v (lead %d)", m.id, m.state, rd.SoftState.Lead)
	}
	if !raft.IsEmptySnap(rd.Snapshot) {
		if err := m.st.ApplySnapshot(rd.Snapshot); err != nil {
			s.t.Fatalf("member %d: %v", m.id, err)
		}
		t, err := tree.ReadSnapshot(bytes.NewReader(rd.Snapshot.Data))
		if err != nil {
			s.t.Fatalf("member %d: snapshot from the leader: %v", m.id, err)
		}
		m.tree, m.applied, m.lastSnp = t, rd.Snapshot.Metadata.Index, rd.Snapshot.Metadata.Index
		m.snapsIn++
		s.record(m, m.applied, 0, false)
		s.logf("member %d installed snapshot %d", m.id, m.applied)
	}
	if !raft.IsEmptyHardState(rd.HardState) {
		if err := m.st.SetHardState(rd.HardState); err != nil {
			s.t.Fatal(err)
		}
	}
	if err := m.st.Append(rd.Entries); err != nil {
		s.t.Fatal(err)
	}
	s.send(m.id, rd.Messages)
	for _, e := range rd.CommittedEntries {
		s.apply(m, e)
	}
	if m.applied-m.lastSnp >= s.snapEvery {
		var buf bytes.Buffer
		if err := m.tree.WriteSnapshot(&buf); err != nil {
			s.t.Fatal(err)
		}
		if _, err := m.st.CreateSnapshot(m.applied, &s.cs, buf.Bytes()); err != nil {
			s.t.Fatal(err)
		}
		if err := m.st.Compact(m.applied - s.snapKeep); err != nil {
			s.t.Fatal(err)
		}
		m.lastSnp = m.applied
	}
	m.rn.Advance(rd)
}

func (s *sim) apply(m *simMember, e raftpb.Entry) {
	if e.Index <= m.applied {
		return
	}
	if e.Index != m.applied+1 {
		s.t.Fatalf("member %d: applying %d after %d", m.id, e.Index, m.applied)
	}
	var req uint64
	if e.Type == raftpb.EntryNormal && len(e.Data) > 0 {
		te, err := tree.UnmarshalEntry(e.Data)
		if err != nil {
			s.t.Fatalf("member %d: entry %d: %v", m.id, e.Index, err)
		}
		m.tree.Apply(int64(e.Index), te)
		req = te.ReqID
		if te.Origin == m.id {
			s.acked[req] = e.Index // the proposer answers its client
		}
	}
	m.applied = e.Index
	s.record(m, e.Index, req, true)
}

// record checks what a member applied at index against every other member.
func (s *sim) record(m *simMember, index, req uint64, isEntry bool) {
	d := m.tree.Digest()
	if prev, ok := s.digests[index]; ok && prev != d {
		s.t.Fatalf("member %d: tree digest %x at index %d, another member had %x", m.id, d, index, prev)
	}
	s.digests[index] = d
	if isEntry {
		if prev, ok := s.at[index]; ok && prev != req {
			s.t.Fatalf("member %d applied request %d at index %d, another member applied %d", m.id, req, index, prev)
		}
		s.at[index] = req
	}
	s.logf("member %d applied %d digest %x", m.id, index, d)
}

// propose offers a client write to member id, as a client connected to it would.
func (s *sim) propose(id uint64) {
	m := s.member(id)
	if !m.up {
		return
	}
	s.reqID++
	e := &tree.Entry{Kind: tree.KindRequest, Origin: id, ReqID: s.reqID, Time: int64(s.now)}
	switch k := s.rng.IntN(10); {
	case k < 4:
		e.Op, e.Body = proto.OpCreate, proto.Marshal(&proto.CreateRequest{Path: "/seq-", Data: []byte("v"), ACL: proto.WorldACL(proto.PermAll), Flags: 2})
	case k < 7:
		e.Op, e.Body = proto.OpSetData, proto.Marshal(&proto.SetDataRequest{Path: "/", Data: fmt.Appendf(nil, "%d", s.reqID), Version: -1})
	case k < 9:
		e.SessionID = 1 + s.rng.Int64N(3)
		e.Op, e.Body = proto.OpCreate, proto.Marshal(&proto.CreateRequest{Path: fmt.Sprintf("/eph-%d-", e.SessionID), ACL: proto.WorldACL(proto.PermAll), Flags: 3})
	default:
		sid := 1 + s.rng.Int64N(3)
		if s.rng.IntN(2) == 0 {
			e = &tree.Entry{Kind: tree.KindCloseSession, Origin: id, ReqID: s.reqID, SessionID: sid, Time: int64(s.now)}
		} else {
			e = &tree.Entry{Kind: tree.KindCreateSession, Origin: id, ReqID: s.reqID, SessionID: sid, Timeout: 10000, Passwd: make([]byte, 16), Time: int64(s.now)}
		}
	}
	_ = m.rn.Propose(e.Marshal()) // dropped without a leader: never acknowledged
}

func (s *sim) leader() *simMember {
	var l *simMember
	for _, m := range s.ms {
		if m.up && m.state == raft.StateLeader {
			if l == nil || m.rn.BasicStatus().Term > l.rn.BasicStatus().Term {
				l = m
			}
		}
	}
	return l
}

// runUntil steps until ok holds, failing after maxTicks raft ticks.
func (s *sim) runUntil(what string, maxTicks int, ok func() bool) {
	s.t.Helper()
	for i := 0; i < maxTicks*simMicro; i++ {
		if ok() {
			return
		}
		s.step()
	}
	if !ok() {
		s.t.Fatalf("not within %d ticks: %s", maxTicks, what)
	}
}

func (s *sim) runTicks(ticks int, each func()) {
	for i := 0; i < ticks*simMicro; i++ {
		if each != nil {
			each()
		}
		s.step()
	}
}

func (s *sim) stableLeader() *simMember {
	s.t.Helper()
	s.runUntil("a leader", 10*simElectionTicks, func() bool { return s.leader() != nil })
	return s.leader()
}

// converge heals everything, restarts crashed members, and waits until every
// member has applied the same last index; then checks that no acknowledged write
// was lost.
func (s *sim) converge() {
	s.t.Helper()
	s.heal()
	for _, m := range s.ms {
		s.restart(m.id)
	}
	s.stableLeader()
	// The healed cluster is live: a write offered to the leader is acknowledged.
	// (One offered to a leader that has not yet heard it was deposed is lost,
	// as a client's would be, so the write is offered again each election timeout.)
	before := s.reqID
	live := func() bool {
		for r := before + 1; r <= s.reqID; r++ {
			if _, ok := s.acked[r]; ok {
				return true
			}
		}
		return false
	}
	for i := 0; i < 20 && !live(); i++ {
		if l := s.leader(); l != nil {
			s.propose(l.id)
		}
		s.runTicks(simElectionTicks, nil)
	}
	if !live() {
		s.t.Fatalf("no write acknowledged within %d ticks after healing", 20*simElectionTicks)
	}
	l := s.stableLeader()
	s.runUntil("every member to apply the same index", 20*simElectionTicks, func() bool {
		for _, m := range s.ms {
			if m.applied != l.applied {
				return false
			}
		}
		return true
	})
	d := l.tree.Digest()
	for _, m := range s.ms {
		if m.tree.Digest() != d {
			s.t.Fatalf("member %d digest %x, leader %d has %x at index %d", m.id, m.tree.Digest(), l.id, d, l.applied)
		}
	}
	seen := map[uint64]uint64{}
	for idx, req := range s.at {
		if req == 0 {
			continue
		}
		if other, ok := seen[req]; ok {
			s.t.Fatalf("request %d applied twice, at %d and %d", req, other, idx)
		}
		seen[req] = idx
	}
	for req, idx := range s.acked {
		if s.at[idx] != req {
			s.t.Fatalf("acknowledged request %d (index %d) lost: index %d holds %d", req, idx, idx, s.at[idx])
		}
	}
}

func (s *sim) traceHash() uint64 {
	h := fnv.New64a()
	h.Write(s.trace)
	return h.Sum64()
}

func otherThan(s *sim, id uint64) []uint64 {
	var out []uint64
	for _, m := range s.ms {
		if m.id != id {
			out = append(out, m.id)
		}
	}
	return out
}

func TestSimLeaderCutOffStepsDown(t *testing.T) {
	s := newSim(t, 1, 3)
	old := s.stableLeader()
	oldTerm := old.rn.BasicStatus().Term
	s.isolate(old.id)
	// Writes offered to the cut-off leader while it still believes it leads.
	first := s.reqID + 1
	for range 5 {
		s.propose(old.id)
	}
	last := s.reqID
	// CheckQuorum: it steps down after an election timeout without hearing a majority.
	s.runUntil("the cut-off leader to step down", 3*simElectionTicks, func() bool { return old.state != raft.StateLeader })
	var newLeader *simMember
	s.runUntil("the majority to elect another leader", 6*simElectionTicks, func() bool {
		newLeader = s.leader()
		return newLeader != nil && newLeader.id != old.id
	})
	if term := newLeader.rn.BasicStatus().Term; term <= oldTerm {
		t.Fatalf("new leader's term %d, old %d", term, oldTerm)
	}
	// The majority keeps committing.
	s.runTicks(5*simElectionTicks, func() {
		if s.now%simMicro == 0 {
			s.propose(newLeader.id)
		}
	})
	s.converge()
	for req := first; req <= last; req++ {
		if _, ok := s.acked[req]; ok {
			t.Fatalf("write %d made to the cut-off leader was acknowledged", req)
		}
	}
	if s.leader().id == old.id && s.leader().rn.BasicStatus().Term == oldTerm {
		t.Fatal("the old leader kept its term")
	}
}

func TestSimRejoinDoesNotDisruptLeader(t *testing.T) {
	s := newSim(t, 2, 3)
	l := s.stableLeader()
	term := l.rn.BasicStatus().Term
	f := otherThan(s, l.id)[0]
	s.isolate(f)
	// Long enough for the cut-off member to time out many times over.
	s.runTicks(20*simElectionTicks, func() {
		if s.now%simMicro == 0 {
			s.propose(l.id)
		}
	})
	s.heal()
	s.runTicks(10*simElectionTicks, nil)
	if now := s.leader(); now != l || now.rn.BasicStatus().Term != term {
		t.Fatalf("leader %d term %d before the partition; after rejoining: leader %v", l.id, term, now.rn.BasicStatus())
	}
	s.converge()
}

func TestSimSnapshotCatchUp(t *testing.T) {
	s := newSim(t, 3, 3)
	s.snapEvery, s.snapKeep = 50, 5
	l := s.stableLeader()
	down := otherThan(s, l.id)[0]
	s.crash(down)
	s.runTicks(40*simElectionTicks, func() { s.propose(l.id) })
	if first, _ := l.st.FirstIndex(); first <= s.member(down).applied+1 {
		t.Fatalf("the leader's log was not compacted past the crashed member (first %d, member applied %d)", first, s.member(down).applied)
	}
	s.restart(down)
	s.converge()
	if s.member(down).snapsIn == 0 {
		t.Fatal("the restarted member caught up without a snapshot")
	}
}

// simRandom runs one seeded random schedule of faults under a steady load.
func simRandom(t testing.TB, seed uint64, ticks int) *sim {
	s := newSim(t, seed, 3)
	s.snapEvery, s.snapKeep = 80, 10
	for tick := 0; tick < ticks; tick++ {
		if tick%8 == 0 {
			switch s.rng.IntN(8) {
			case 0:
				s.heal()
			case 1:
				s.isolate(1 + s.rng.Uint64N(3))
			case 2:
				a, b := 1+s.rng.Uint64N(3), 1+s.rng.Uint64N(3)
				if a != b {
					s.cut[[2]uint64{a, b}] = true // one way
					s.logf("cut %d->%d", a, b)
				}
			case 3:
				s.drop = 0.2
				s.logf("drop")
			case 4:
				s.delay = 3 * simMicro
				s.logf("delay")
			case 5:
				if l := s.leader(); l != nil {
					s.crash(l.id)
				}
			case 6:
				s.crash(1 + s.rng.Uint64N(3))
			case 7:
				for _, m := range s.ms {
					s.restart(m.id)
				}
			}
		}
		s.runTicks(1, func() {
			if s.rng.IntN(3) == 0 {
				s.propose(1 + s.rng.Uint64N(3))
			}
		})
	}
	s.converge()
	return s
}

func TestSimRandomFaults(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 20
	}
	for seed := uint64(100); seed < uint64(100+seeds); seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			s := simRandom(t, seed, 600)
			if len(s.acked) < 50 {
				t.Fatalf("only %d writes acknowledged: the schedule left no progress to check", len(s.acked))
			}
		})
	}
}

func TestSimDeterministic(t *testing.T) {
	a := simRandom(t, 7, 300).traceHash()
	b := simRandom(t, 7, 300).traceHash()
	c := simRandom(t, 8, 300).traceHash()
	if a != b {
		t.Fatalf("seed 7 gave two different runs (%x, %x)", a, b)
	}
	if a == c {
		t.Fatalf("seeds 7 and 8 gave the same run")
	}
}

package raftnode

import (
	"runtime"
	"slices"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// appender is the goroutine that makes raft's log durable (raft's
// LocalAppendThread, with AsyncStorageWrites): it takes the MsgStorageAppend
// messages of the Readys in order, writes every message waiting with one WAL
// Save (one write, one fsync: group commit), makes the entries visible to
// raft's log reader, and only then delivers the responses the messages carry
// (acknowledgements to the leader, votes, raft's own MsgStorageAppendResp).
//
// So the Ready loop never waits for the disk: while a batch is being
// written it sends the next appends, steps acknowledgements, applies what
// is committed and answers clients. (With the synchronous Ready/Advance
// interface every commit waited behind the fsync of whatever batch was being
// written at the time: on a leader, the commit index reached the followers
// and the leader's own clients one fsync late.)
type appender struct {
	n *Node
	c chan raftpb.Message
	// done is closed when the goroutine has ended (after a fatal error, or
	// once c is closed and drained).
	done chan struct{}

	// sent counts the appends handed over (owned by the Ready loop); written
	// those whose Save has returned, so their records are in the WAL ahead of
	// anything written later (see waitWritten). progress is closed and
	// replaced whenever written grows.
	sent uint64
	// ack is the last acknowledgement of appended entries sent to the leader
	// (see skipRepeatedAck); the appender's goroutine alone uses it.
	ack sentAck
	// resps gathers the responses of one Save (the appender's goroutine alone
	// uses it).
	resps    []raftpb.Message
	mu       sync.Mutex
	written  uint64
	progress chan struct{}
}

func newAppender(n *Node) *appender {
	return &appender{n: n, c: make(chan raftpb.Message, 1024), done: make(chan struct{}), progress: make(chan struct{})}
}

// run writes batches until c is closed or a write fails (the process exits;
// in tests, done is closed and the Ready loop ends on it).
func (a *appender) run() {
	defer close(a.done)
	var batch []raftpb.Message
	var buf []raftpb.Entry
	for {
		m, ok := <-a.c
		if !ok {
			return
		}
		batch = append(batch[:0], m)
		// Let the goroutines that are runnable now (the Ready loop, streams
		// from the leader, connections) go first, on this thread, before the
		// fsync blocks it; what they hand over meanwhile joins this batch.
		// When nothing else is runnable this returns at once. Measured under
		// session churn on 3 members (with the Ready loop's yield): context
		// switches per session 25-32 -> 15-16 and the CPU per session about a
		// tenth lower; the fsyncs per session did not change (1.3-1.4).
		runtime.Gosched()
	drain:
		for len(batch) < cap(a.c) {
			select {
			case m, ok := <-a.c:
				if !ok {
					break drain
				}
				batch = append(batch, m)
			default:
				break drain
			}
		}
		if !a.n.persist(batch, &buf) {
			return
		}
		a.noteWritten(uint64(len(batch)))
		clear(batch) // do not pin the entries
	}
}

// noteWritten records that k more appends have been saved and their responses
// delivered, and wakes waitWritten.
func (a *appender) noteWritten(k uint64) {
	a.mu.Lock()
	a.written += k
	close(a.progress)
	a.progress = make(chan struct{})
	a.mu.Unlock()
}

// send hands a MsgStorageAppend to the appender, in Ready order. Only the
// Ready loop calls it.
func (a *appender) send(m raftpb.Message) bool {
	select {
	case a.c <- m:
		a.sent++
		return true
	case <-a.done:
		return false
	}
}

// waitWritten waits until the first n appends handed over have been saved (and
// their responses delivered), and reports whether they were (false: the appender ended first, on a fatal
// error). Any goroutine may call it.
//
// A snapshot of the state applied up to index i must not be recorded in the
// WAL ahead of the HardState whose Commit covers i: on start-up etcd's WAL
// takes only snapshot records at or below the last HardState's Commit, and a
// newer snapshot it does not take, with the segments before it purged, would
// leave nothing to start from. The appends handed over before the snapshot
// was started carry that HardState (the loop hands a Ready's append over
// before it applies the Ready's committed entries), and SaveSnapshot's fsync
// makes it durable along with the record.
func (a *appender) waitWritten(n uint64) bool {
	for {
		a.mu.Lock()
		w, ch := a.written, a.progress
		a.mu.Unlock()
		if w >= n {
			return true
		}
		select {
		case <-ch:
		case <-a.done:
			a.mu.Lock()
			w = a.written
			a.mu.Unlock()
			return w >= n
		}
	}
}

// flush waits until every append handed over so far has been written and its
// responses delivered; false if the appender ended first. Only the Ready loop
// calls it.
func (a *appender) flush() bool { return a.waitWritten(a.sent) }

// stop lets the appender write what it has been given, then waits for it.
func (a *appender) stop() {
	select {
	case <-a.done:
	default:
		close(a.c)
	}
	<-a.done
}

// persist writes the MsgStorageAppends of one batch (no snapshots: those go
// through the Ready loop, see appendSnapshot) and delivers their responses.
// Appends that continue one another are written with one Save; an append
// that overwrites entries of the one before it (a new leader's) starts
// another.
func (n *Node) persist(batch []raftpb.Message, buf *[]raftpb.Entry) bool {
	for i := 0; i < len(batch); {
		ents, hs := batch[i].Entries, hardStateOf(batch[i])
		inBuf := false // ents is *buf (never append to raft's slices)
		j := i + 1
	group:
		for ; j < len(batch); j++ {
			m := &batch[j]
			switch {
			case len(m.Entries) == 0:
			case len(ents) == 0:
				ents = m.Entries
			case m.Entries[0].Index != ents[len(ents)-1].Index+1:
				break group
			default:
				if !inBuf {
					*buf = append((*buf)[:0], ents...)
					inBuf = true
				}
				*buf = append(*buf, m.Entries...)
				ents = *buf
			}
			if h := hardStateOf(*m); !raft.IsEmptyHardState(h) {
				hs = h
			}
		}
		if n.cfg.beforeSave != nil {
			n.cfg.beforeSave()
		}
		if err := n.w.Save(hs, ents); err != nil {
			return n.fatal("WAL save failed", err)
		}
		if len(ents) > 0 {
			n.saves.Add(1)
		}
		if err := n.ms.Append(ents); err != nil {
			return n.fatal("raft storage append failed", err)
		}
		// The responses of the messages written together go out together,
		// with one acknowledgement per leader (see latestAcks).
		resps := n.app.resps[:0]
		for k := i; k < j; k++ {
			resps = append(resps, batch[k].Responses...)
		}
		n.deliver(n.app.skipRepeatedAck(latestAcks(resps, n.cfg.ID), time.Now()))
		clear(resps) // do not pin the messages
		n.app.resps = resps[:0]
		i = j
	}
	clear(*buf)
	*buf = (*buf)[:0]
	return true
}

// hardStateOf is the HardState a MsgStorageAppend carries (empty if none).
func hardStateOf(m raftpb.Message) raftpb.HardState {
	return raftpb.HardState{Term: m.Term, Vote: m.Vote, Commit: m.Commit}
}

// deliver steps the responses meant for this member's raft and sends the
// others to their members.
func (n *Node) deliver(resps []raftpb.Message) {
	var out []raftpb.Message
	for _, r := range resps {
		if r.To == n.cfg.ID {
			_ = n.rn.Step(r) // stale responses (an old term) are ignored by raft
			continue
		}
		out = append(out, r)
	}
	if len(out) > 0 {
		n.tr.Send(out)
	}
}

// latestAcks drops from resps (filtered in place) every acknowledgement of
// appended entries (isAppendAck) that another one in resps, to the same leader
// in the same term, makes redundant: of those only the one with the highest
// index (the last of equals) is kept, where it stands.
//
// The messages one Save wrote each carry their own acknowledgement, and the
// leader would take them one after the other: each costs a write here, and on
// the leader a read, a step and a turn of its Ready loop, and every one that
// moves the commit index sends each follower an append of its own to carry
// it. An acknowledgement of index i says the follower holds the leader's log
// up to i, which says all that one of a lower index says, and raft takes the
// highest it has heard (its Match and its window of appends in flight are
// freed up to it). Three members, session churn with 16 churners, counted
// in one round each: acknowledgements per session from each follower 1.42 ->
// 0.44 (3-4 appends per Save), appends from the leader that carry only the
// commit index 2.31 -> 1.19 per session. System calls and CPU per session did
// not change beyond the noise: the acknowledgements dropped used to leave in
// the same write as the one kept.
func latestAcks(resps []raftpb.Message, self uint64) []raftpb.Message {
	// The acknowledgement kept per leader and term: there is one leader per
	// term, and a Save rarely spans more than one term.
	type kept struct {
		to, term, index uint64
		at              int
	}
	var keep [2]kept
	ks := keep[:0]
	for i := range resps {
		m := &resps[i]
		if !isAppendAck(m, self) {
			continue
		}
		k := 0
		for k < len(ks) && (ks[k].to != m.To || ks[k].term != m.Term) {
			k++
		}
		switch {
		case k == len(ks):
			ks = append(ks, kept{to: m.To, term: m.Term, index: m.Index, at: i})
		case m.Index >= ks[k].index:
			ks[k].index, ks[k].at = m.Index, i
		}
	}
	// Every position kept was chosen above, so writing over the ones before
	// the one being read loses nothing.
	out := resps[:0]
	for i := range resps {
		if isAppendAck(&resps[i], self) && !slices.ContainsFunc(ks, func(k kept) bool { return k.at == i }) {
			continue
		}
		out = append(out, resps[i])
	}
	return out
}

// isAppendAck reports whether m acknowledges appended entries to another member
// (the leader): a MsgAppResp that is not a rejection.
func isAppendAck(m *raftpb.Message, self uint64) bool {
	return m.Type == raftpb.MsgAppResp && !m.Reject && m.To != self
}

// sentAck is an acknowledgement (MsgAppResp, not a rejection) sent to the leader,
// and when.
type sentAck struct {
	to, term, index uint64
	at              time.Time
}

// repeatAckWindow is how long after an acknowledgement an identical one is
// not sent again (a fraction of a heartbeat interval: see skipRepeatedAck).
const repeatAckWindow = 20 * time.Millisecond

// skipRepeatedAck drops from resps an acknowledgement identical to the one
// sent just before it (same leader, term and index).
//
// The leader sends a follower a MsgApp every time its commit index moves, with
// the new entries or, if there are none, with nothing but the commit index,
// and raft answers every MsgApp. The answer to one that only moved the commit
// index repeats the acknowledgement of the entries before it, which tells the
// leader nothing: it costs a write here, and on the leader a read and a wake of
// its Ready loop, for every commit. The follower still learns the commit index
// from the MsgApp and applies as before.
//
// Raft tolerates a lost message, so dropping one is safe; liveness needs the
// leader to hear an acknowledgement again if the first was lost (a broken
// stream, a full send queue): then it asks again with a heartbeat-driven
// MsgApp, and only an identical acknowledgement within repeatAckWindow of the
// last is dropped, so that one (a heartbeat interval later) goes out.
func (a *appender) skipRepeatedAck(resps []raftpb.Message, now time.Time) []raftpb.Message {
	// resps is the appender's own (persist gathers it): it is filtered in place.
	out := resps[:0]
	for _, m := range resps {
		if isAppendAck(&m, a.n.cfg.ID) {
			ack := sentAck{to: m.To, term: m.Term, index: m.Index, at: now}
			if ack.repeats(a.ack) {
				a.n.skippedAcks.Add(1)
				continue
			}
			a.ack = ack
		}
		out = append(out, m)
	}
	return out
}

// repeats reports whether ack says what last said, to the same leader, within
// repeatAckWindow of it.
func (ack sentAck) repeats(last sentAck) bool {
	return ack.to == last.to && ack.term == last.term && ack.index == last.index &&
		ack.at.Sub(last.at) < repeatAckWindow
}

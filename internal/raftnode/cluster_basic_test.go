package raftnode

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestClusterReplicate(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	for _, m := range c.running() {
		want := RoleFollower
		if m.id == lead {
			want = RoleLeader
		}
		if r := m.n.Role(); r != want {
			t.Errorf("member %d role %q, want %q", m.id, r, want)
		}
		mb := m.n.Members()
		if fmt.Sprint(mb.Voters) != "[1 2 3]" || len(mb.Learners) != 0 || len(mb.Addrs) != 3 {
			t.Errorf("member %d membership %+v", m.id, mb)
		}
	}
	// Writes through every member: followers forward to the leader.
	var wg sync.WaitGroup
	for _, m := range c.running() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				if err := c.tryPropose(m.id, fmt.Appendf(nil, "m%d-%d", m.id, i), waitTimeout); err != nil {
					t.Errorf("member %d: %v", m.id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	c.waitConverged()
	distinct := map[string]bool{}
	for _, e := range c.ms[1].sm.snapshotEntries() {
		distinct[string(e)] = true
	}
	if len(distinct) != 90 {
		t.Fatalf("%d distinct entries, want 90", len(distinct))
	}
	// ReadIndex works on followers (raft forwards it to the leader).
	for _, m := range c.running() {
		idx, err := m.n.ReadIndex(ctxT(t))
		if err != nil {
			t.Fatalf("ReadIndex on %d: %v", m.id, err)
		}
		if err := m.n.WaitApplied(ctxT(t), idx); err != nil {
			t.Fatal(err)
		}
	}
	st := c.ms[lead].n.Status()
	if st.Role != RoleLeader || st.Leader != lead || len(st.Match) != 3 || st.Term == 0 {
		t.Fatalf("leader status %+v", st)
	}
}

func TestClusterAppMessages(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	c.waitLeader()
	type got struct {
		to, from uint64
		kind     uint8
		data     string
	}
	var mu sync.Mutex
	var msgs []got
	for _, m := range c.running() {
		m.n.OnApp(func(from uint64, kind uint8, data []byte) {
			mu.Lock()
			msgs = append(msgs, got{m.id, from, kind, string(data)})
			mu.Unlock()
		})
	}
	for i := range 10 {
		if err := c.ms[2].n.SendApp(1, 7, fmt.Appendf(nil, "hb-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.ms[3].n.SendApp(3, 9, []byte("self")); err != nil {
		t.Fatal(err)
	}
	if err := c.ms[3].n.SendApp(42, 9, []byte("nobody")); err == nil {
		t.Fatal("SendApp to an unknown member succeeded")
	}
	waitFor(t, "application messages", func() bool { mu.Lock(); defer mu.Unlock(); return len(msgs) == 11 })
	mu.Lock()
	defer mu.Unlock()
	i := 0
	for _, g := range msgs {
		if g.to == 3 {
			if g.from != 3 || g.kind != 9 || g.data != "self" {
				t.Errorf("self message %+v", g)
			}
			continue
		}
		if g.to != 1 || g.from != 2 || g.kind != 7 || g.data != fmt.Sprintf("hb-%d", i) {
			t.Errorf("message %+v, want hb-%d from 2 to 1 (in order)", g, i)
		}
		i++
	}
}

// TestClusterKillLeader kills the leader (its streams close as a killed
// process's do) and measures how long the survivors take to commit again.
func TestClusterKillLeader(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	var acked [][]byte
	for round := range 3 {
		lead := c.waitLeader()
		for i := range 20 {
			d := fmt.Appendf(nil, "r%d-%d", round, i)
			c.propose(lead, d)
			acked = append(acked, d)
		}
		var via uint64
		for _, m := range c.running() {
			if m.id != lead {
				via = m.id
				break
			}
		}
		t0 := time.Now()
		c.kill(lead)
		d := fmt.Appendf(nil, "after-kill-%d", round)
		if err := c.tryPropose(via, d, waitTimeout); err != nil {
			t.Fatal(err)
		}
		took := time.Since(t0)
		acked = append(acked, d)
		t.Logf("round %d: leader %d killed; a write through %d committed after %v", round, lead, via, took.Round(time.Millisecond))
		// Election timeout here is 200-400ms; fast failover must beat it
		// comfortably even under the race detector.
		if took > time.Second {
			t.Errorf("writes resumed %v after the leader was killed", took)
		}
		for _, m := range c.running() {
			mustContain(t, fmt.Sprintf("member %d", m.id), m.sm, acked[:len(acked)-1])
		}
		c.restart(lead)
		c.waitLeader()
		c.waitConverged()
	}
	for _, m := range c.running() {
		mustContain(t, fmt.Sprintf("member %d", m.id), m.sm, acked)
	}
}

// TestClusterFollowerDeathNoElection: losing a follower must not make the
// other follower campaign.
func TestClusterFollowerDeathNoElection(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	c.propose(lead, []byte("x"))
	term := c.ms[lead].n.Term()
	var victim uint64
	for _, m := range c.running() {
		if m.id != lead {
			victim = m.id
			break
		}
	}
	c.kill(victim)
	for i := range 20 {
		c.propose(lead, fmt.Appendf(nil, "y%d", i))
	}
	if got := c.waitLeader(); got != lead || c.ms[lead].n.Term() != term {
		t.Fatalf("leader %d term %d after a follower died; was %d term %d", got, c.ms[lead].n.Term(), lead, term)
	}
}

// TestClusterFrozenLeader isolates the leader without closing any stream
// (as SIGSTOP or a partition does): the others elect a leader after the
// election timeout, and the old leader steps down and catches up on heal.
func TestClusterFrozenLeader(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	c.propose(lead, []byte("before"))
	var others []uint64
	for _, m := range c.running() {
		if m.id != lead {
			others = append(others, m.id)
		}
	}
	t0 := time.Now()
	c.faults.Isolate(lead)
	if err := c.tryPropose(others[0], []byte("during"), waitTimeout); err != nil {
		t.Fatal(err)
	}
	t.Logf("leader %d isolated; a write through %d committed after %v (election timeout %v)",
		lead, others[0], time.Since(t0).Round(time.Millisecond), 10*testTick)
	// The isolated leader cannot commit; CheckQuorum makes it step down.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	_ = c.ms[lead].n.Propose(ctx, []byte("minority"))
	cancel()
	waitFor(t, "the isolated leader to step down", func() bool { return !c.ms[lead].n.IsLeader() })
	c.faults.Heal()
	newLead := c.waitLeader()
	c.propose(newLead, []byte("after"))
	c.waitConverged()
	if c.ms[lead].sm.has([]byte("minority")) {
		t.Fatal("a write proposed on the minority side was committed")
	}
}

// TestClusterPartition cuts a follower off: the majority keeps committing,
// the minority cannot, and after healing it catches up.
func TestClusterPartition(t *testing.T) {
	c := newCluster(t, 5, nil, nil)
	lead := c.waitLeader()
	var minority, majority []uint64
	for _, m := range c.running() {
		if m.id != lead && len(minority) < 2 {
			minority = append(minority, m.id)
		} else {
			majority = append(majority, m.id)
		}
	}
	c.faults.Partition(minority, majority)
	for i := range 50 {
		c.propose(lead, fmt.Appendf(nil, "maj-%d", i))
	}
	// The minority side has no quorum: nothing proposed there commits.
	for _, id := range minority {
		if err := c.tryPropose(id, fmt.Appendf(nil, "min-%d", id), 400*time.Millisecond); err == nil {
			t.Fatalf("member %d committed a write in the minority", id)
		}
	}
	c.faults.Heal()
	c.waitLeader()
	c.propose(majority[0], []byte("healed"))
	c.waitConverged()
	for _, id := range minority {
		mustContain(t, fmt.Sprintf("member %d", id), c.ms[id].sm, [][]byte{[]byte("maj-49"), []byte("healed")})
	}
}

// TestClusterLossyNetwork replicates through dropped and delayed messages.
func TestClusterLossyNetwork(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	c.waitLeader()
	c.faults.SetDrop(0.1)
	c.faults.SetDelay(time.Millisecond, 5*time.Millisecond)
	for i := range 40 {
		c.propose(uint64(1+i%3), fmt.Appendf(nil, "lossy-%d", i))
	}
	c.faults.Heal()
	c.waitConverged()
	if c.faults.Dropped() == 0 {
		t.Fatal("no message was dropped")
	}
}

func TestClusterGracefulStopTransfers(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	c.propose(lead, []byte("x"))
	term := c.ms[lead].n.Term()
	t0 := time.Now()
	c.stop(lead)
	took := time.Since(t0)
	newLead := c.waitLeader()
	t.Logf("graceful stop of leader %d took %v; new leader %d", lead, took.Round(time.Millisecond), newLead)
	// A transfer is one election without pre-vote: exactly one term later,
	// and the stop waited for it rather than an election timeout.
	if nt := c.ms[newLead].n.Term(); nt != term+1 {
		t.Errorf("term went from %d to %d; a leadership transfer takes exactly one", term, nt)
	}
	c.propose(newLead, []byte("y"))
	// TransferLeadership explicitly, between the survivors.
	var other uint64
	for _, m := range c.running() {
		if m.id != newLead {
			other = m.id
		}
	}
	if err := c.ms[other].n.TransferLeadership(ctxT(t), newLead); !errors.Is(err, ErrNotLeader) {
		t.Fatalf("TransferLeadership on a follower = %v", err)
	}
	c.restart(lead)
	c.waitLeader()
	if err := c.ms[newLead].n.TransferLeadership(ctxT(t), lead); err != nil {
		t.Fatal(err)
	}
	if got := c.waitLeader(); got != lead {
		t.Fatalf("leader %d after transfer to %d", got, lead)
	}
	if err := c.ms[lead].n.TransferLeadership(ctxT(t), 99); !errors.Is(err, ErrNotMember) {
		t.Fatalf("TransferLeadership to a non-member = %v", err)
	}
	c.waitConverged()
}

// TestClusterRestartFromLog restarts every member without Peers: the
// membership and addresses come from the log.
func TestClusterRestartFromLog(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	for i := range 10 {
		c.propose(lead, fmt.Appendf(nil, "e%d", i))
	}
	c.waitConverged()
	before := c.ms[1].sm.state()
	c.stopAll()
	c.peers = nil
	for _, id := range []uint64{1, 2, 3} {
		c.restart(id)
	}
	lead = c.waitLeader()
	c.propose(lead, []byte("after-restart"))
	c.waitConverged()
	if got := c.ms[1].sm.count(); got != before.n+1 {
		t.Fatalf("%d entries after restart, want %d", got, before.n+1)
	}
	if mb := c.ms[2].n.Members(); len(mb.Addrs) != 3 || mb.Addrs[1] != c.ms[1].addr {
		t.Fatalf("addresses rebuilt from the log: %+v", mb)
	}
}

func TestClusterIdentity(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	c.waitLeader()
	c.stop(2)
	m := c.ms[2]
	// Another id on member 2's data dir.
	cfg := c.config(m, nil, false)
	cfg.ID = 3
	if _, err := Start(cfg, &fakeSM{}); err == nil || !strings.Contains(err.Error(), "belongs to member") {
		t.Fatalf("Start with another id = %v", err)
	}
	// Another cluster id.
	cfg = c.config(m, nil, false)
	cfg.ClusterID = "other"
	if _, err := Start(cfg, &fakeSM{}); err == nil || !strings.Contains(err.Error(), "belongs to cluster") {
		t.Fatalf("Start with another cluster id = %v", err)
	}
	// A fresh member whose id is not among the peers, without Join.
	cfg = c.config(&member{id: 9, dir: t.TempDir(), addr: "127.0.0.1:0"}, nil, false)
	if _, err := Start(cfg, &fakeSM{}); err == nil || !strings.Contains(err.Error(), "not in the initial peers") {
		t.Fatalf("Start of an unlisted member = %v", err)
	}
}

// Concurrent ReadIndex callers share raft reads, and each still gets an index
// covering every write committed before its call.
func TestReadIndexBatchesCallers(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	var f *member
	for _, m := range c.running() {
		if m.id != lead {
			f = m
			break
		}
	}
	if err := c.tryPropose(lead, []byte("before"), waitTimeout); err != nil {
		t.Fatal(err)
	}
	committed := c.ms[lead].n.AppliedIndex()
	const callers = 200
	before := f.n.reads.Load()
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			idx, err := f.n.ReadIndex(ctxT(t))
			if err != nil {
				t.Errorf("ReadIndex: %v", err)
				return
			}
			if idx < committed {
				t.Errorf("ReadIndex %d on a follower, below the index %d committed before the call", idx, committed)
			}
		}()
	}
	close(start)
	wg.Wait()
	if sent := f.n.reads.Load() - before; sent == 0 || sent > callers/4 {
		t.Fatalf("%d callers sent %d raft reads; want them batched", callers, sent)
	} else {
		t.Logf("%d callers, %d raft reads", callers, sent)
	}
}

// Serial writes: every commit moves the commit index with no new entries to send,
// so the leader's MsgApp carries only the commit and the followers' answers repeat
// their last acknowledgement. Those repeats are not sent, and replication goes on.
func TestFollowersSkipRepeatedAcks(t *testing.T) {
	c := newCluster(t, 3, nil, nil)
	lead := c.waitLeader()
	for i := range 40 {
		if err := c.tryPropose(lead, fmt.Appendf(nil, "serial-%d", i), waitTimeout); err != nil {
			t.Fatal(err)
		}
	}
	c.waitConverged()
	var skipped uint64
	for _, m := range c.running() {
		if m.id != lead {
			skipped += m.n.skippedAcks.Load()
		}
	}
	if skipped == 0 {
		t.Fatal("followers sent every repeated acknowledgement")
	}
	t.Logf("followers skipped %d repeated acknowledgements over 40 serial writes", skipped)
}

package server

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/transport"
	"github.com/corral-io/corral/proto"
)

// leaderAndFollower returns the leader of ss and one follower.
func leaderAndFollower(t *testing.T, ss []*Server) (leader, follower *Server) {
	t.Helper()
	for _, s := range ss {
		if s.node.IsLeader() {
			leader = s
		} else if follower == nil {
			follower = s
		}
	}
	if leader == nil || follower == nil {
		t.Fatal("no leader and follower")
	}
	return leader, follower
}

// The ConnectResponse of a new session leaves before its createSession entry
// commits. A client that loses that connection at once and reattaches to another
// member must still find its session there: that member waits for the entry.
func TestReattachElsewhereRightAfterConnect(t *testing.T) {
	faults := transport.NewFaults()
	ss := testCluster(t, faults, alwaysEarly)
	leader, creator := leaderAndFollower(t, ss)
	var other *Server
	for _, s := range ss {
		if s != leader && s != creator {
			other = s
		}
	}
	// The creating follower's messages reach the leader 0.4 s late, so the
	// other follower's read barrier completes before the createSession entry is
	// even proposed to the leader; the leader keeps its quorum with the other.
	faults.DelayOneWay(creator.cfg.ID, leader.cfg.ID, 400*time.Millisecond)
	defer faults.Heal()

	nc := rawSession(t, creator, 10000)
	sid, pw := rawSessionID(nc)
	nc.Close()
	start := time.Now()
	r, ok := reattach(t, other, sid, pw)
	if !ok || r.TimeOut <= 0 || r.SessionID != sid {
		t.Fatalf("reattach on another member right after connect: %+v (answered %v), want the session", r, ok)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Fatalf("the reattach was answered in %v, before the createSession entry could commit: the test did not set up the race", time.Since(start))
	}
}

// alwaysEarly makes members answer a new session before its createSession commits
// whatever their contact with the leader (an idle cluster's heartbeats are further
// apart than the default window).
func alwaysEarly(c *Config) { c.EarlyConnectWindow = time.Hour }

// A member that has not heard from its leader for longer than the window does not
// answer a new session before its creation commits: right after a partition the
// client must not be given a session that is then lost, with its first requests.
func TestConnectOnCutOffMemberWaitsForCommit(t *testing.T) {
	faults := transport.NewFaults()
	ss := testCluster(t, faults, func(c *Config) { c.EarlyConnectWindow = 50 * time.Millisecond })
	_, follower := leaderAndFollower(t, ss)
	faults.Isolate(follower.cfg.ID)
	defer faults.Heal()
	time.Sleep(100 * time.Millisecond)
	if follower.node.Leader() == 0 {
		t.Fatal("precondition: the follower noticed its isolation already")
	}
	nc := dial(t, follower)
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	writeFrame(t, nc, connectBody(10000, 0, make([]byte, 16), true))
	frame, err := proto.ReadFrame(nc, 1<<20, nil)
	if err == nil {
		var r proto.ConnectResponse
		proto.Unmarshal(frame, &r)
		if r.TimeOut > 0 {
			t.Fatalf("a member cut off from its leader gave a new session at once: %+v", r)
		}
	}
}

// If the createSession entry of a new session never commits (its member is cut off
// from the quorum without knowing it yet), no request of the session is
// acknowledged, the connection is closed, and the session does not exist
// afterwards: the client learns on reconnecting that it expired.
func TestLostCreateSession(t *testing.T) {
	faults := transport.NewFaults()
	ss := testCluster(t, faults, alwaysEarly)
	leader, follower := leaderAndFollower(t, ss)
	faults.Isolate(follower.cfg.ID)
	if follower.node.Leader() == 0 {
		t.Fatal("precondition: the follower noticed its isolation before the test could connect")
	}

	nc := rawSession(t, follower, 10000)
	sid, pw := rawSessionID(nc)
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.RequestHeader{Xid: 1, Type: proto.OpCreate}).Encode(e)
	(&proto.CreateRequest{Path: "/lost", ACL: proto.WorldACL(proto.PermAll), Flags: 1}).Encode(e)
	proto.EndFrame(e, off)
	nc.Write(e.Bytes())
	nc.SetDeadline(time.Now().Add(15 * time.Second))
	frame, err := proto.ReadFrame(nc, 1<<20, nil)
	if err == nil {
		var h proto.ReplyHeader
		proto.Unmarshal(frame, &h)
		if h.Err == proto.ErrOK {
			t.Fatalf("create acknowledged although the session was never created: %+v", h)
		}
	} else if !errors.Is(err, io.EOF) && !isConnReset(err) {
		t.Fatalf("want the connection closed, got %v", err)
	}

	faults.Heal()
	waitUntil(t, "the follower to rejoin", func() bool { return follower.node.Leader() != 0 })
	// (A member waits up to newSessionGrace for a young session it does not know
	// before it answers.)
	r, ok := reattach(t, follower, sid, pw)
	if !ok || r.TimeOut != 0 {
		t.Fatalf("reattach of a session whose creation was lost: %+v (answered %v), want expired", r, ok)
	}
	if hasSession(leader, sid) || hasSession(follower, sid) {
		t.Fatal("the lost session exists")
	}
	leader.mu.RLock()
	_, exists := leader.tree.Stat("/lost")
	leader.mu.RUnlock()
	if exists {
		t.Fatal("the lost session's ephemeral exists")
	}
}

func isConnReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

func TestNewSessionIDs(t *testing.T) {
	s := &Server{cfg: Config{ID: 200}}
	s.nextSID.Store(sessionIDAt(200, time.Now()))
	seen := map[int64]bool{}
	prev := int64(-1 << 63)
	for range 100000 {
		id := s.newSessionID()
		if seen[id] || id <= prev {
			t.Fatalf("session id 0x%x repeats or goes down (previous 0x%x)", uint64(id), uint64(prev))
		}
		if uint64(id)>>56 != 200 {
			t.Fatalf("session id 0x%x does not carry member 200 in its high byte", uint64(id))
		}
		if w := creationWait(id, time.Now()); w < newSessionGrace-100*time.Millisecond {
			t.Fatalf("a session id just made leaves a wait of %v, want about %v", w, newSessionGrace)
		}
		seen[id], prev = true, id
	}
	now := time.Now()
	for _, c := range []struct {
		created time.Time
		want    time.Duration
	}{
		{now.Add(-400 * time.Millisecond), 600 * time.Millisecond},
		{now.Add(-newSessionGrace), 0},
		{now.Add(-time.Hour), 0},
		{now.Add(3 * time.Second), newSessionGrace}, // the creator's clock is ahead
		{now.Add(time.Hour), 0},                     // not a time of this scheme
	} {
		if got := creationWait(sessionIDAt(7, c.created), now); got != c.want {
			t.Errorf("creationWait for a session created %v from now = %v, want %v", c.created.Sub(now), got, c.want)
		}
	}
}

// A new session's creation rides with its first write: connecting and creating an
// ephemeral take one log entry, and every member then knows the session and its node.
func TestSessionCreationFoldedIntoFirstWrite(t *testing.T) {
	ss := testCluster(t, nil, alwaysEarly)
	_, follower := leaderAndFollower(t, ss)
	before := follower.applied.Load()
	nc := rawSession(t, follower, 10000)
	sid, _ := rawSessionID(nc)
	h := rawCall(t, nc, 1, proto.OpCreate, &proto.CreateRequest{Path: "/folded", ACL: proto.WorldACL(proto.PermAll), Flags: 1})
	if h.Err != proto.ErrOK {
		t.Fatalf("create: %+v", h)
	}
	if h.Zxid != before+1 {
		t.Errorf("connect and create took log entries %d..%d, want one", before+1, h.Zxid)
	}
	for _, s := range ss {
		waitUntil(t, "every member to apply the create", func() bool { return s.applied.Load() >= h.Zxid })
		s.mu.RLock()
		st, ok := s.tree.Stat("/folded")
		_, open := s.tree.Session(sid)
		s.mu.RUnlock()
		if !ok || st.EphemeralOwner != sid || !open {
			t.Errorf("member %d: /folded %+v (exists %v), session open %v", s.cfg.ID, st, ok, open)
		}
	}
}

// A session closed before it wrote anything never reaches the log: the close is
// acknowledged and the connection closed, and no member ever knew the session.
func TestSessionClosedBeforeAnyWrite(t *testing.T) {
	ss := testCluster(t, nil, alwaysEarly)
	_, follower := leaderAndFollower(t, ss)
	before := follower.applied.Load()
	nc := rawSession(t, follower, 10000)
	sid, pw := rawSessionID(nc)
	if h := rawCall(t, nc, 1, proto.OpExists, &proto.PathWatchRequest{Path: "/"}); h.Err != proto.ErrOK || h.Xid != 1 {
		t.Fatalf("exists: %+v", h)
	}
	if h := rawCall(t, nc, 2, proto.OpCloseSession, nil); h.Err != proto.ErrOK || h.Xid != 2 {
		t.Fatalf("closeSession: %+v", h)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := proto.ReadFrame(nc, 1<<20, nil); !errors.Is(err, io.EOF) && !isConnReset(err) {
		t.Fatalf("after closeSession: want the connection closed, got %v", err)
	}
	time.Sleep(2 * newSessionDelay)
	for _, s := range ss {
		if hasSession(s, sid) {
			t.Errorf("member %d knows the closed session", s.cfg.ID)
		}
		if got := s.applied.Load(); got != before {
			t.Errorf("member %d applied up to %d, want %d: the session reached the log", s.cfg.ID, got, before)
		}
	}
	if r, ok := reattach(t, follower, sid, pw); !ok || r.TimeOut != 0 {
		t.Errorf("reattach to the closed session: %+v (answered %v), want expired", r, ok)
	}
}

// A session that only reads is still registered with the cluster, newSessionDelay
// after it connected, so that it survives its member: reattached elsewhere, it is
// the same session.
func TestSessionWithoutWritesIsRegistered(t *testing.T) {
	ss := testCluster(t, nil, alwaysEarly)
	leader, follower := leaderAndFollower(t, ss)
	nc := rawSession(t, follower, 10000)
	defer nc.Close()
	sid, pw := rawSessionID(nc)
	waitUntil(t, "every member to know the session", func() bool {
		for _, s := range ss {
			if !hasSession(s, sid) {
				return false
			}
		}
		return true
	})
	if r, ok := reattach(t, leader, sid, pw); !ok || r.TimeOut <= 0 || r.SessionID != sid {
		t.Fatalf("reattach on the leader: %+v (answered %v), want the session", r, ok)
	}
}

// rawCall sends one request (req may be nil) and reads the reply's header.
func rawCall(t *testing.T, nc net.Conn, xid int32, op proto.OpCode, req proto.Record) proto.ReplyHeader {
	t.Helper()
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.RequestHeader{Xid: xid, Type: op}).Encode(e)
	if req != nil {
		req.Encode(e)
	}
	proto.EndFrame(e, off)
	if _, err := nc.Write(e.Bytes()); err != nil {
		t.Fatalf("write: %v", err)
	}
	return readReply(t, nc)
}

package server

import (
	"context"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/transport"
	"github.com/corral-io/corral/internal/tree"
	"github.com/corral-io/corral/proto"
)

// testCluster starts three in-process members on loopback that share faults.
func testCluster(t *testing.T, faults *transport.Faults, mods ...func(*Config)) []*Server {
	t.Helper()
	peers := map[uint64]string{}
	for id := uint64(1); id <= 3; id++ {
		peers[id] = corralproc.FreePeerAddr(t)
	}
	var ss []*Server
	for id := uint64(1); id <= 3; id++ {
		ss = append(ss, testServer(t, "", func(c *Config) {
			c.ID = id
			c.Peers = peers
			c.PeerAddr = peers[id]
			c.PeerFaults = faults
			for _, m := range mods {
				m(c)
			}
		}))
	}
	waitUntil(t, "a leader known to every member", func() bool {
		for _, s := range ss {
			if s.node.Leader() == 0 {
				return false
			}
		}
		return true
	})
	var leader *Server
	waitUntil(t, "a member that knows it leads", func() bool {
		for _, s := range ss {
			if s.node.IsLeader() {
				leader = s
				return true
			}
		}
		return false
	})
	settle(t, leader, ss)
	return ss
}

// settle commits one entry through the leader (closing a session that does not
// exist) and waits until every member has applied it, so that the entries of the
// cluster's start (the new leader's empty entry among them) are behind every member
// before a test counts what it adds to the log.
func settle(t *testing.T, leader *Server, ss []*Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := leader.proposeWait(ctx, &tree.Entry{Kind: tree.KindCloseSession, SessionID: 1}); err != nil {
		t.Fatalf("settling the cluster: %v", err)
	}
	at := leader.applied.Load()
	for _, s := range ss {
		waitUntil(t, "every member to apply the settling entry", func() bool { return s.applied.Load() >= at })
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func hasSession(s *Server, sid int64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.tree.Session(sid)
	return ok
}

// reattach sends a ConnectRequest for an existing session and returns the
// response, or ok false if the member closed the connection without one.
func reattach(t *testing.T, s *Server, sid int64, pw []byte) (r proto.ConnectResponse, ok bool) {
	t.Helper()
	nc := dial(t, s)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	writeFrame(t, nc, connectBody(10000, sid, pw, true))
	frame, err := proto.ReadFrame(nc, 1<<20, nil)
	if err != nil {
		return r, false
	}
	if err := proto.Unmarshal(frame, &r); err != nil {
		t.Fatal(err)
	}
	return r, true
}

// A member that has not yet applied a committed closeSession must not tell a
// client reattaching to that session that it is still alive (the session's
// expiry, and the deletion of its ephemerals, is cluster-wide before any client
// can see the session alive again).
func TestReattachAfterCommittedCloseOnLaggingMember(t *testing.T) {
	faults := transport.NewFaults()
	leader, lagger := leaderAndFollower(t, testCluster(t, faults))

	nc := rawSession(t, leader, 10000)
	sid, pw := rawSessionID(nc)
	rawCreate(t, nc, 1, "/eph", 1)
	waitUntil(t, "the follower to apply the session", func() bool { return hasSession(lagger, sid) })

	// Cut the follower off and close the session through the leader: the
	// close commits with the other two members.
	faults.Isolate(lagger.cfg.ID)
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.RequestHeader{Xid: 2, Type: proto.OpCloseSession}).Encode(e)
	proto.EndFrame(e, off)
	nc.Write(e.Bytes())
	if h := readReply(t, nc); h.Err != proto.ErrOK {
		t.Fatalf("closeSession: %+v", h)
	}
	nc.Close()

	// The follower still holds the session and still believes in its leader:
	// the window this test is about.
	if !hasSession(lagger, sid) || lagger.node.Leader() == 0 {
		t.Fatalf("precondition: follower has session %v, knows leader %v", hasSession(lagger, sid), lagger.node.Leader())
	}
	if r, ok := reattach(t, lagger, sid, pw); ok && r.TimeOut > 0 {
		t.Fatalf("a member that has not applied the committed close accepted the session: %+v", r)
	}

	// Once healed, the follower applies the close and refuses the session as expired.
	faults.Heal()
	waitUntil(t, "the follower to apply the close", func() bool { return !hasSession(lagger, sid) })
	r, ok := reattach(t, lagger, sid, pw)
	if !ok || r.TimeOut != 0 {
		t.Fatalf("reattach of a closed session after heal: %+v (answered %v), want timeout 0", r, ok)
	}

	// A live session still moves from one member to another.
	nc2 := rawSession(t, leader, 10000)
	defer nc2.Close()
	sid2, pw2 := rawSessionID(nc2)
	r, ok = reattach(t, lagger, sid2, pw2)
	if !ok || r.TimeOut <= 0 || r.SessionID != sid2 {
		t.Fatalf("reattach of a live session on a follower: %+v (answered %v)", r, ok)
	}
}

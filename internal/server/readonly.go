package server

import (
	"crypto/rand"
	"time"

	"github.com/corral-io/corral/proto"
)

// Read-only mode (ZooKeeper's readonlymode.enabled): a member cut off from the
// quorum keeps serving reads to clients that said they accept a read-only server
// (canBeReadOnly). Such a client gets a session local to this member, which no
// other member knows: writes answer NOTREADONLY, and when the member rejoins a
// quorum its read-only connections are closed so the clients move to a read-write
// server (where a Java or kazoo client that never saw one opens a fresh session).

// roDelay is how long a member of a cluster must be without a leader before it
// serves read-only clients: longer than an election, so a leader change does not
// flip it.
const roDelay = 2 * time.Second

// updateReadOnly enters or leaves read-only mode; called periodically.
func (s *Server) updateReadOnly(now time.Time) {
	if !s.cfg.ReadOnlyMode || !s.clustered() {
		return
	}
	noLeader := s.node.Leader() == 0
	since := time.Unix(0, s.leaderChangedAt.Load())
	switch {
	case noLeader && !s.readOnly.Load() && now.Sub(since) > roDelay:
		s.readOnly.Store(true)
		s.log.Warn("no quorum: serving read-only clients only")
	case !noLeader && s.readOnly.Load():
		s.readOnly.Store(false)
		s.log.Info("quorum regained: leaving read-only mode")
		for _, c := range s.connList() {
			if c.readOnly {
				c.closeAfterFlush("the member is read-write again")
			}
		}
	}
}

// readOnlySession opens a session local to this member for a read-only client.
func (c *conn) readOnlySession(req *proto.ConnectRequest) (reason string, wait bool) {
	s := c.s
	timeout := s.negotiateTimeout(req.TimeOut)
	sid, passwd := req.SessionID, req.Passwd
	if sid != 0 {
		// An existing session may look around read-only if this member knows it.
		s.mu.RLock()
		_, known := s.tree.Session(sid)
		s.mu.RUnlock()
		if !known {
			sid = 0
		}
	}
	if sid == 0 {
		sid = s.newSessionID()
		passwd = make([]byte, 16)
		rand.Read(passwd)
	}
	c.readOnly = true
	c.sessionID.Store(sid)
	c.timeout.Store(timeout)
	s.log.Info("read-only session", "remote", c.remote, "session", sessionHex(sid))
	c.mu.Lock()
	c.queueLocked(connectFrame(&proto.ConnectResponse{TimeOut: timeout, SessionID: sid, Passwd: passwd,
		ReadOnly: true, OldClient: req.OldClient}))
	c.mu.Unlock()
	return "", false
}

// notReadOnly answers a write (or sync) on a read-only connection.
func (c *conn) notReadOnly(r *request) {
	r.kind = kindLocal
	r.done = true
	r.frame = replyFrame(r.xid, c.s.applied.Load(), proto.ErrNotReadOnly, nil)
	if r.op == proto.OpCloseSession {
		r.frame = replyFrame(r.xid, c.s.applied.Load(), proto.ErrOK, nil)
		r.closeAfter = true
	}
	c.enqueue(r)
}

package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/corral-io/corral/internal/tree"
	"github.com/corral-io/corral/proto"
)

// handshake answers the ConnectRequest in body. It returns a reason to close the
// connection now, or "" to go on; wait reports that a final reply was queued and the
// connection closes once it is written.
func (c *conn) handshake(body []byte) (reason string, wait bool) {
	s := c.s
	var req proto.ConnectRequest
	if err := proto.Unmarshal(body, &req); err != nil {
		return "malformed connect request: " + err.Error(), false
	}
	c.oldClient = req.OldClient
	if applied := s.applied.Load(); req.LastZxidSeen > applied {
		return fmt.Sprintf("client has seen zxid 0x%x, newer than this server's 0x%x; it must try another server",
			req.LastZxidSeen, applied), false
	}
	if why := s.divergence.Load(); why != nil {
		return "not serving: " + *why, false
	}
	if !s.node.IsMember(s.cfg.ID) {
		return "this member is not (or no longer) part of the cluster", false
	}
	if s.node.Leader() == 0 {
		if s.readOnly.Load() && req.ReadOnly {
			return c.readOnlySession(&req)
		}
		// Cut off from the quorum (or electing): let the client try another member.
		return "no leader: this member cannot serve sessions now", false
	}
	timeout := s.negotiateTimeout(req.TimeOut)
	sid, passwd := req.SessionID, req.Passwd
	var createEntry *tree.Entry
	deferred := false
	if sid == 0 {
		sid = s.newSessionID()
		passwd = make([]byte, 16)
		rand.Read(passwd)
		createEntry = &tree.Entry{Kind: tree.KindCreateSession, SessionID: sid, Timeout: timeout, Passwd: passwd}
		if s.cfg.EarlyConnectWindow > 0 && s.node.ContactWithin(s.cfg.EarlyConnectWindow) {
			// The ConnectResponse goes at once, and the session's creation is
			// proposed later: with its first write, in the same entry (connect and
			// create an ephemeral is how most sessions start, and then they cost one
			// entry less), or on its own once the session has gone newSessionDelay
			// without a write, or its connection closes (see registerSession). Its
			// writes are proposed after it or with it, so none can get ahead of the
			// session's creation in the log (a write from a session not created
			// fails SESSIONEXPIRED at apply), and its reads need nothing from the
			// log. Only while this member hears from its leader (or quorum)
			// continuously, as under load: right after a partition the creation
			// could be lost, where waiting lets the client retry elsewhere unharmed.
			// If it is lost anyway, the client learns on its next write, or on
			// reconnecting, that the session expired.
			deferred = true
		} else {
			// Bounded by the proposal timeout: a proposal lost to a leader change
			// must not keep the client waiting for a whole session timeout.
			wait := min(time.Duration(timeout)*time.Millisecond, s.proposalTimeout())
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			res, err := s.proposeWait(ctx, createEntry)
			cancel()
			if err != nil {
				return "could not create session: " + err.Error(), false
			}
			if res.Err != proto.ErrOK {
				return "could not create session: " + res.Err.String(), false
			}
		}
	} else {
		// Validate against the committed state, not only what this member has
		// applied: a member whose apply lags (or that is cut off but does not know
		// it yet) may still hold a session whose close is already committed, and
		// must not tell the client it is still alive. ZooKeeper's followers ask
		// the leader (Learner.validateSession); a read barrier does the same.
		s.connMu.Lock()
		prev := s.sessConns[sid]
		s.connMu.Unlock()
		if prev != nil {
			// The session's previous connection here may not have proposed its
			// creation yet: now it must.
			prev.registerSession()
		}
		if err := s.readBarrier(min(time.Duration(timeout)*time.Millisecond, s.proposalTimeout())); err != nil {
			return "could not validate session " + sessionHex(sid) + " with the leader: " + err.Error(), false
		}
		s.mu.RLock()
		si, ok := s.tree.Session(sid)
		s.mu.RUnlock()
		if wait := creationWait(sid, time.Now()); !ok && wait > 0 {
			// The ConnectResponse of a new session may leave before its
			// createSession entry commits (see above): a client that lost that
			// connection at once may be here before the entry. Wait for it a little.
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			si, ok = s.awaitSession(ctx, sid)
			cancel()
		}
		if !ok || !bytes.Equal(si.Passwd, passwd) {
			// ZooKeeper's answer to an expired or unknown session: timeout 0.
			c.mu.Lock()
			c.queueLocked(connectFrame(&proto.ConnectResponse{Passwd: make([]byte, 16), OldClient: req.OldClient}))
			c.flushThen = true
			c.mu.Unlock()
			c.wake()
			what := "expired or unknown session"
			if ok {
				what = "wrong password for session"
			}
			s.log.Info("refused session", "remote", c.remote, "session", sessionHex(sid), "reason", what)
			return "", true
		}
		s.sessions.setTimeout(sid, time.Duration(timeout)*time.Millisecond)
	}
	c.sessionID.Store(sid)
	c.timeout.Store(timeout)
	s.sessions.touch(sid, time.Now())
	s.connMu.Lock()
	old := s.sessConns[sid]
	s.sessConns[sid] = c
	s.connMu.Unlock()
	if old != nil && old != c {
		old.close("session moved to a new connection")
	}
	if deferred {
		c.regMu.Lock()
		c.newSession = createEntry
		c.hasNewSession.Store(true)
		c.regTimer = time.AfterFunc(newSessionDelay, func() { c.registerSession() })
		c.regMu.Unlock()
	}
	// Written here: the connection's writer starts after the handshake (so nothing
	// can be written ahead of this), and a client waits for nothing else.
	c.nc.SetWriteDeadline(time.Now().Add(s.writeTimeout()))
	if _, err := c.nc.Write(connectFrame(&proto.ConnectResponse{TimeOut: timeout, SessionID: sid, Passwd: passwd, OldClient: req.OldClient})); err != nil {
		return "write: " + err.Error(), false
	}
	s.stats.sent.Add(1)
	c.stats.sent.Add(1)
	return "", false
}

func connectFrame(r *proto.ConnectResponse) []byte {
	e := proto.NewEncoder(make([]byte, 0, 48))
	off := proto.BeginFrame(e)
	r.Encode(e)
	proto.EndFrame(e, off)
	return e.Bytes()
}

// negotiateTimeout clamps a requested session timeout to [min, max], as ZooKeeper does.
func (s *Server) negotiateTimeout(req int32) int32 {
	t := time.Duration(req) * time.Millisecond
	if t < s.cfg.MinSessionTimeout {
		t = s.cfg.MinSessionTimeout
	}
	if t > s.cfg.MaxSessionTimeout {
		t = s.cfg.MaxSessionTimeout
	}
	return int32(t / time.Millisecond)
}

// Session ids: the creating member's id in the high byte (as ZooKeeper's), then the
// creation time in milliseconds (40 bits, wrapping every 34 years), then a count
// within the millisecond (16 bits). The time lets any member tell a session created
// moments ago, whose createSession entry may still be on its way to commit, from one
// that is gone (see creationWait).
const (
	sidTimeBits  = 40
	sidCountBits = 16
	sidTimeMask  = 1<<sidTimeBits - 1
)

func sessionIDAt(member uint64, now time.Time) int64 {
	t := uint64(now.UnixMilli()) & sidTimeMask
	return int64(member<<56 | t<<sidCountBits)
}

// newSessionID returns a session id not used before by this member: never below the
// id of the current millisecond, and always above the last one handed out.
func (s *Server) newSessionID() int64 {
	for {
		old := s.nextSID.Load()
		id := max(sessionIDAt(s.cfg.ID, time.Now()), old+1)
		if !s.nextSID.CompareAndSwap(old, id) {
			continue
		}
		if id != proto.ContainerOwner && id != 0 {
			return id
		}
	}
}

// newSessionDelay is how long a new session's creation may wait to be proposed with
// its first write (see handshake) before it is proposed on its own. Until then only
// the member holding its connection knows the session: were that member to fail, the
// client would find the session expired on reconnecting elsewhere.
const newSessionDelay = 50 * time.Millisecond

// registerSession proposes the creation of the connection's session if that is still
// to be done (see handshake). A failed proposal closes the connection: the client
// learns on reconnecting whether the session was created.
func (c *conn) registerSession() {
	c.regMu.Lock()
	var err error
	if e := c.takeNewSessionLocked(); e != nil {
		err = c.s.propose(context.Background(), e, waiter{})
	}
	// Cleared only now: a write that finds it clear proposes without regMu, and
	// must come after the creation.
	c.hasNewSession.Store(false)
	c.regMu.Unlock()
	if err != nil {
		go c.close("could not create session: " + err.Error())
	}
}

// takeNewSessionLocked returns the creation of the connection's session if it is
// still to be proposed, and clears it: the caller proposes it (on its own or with a
// write) or drops it (the session closes before anything of it reached the log). The
// caller holds regMu and clears hasNewSession once nothing can be proposed ahead of
// the creation.
func (c *conn) takeNewSessionLocked() *tree.Entry {
	e := c.newSession
	if e != nil {
		c.newSession = nil
		c.regTimer.Stop()
	}
	return e
}

// newSessionGrace is how long after its creation (by the clock of the member that
// created it, as far as this one's agrees) a session's createSession entry may still
// be on its way to commit: a member that does not know a session that young waits
// for it, until then, before it calls the session expired. Commits take
// milliseconds; the creating member only answers a session early while it is in
// steady contact with its leader.
const newSessionGrace = time.Second

// creationWait returns how long a member that does not know session sid should still
// wait for its creation: what is left of newSessionGrace since the time in the id. A
// time ahead of this member's clock (clocks apart) gets the whole grace; one more than
// a few seconds ahead is not a time of this scheme and gets none.
func creationWait(sid int64, now time.Time) time.Duration {
	created := uint64(sid) >> sidCountBits & sidTimeMask
	age := int64((uint64(now.UnixMilli()) - created) & sidTimeMask) // ms, modulo 2^40
	if age > sidTimeMask/2 {
		age -= sidTimeMask + 1 // created "in the future"
	}
	switch {
	case age < -10_000:
		return 0
	case age < 0:
		return newSessionGrace
	}
	return max(0, newSessionGrace-time.Duration(age)*time.Millisecond)
}

// awaitSession waits, until ctx ends, for the session to appear in this member's
// applied state, and returns it if it did.
func (s *Server) awaitSession(ctx context.Context, sid int64) (tree.SessionInfo, bool) {
	for {
		applied := s.node.AppliedIndex()
		s.mu.RLock()
		si, ok := s.tree.Session(sid)
		s.mu.RUnlock()
		if ok || s.node.WaitApplied(ctx, applied+1) != nil {
			return si, ok
		}
	}
}

func sessionHex(id int64) string { return fmt.Sprintf("0x%x", uint64(id)) }

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
	if !s.node.Members().IsMember(s.cfg.ID) {
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
	if sid == 0 {
		sid = s.newSessionID()
		passwd = make([]byte, 16)
		rand.Read(passwd)
		// Bounded by the proposal timeout: a proposal lost to a leader change must not
		// keep the client waiting for a whole session timeout.
		wait := min(time.Duration(timeout)*time.Millisecond, s.proposalTimeout())
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		res, err := s.proposeWait(ctx, &tree.Entry{Kind: tree.KindCreateSession, SessionID: sid, Timeout: timeout, Passwd: passwd})
		cancel()
		if err != nil {
			return "could not create session: " + err.Error(), false
		}
		if res.Err != proto.ErrOK {
			return "could not create session: " + res.Err.String(), false
		}
	} else {
		// Validate against the committed state, not only what this member has
		// applied: a member whose apply lags (or that is cut off but does not know
		// it yet) may still hold a session whose close is already committed, and
		// must not tell the client it is still alive. ZooKeeper's followers ask
		// the leader (Learner.validateSession); a read barrier does the same.
		if err := s.readBarrier(min(time.Duration(timeout)*time.Millisecond, s.proposalTimeout())); err != nil {
			return "could not validate session " + sessionHex(sid) + " with the leader: " + err.Error(), false
		}
		s.mu.RLock()
		si, ok := s.tree.Session(sid)
		s.mu.RUnlock()
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
	c.mu.Lock()
	c.queueLocked(connectFrame(&proto.ConnectResponse{TimeOut: timeout, SessionID: sid, Passwd: passwd, OldClient: req.OldClient}))
	c.mu.Unlock()
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

// newSessionID returns a session id not used before by this member.
func (s *Server) newSessionID() int64 {
	for {
		id := s.nextSID.Add(1)
		if id != proto.ContainerOwner && id != 0 {
			return id
		}
	}
}

func sessionHex(id int64) string { return fmt.Sprintf("0x%x", uint64(id)) }

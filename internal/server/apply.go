package server

import (
	"io"
	"time"

	"github.com/corral-io/corral/internal/tree"
	"github.com/corral-io/corral/proto"
)

// stateMachine is the Server seen by raftnode: committed entries come in here, in log
// order, on one goroutine.
type stateMachine Server

// Apply implements raftnode.StateMachine.
func (sm *stateMachine) Apply(index uint64, data []byte) {
	s := (*Server)(sm)
	if data == nil {
		s.mu.Lock()
		s.applied.Store(int64(index))
		s.configApplied(index) // reconfig.go
		s.checkpointDigest(index)
		s.mu.Unlock()
		return
	}
	e, err := tree.UnmarshalEntry(data)
	if err != nil {
		// Every member sees the same bytes, so every member skips it alike.
		s.log.Error("skipping undecodable log entry", "index", index, "err", err)
		s.mu.Lock()
		s.applied.Store(int64(index))
		s.checkpointDigest(index)
		s.mu.Unlock()
		return
	}
	zxid := int64(index)
	s.mu.Lock()
	res := s.tree.Apply(zxid, e)
	s.applied.Store(zxid)
	if len(res.Events) > 0 {
		s.fireEvents(res.Events)
	}
	s.afterApply(zxid, e, res)
	s.checkpointDigest(index)
	s.mu.Unlock()
}

// fireEvents sends notifications for the changes an entry made. Called with mu held for
// writing, so the events reach each connection's queue before any reply that reflects
// them.
func (s *Server) fireEvents(events []tree.Event) {
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	for _, ev := range events {
		s.watches.fire(ev, func(c *conn, ev tree.Event) {
			c.sendEvent(ev.Type, ev.Path, ev.ACL)
		})
	}
}

// afterApply does what an applied entry means beyond the tree: answers the waiting
// request, tracks sessions, closes the connections of closed sessions.
func (s *Server) afterApply(zxid int64, e *tree.Entry, res tree.Result) {
	switch e.Kind {
	case tree.KindCreateSession:
		if res.Err == proto.ErrOK {
			s.sessions.add(e.SessionID, time.Duration(e.Timeout)*time.Millisecond, time.Now())
		}
	case tree.KindSessionRequest:
		// res is the write's: the session may be open even if the write failed.
		if _, ok := s.tree.Session(e.SessionID); ok {
			s.sessions.add(e.SessionID, time.Duration(e.Timeout)*time.Millisecond, time.Now())
		}
	case tree.KindCloseSession:
		s.sessions.remove(e.SessionID)
	}
	var w waiter
	var ok bool
	if e.Origin == s.cfg.ID {
		s.waitMu.Lock()
		w, ok = s.waiters[e.ReqID]
		delete(s.waiters, e.ReqID)
		s.waitMu.Unlock()
	}
	if ok && w.ch != nil {
		w.ch <- res
	}
	if ok && w.c != nil {
		w.c.completeWrite(w.req, zxid, res)
	}
	if e.Kind == tree.KindCloseSession {
		s.connMu.Lock()
		c := s.sessConns[e.SessionID]
		delete(s.sessConns, e.SessionID)
		s.connMu.Unlock()
		if c != nil && (!ok || w.c != c) {
			// Expired (or closed from elsewhere): the client learns it on reconnect.
			c.closeAfterFlush("session closed")
		}
	}
}

// WriteSnapshot implements raftnode.StateMachine.
func (sm *stateMachine) WriteSnapshot(w io.Writer) error {
	return sm.CaptureSnapshot()(w)
}

// CaptureSnapshot implements raftnode.SnapshotCapturer: the tree is frozen under the
// write lock, which costs Apply a few microseconds whatever the tree's size (see
// tree.Freeze), and the returned function writes the frozen view without any lock
// while entries go on being applied.
func (sm *stateMachine) CaptureSnapshot() func(w io.Writer) error {
	s := (*Server)(sm)
	s.mu.Lock()
	f := s.tree.Freeze()
	s.mu.Unlock()
	return func(w io.Writer) error {
		defer f.Release()
		return f.WriteSnapshot(w)
	}
}

// RestoreSnapshot implements raftnode.StateMachine.
func (sm *stateMachine) RestoreSnapshot(index uint64, r io.Reader) error {
	s := (*Server)(sm)
	t, err := tree.ReadSnapshot(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.tree = t
	s.applied.Store(int64(index))
	s.mu.Unlock()
	return nil
}

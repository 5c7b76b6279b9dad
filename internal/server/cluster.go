package server

import (
	"encoding/binary"
	"time"
)

// Application messages between members (over the raft peer transport).
const (
	// msgTouch carries the ids of sessions heard from on the sending member since
	// its last batch, to the leader, which alone decides expiry.
	msgTouch uint8 = 1
)

// leaderChanged is called by raft's loop when the known leader changes. A member
// that becomes leader gives every session a fresh full timeout: it has not been
// hearing their heartbeats.
func (s *Server) leaderChanged(leader uint64) {
	s.leaderChangedAt.Store(time.Now().UnixNano())
	if leader == s.cfg.ID {
		s.sessions.resetAll(time.Now())
	}
	if s.cfg.OnLeadership != nil {
		s.cfg.OnLeadership(leader == s.cfg.ID)
	}
}

// touchLoop sends the leader, in batches, the sessions this member has heard from.
func (s *Server) touchLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.touchInterval())
	defer tick.Stop()
	for {
		select {
		case <-s.stopping:
			return
		case <-tick.C:
			ids := s.sessions.takeHeard()
			if len(ids) == 0 || s.node.IsLeader() {
				continue
			}
			leader := s.node.Leader()
			if leader == 0 {
				continue
			}
			b := make([]byte, 0, 8*len(ids))
			for _, id := range ids {
				b = binary.BigEndian.AppendUint64(b, uint64(id))
			}
			if err := s.node.SendApp(leader, msgTouch, b); err != nil {
				s.log.Debug("could not send session heartbeats to the leader", "leader", leader, "err", err)
			}
		}
	}
}

// touchInterval is how often heartbeats go to the leader: well inside the shortest
// session timeout.
func (s *Server) touchInterval() time.Duration {
	d := s.cfg.MinSessionTimeout / 8
	if d > 500*time.Millisecond {
		d = 500 * time.Millisecond
	}
	if d < 20*time.Millisecond {
		d = 20 * time.Millisecond
	}
	return d
}

// onPeerMessage handles an application message from another member.
func (s *Server) onPeerMessage(from uint64, kind uint8, data []byte) {
	switch kind {
	case msgTouch:
		now := time.Now()
		for len(data) >= 8 {
			s.sessions.touch(int64(binary.BigEndian.Uint64(data)), now)
			data = data[8:]
		}
	case msgDigest:
		if len(data) == 16 {
			s.judgeDigest(binary.BigEndian.Uint64(data), from, binary.BigEndian.Uint64(data[8:]))
		}
	default:
		s.log.Warn("unknown message from peer", "from", from, "kind", kind)
	}
}

// watchdogLoop closes connections whose oldest write or sync has not completed in
// time: its proposal was probably lost to a leader change, and answering later
// requests first would reorder the session. The client reconnects and retries.
func (s *Server) watchdogLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.stopping:
			return
		case now := <-tick.C:
			s.updateReadOnly(now)
			limit := s.proposalTimeout()
			changed := time.Unix(0, s.leaderChangedAt.Load())
			// A write proposed before the leader changed may have been lost with the
			// old leader. Once the new leader has had a moment to commit what it
			// inherited, such a write will not complete.
			orphaned := s.clustered() && s.node.Leader() != 0 && now.Sub(changed) > leaderGrace
			for _, c := range s.connList() {
				c.mu.Lock()
				var stuck bool
				if len(c.pending) > 0 && c.pending[0].kind != kindLocal && !c.pending[0].done {
					start := c.pending[0].start
					stuck = now.Sub(start) > limit || (orphaned && start.Before(changed))
				}
				c.mu.Unlock()
				if stuck {
					c.close("a write was not committed (leader change or lost quorum); the client will retry elsewhere")
				}
			}
		}
	}
}

// leaderGrace is how long after a new leader is known a write proposed under the
// old one may still commit before its connection is closed.
const leaderGrace = 50 * time.Millisecond

// proposalTimeout is how long a write may wait for commit before its connection is
// closed.
func (s *Server) proposalTimeout() time.Duration {
	if !s.clustered() {
		return s.cfg.MaxSessionTimeout
	}
	return 4 * time.Second
}

// clustered reports whether the group has other members now. It is derived from
// the raft membership, not from the bootstrap flags, so a single member grown by
// reconfig (or a cluster shrunk to one) behaves as what it is.
func (s *Server) clustered() bool {
	m := s.node.Members()
	return len(m.Voters)+len(m.Learners) > 1
}

package server

import (
	"context"
	"sort"
	"sync"
	"time"

	"github.com/corral-io/corral/internal/tree"
)

// sessionTracker knows, for every open session, when it was last heard from. Only the
// leader acts on it: it proposes the close of sessions that stayed silent past their
// timeout, so every member deletes their ephemerals at the same index.
type sessionTracker struct {
	mu       sync.Mutex
	sessions map[int64]*tracked
	heard    map[int64]struct{} // touched since the last batch to the leader
}

type tracked struct {
	timeout   time.Duration
	lastHeard time.Time
	closing   bool // close proposed, not yet applied
}

func newSessionTracker() *sessionTracker {
	return &sessionTracker{sessions: make(map[int64]*tracked), heard: make(map[int64]struct{})}
}

func (t *sessionTracker) add(id int64, timeout time.Duration, now time.Time) {
	t.mu.Lock()
	t.sessions[id] = &tracked{timeout: timeout, lastHeard: now}
	t.mu.Unlock()
}

func (t *sessionTracker) remove(id int64) {
	t.mu.Lock()
	delete(t.sessions, id)
	t.mu.Unlock()
}

func (t *sessionTracker) touch(id int64, now time.Time) {
	t.mu.Lock()
	if s := t.sessions[id]; s != nil {
		s.lastHeard = now
	}
	if id != 0 {
		t.heard[id] = struct{}{}
	}
	t.mu.Unlock()
}

// takeHeard returns and forgets the sessions touched since the last call.
func (t *sessionTracker) takeHeard() []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.heard) == 0 {
		return nil
	}
	out := make([]int64, 0, len(t.heard))
	for id := range t.heard {
		out = append(out, id)
	}
	clear(t.heard)
	return out
}

// resetAll gives every session a fresh full timeout from now.
func (t *sessionTracker) resetAll(now time.Time) {
	t.mu.Lock()
	for _, s := range t.sessions {
		s.lastHeard = now
		s.closing = false
	}
	t.mu.Unlock()
}

func (t *sessionTracker) setTimeout(id int64, timeout time.Duration) {
	t.mu.Lock()
	if s := t.sessions[id]; s != nil {
		s.timeout = timeout
	}
	t.mu.Unlock()
}

func (t *sessionTracker) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.sessions)
}

// expired returns the sessions silent for longer than their timeout and marks them
// closing, so each is proposed once.
func (t *sessionTracker) expired(now time.Time) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []int64
	for id, s := range t.sessions {
		if !s.closing && now.Sub(s.lastHeard) > s.timeout {
			s.closing = true
			out = append(out, id)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// unmark lets a session whose close could not be proposed be tried again.
func (t *sessionTracker) unmark(id int64) {
	t.mu.Lock()
	if s := t.sessions[id]; s != nil {
		s.closing = false
	}
	t.mu.Unlock()
}

// expiryLoop proposes the close of expired sessions.
func (s *Server) expiryLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.expiryInterval())
	defer tick.Stop()
	for {
		select {
		case <-s.stopping:
			return
		case now := <-tick.C:
			if !s.node.IsLeader() {
				continue
			}
			for _, id := range s.sessions.expired(now) {
				s.log.Info("session expired", "session", sessionHex(id))
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := s.propose(ctx, &tree.Entry{Kind: tree.KindCloseSession, SessionID: id}, waiter{})
				cancel()
				if err != nil {
					s.log.Warn("could not propose session expiry", "session", sessionHex(id), "err", err)
					s.sessions.unmark(id)
				}
			}
		}
	}
}

func (s *Server) expiryInterval() time.Duration {
	d := s.cfg.TickTime / 10
	if d < 10*time.Millisecond {
		d = 10 * time.Millisecond
	}
	if d > 200*time.Millisecond {
		d = 200 * time.Millisecond
	}
	return d
}

// reapLoop deletes containers that have become empty and TTL nodes that have expired,
// by proposing their deletion: the tree re-checks each at apply time.
func (s *Server) reapLoop() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.ContainerCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-s.stopping:
			return
		case now := <-tick.C:
			if !s.node.IsLeader() {
				continue
			}
			limit := s.cfg.ContainerMaxPerMinute
			if per := int(float64(limit) * s.cfg.ContainerCheckInterval.Minutes()); per > 0 && per < limit {
				limit = per
			}
			s.mu.RLock()
			paths := s.tree.ReapCandidates(now.UnixMilli(), s.cfg.ContainerMaxNeverUsed.Milliseconds(), limit)
			s.mu.RUnlock()
			for _, p := range paths {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := s.propose(ctx, &tree.Entry{Kind: tree.KindDeleteContainer, Path: p, Time: now.UnixMilli(),
					MaxNeverUsed: s.cfg.ContainerMaxNeverUsed.Milliseconds()}, waiter{})
				cancel()
				if err != nil {
					s.log.Warn("could not propose container deletion", "path", p, "err", err)
					break
				}
			}
		}
	}
}

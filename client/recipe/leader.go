package recipe

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/corral-io/corral/client"
)

const latchName = "latch-"

// LeaderLatch elects one leader among the participants of a path, with the layout of
// Curator's LeaderLatch: each participant creates "_c_<uuid>-latch-<seq>" holding its
// participant id; the lowest sequence leads, and every other participant watches only
// the node just before its own. A participant stays in the election until Close; it
// leads once those before it are gone.
//
// What can go wrong: leadership can be lost — the session expires, the connection
// stays down for a quarter of the session timeout, or the node is deleted. Lost is
// closed then; the latch withdraws the old node and, while the Conn lives, joins again
// with a new one (so it may lead again later, with a new FencingToken). Another
// participant may already lead when Lost closes: stop leading at once, and give the
// FencingToken to whatever you write as the leader.
type LeaderLatch struct {
	conn *client.Conn
	path string
	id   string

	mu      sync.Mutex // protects following fields
	started bool
	closed  bool
	node    string        // our current node
	lead    *held         // while leading
	changed chan struct{} // closed and replaced on every change of leadership
	err     error         // why the latch stopped (the Conn ended)
	cancel  context.CancelFunc
	done    chan struct{} // closed when the background goroutine has returned
}

// NewLeaderLatch returns a latch on path for the participant id.
func NewLeaderLatch(conn *client.Conn, path, id string) *LeaderLatch {
	return &LeaderLatch{conn: conn, path: cleanPath(path), id: id, changed: make(chan struct{})}
}

// Start joins the election: it creates the participant's node and returns, leaving a
// goroutine to follow the election. Use Await or IsLeader to learn of leadership.
func (l *LeaderLatch) Start(ctx context.Context) error {
	l.mu.Lock()
	if l.started {
		l.mu.Unlock()
		return fmt.Errorf("recipe: latch on %s already started", l.path)
	}
	l.started = true
	l.mu.Unlock()
	if err := ensurePath(ctx, l.conn, l.path); err != nil {
		return err
	}
	node, _, err := createProtected(ctx, l.conn, l.path, curatorNames(latchName), []byte(l.id))
	if err != nil {
		return err
	}
	bg, cancel := context.WithCancel(context.Background())
	l.mu.Lock()
	l.node, l.cancel, l.done = node, cancel, make(chan struct{})
	l.mu.Unlock()
	go l.run(bg)
	return nil
}

func (l *LeaderLatch) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// run follows the election until Close or the end of the Conn.
func (l *LeaderLatch) run(ctx context.Context) {
	defer close(l.done)
	for ctx.Err() == nil {
		l.mu.Lock()
		node := l.node
		l.mu.Unlock()
		if node == "" {
			n, _, err := createProtected(ctx, l.conn, l.path, curatorNames(latchName), []byte(l.id))
			if err != nil {
				if l.fatal(ctx, err) {
					return
				}
				continue
			}
			node = n
			l.mu.Lock()
			l.node = n
			l.mu.Unlock()
		}
		h, err := waitHold(ctx, l.conn, lockSpec{dir: l.path, markers: []string{latchName}, mayHold: exclusive}, node)
		if err != nil {
			if errors.Is(err, ErrNodeVanished) {
				l.forget(node)
				continue
			}
			if l.fatal(ctx, err) {
				return
			}
			continue
		}
		l.mu.Lock()
		l.lead = h
		l.notifyLocked()
		l.mu.Unlock()
		select {
		case <-h.lost:
		case <-ctx.Done():
			return
		}
		// Lost: step down, withdraw the node, and join again.
		l.mu.Lock()
		l.lead = nil
		l.notifyLocked()
		l.mu.Unlock()
		_ = h.release(ctx)
		l.forget(node)
	}
}

func (l *LeaderLatch) forget(node string) {
	l.mu.Lock()
	if l.node == node {
		l.node = ""
	}
	l.mu.Unlock()
}

// fatal handles an error of the background goroutine: it reports whether the latch
// must stop (the Conn ended, or Close), after a short pause for other errors.
func (l *LeaderLatch) fatal(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return true
	}
	if errors.Is(err, client.ErrSessionExpired) || errors.Is(err, client.ErrClosed) {
		l.mu.Lock()
		l.err = err
		l.notifyLocked()
		l.mu.Unlock()
		return true
	}
	select {
	case <-time.After(100 * time.Millisecond):
	case <-ctx.Done():
		return true
	}
	return false
}

// IsLeader reports whether this participant leads now (as far as the client knows).
func (l *LeaderLatch) IsLeader() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lead != nil && !l.lead.isLost()
}

// Await waits until this participant leads, ctx ends, or the latch stops (Close, or
// the end of the Conn, whose error it returns).
func (l *LeaderLatch) Await(ctx context.Context) error {
	for {
		l.mu.Lock()
		switch {
		case l.closed:
			l.mu.Unlock()
			return ErrClosed
		case l.err != nil:
			err := l.err
			l.mu.Unlock()
			return err
		case !l.started:
			l.mu.Unlock()
			return fmt.Errorf("recipe: latch on %s not started", l.path)
		case l.lead != nil && !l.lead.isLost():
			l.mu.Unlock()
			return nil
		}
		ch, lead := l.changed, l.lead
		l.mu.Unlock()
		var lost <-chan struct{}
		if lead != nil {
			lost = lead.lost
		}
		select {
		case <-ch:
		case <-lost:
			// Wait for run to notice.
			select {
			case <-ch:
			case <-ctx.Done():
				return ctx.Err()
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Lost returns a channel closed when the current leadership is lost; nil when this
// participant does not lead.
func (l *LeaderLatch) Lost() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lead == nil {
		return nil
	}
	return l.lead.lost
}

// FencingToken returns the czxid of the leader node while leading, 0 otherwise.
func (l *LeaderLatch) FencingToken() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lead == nil {
		return 0
	}
	return l.lead.token
}

// ID returns the participant id.
func (l *LeaderLatch) ID() string { return l.id }

// Leader returns the participant id of the current leader (the data of the first
// node), or "" when there is no participant.
func (l *LeaderLatch) Leader(ctx context.Context) (string, error) {
	ids, err := l.Participants(ctx)
	if err != nil || len(ids) == 0 {
		return "", err
	}
	return ids[0], nil
}

// Participants returns the participant ids in election order (the leader first).
func (l *LeaderLatch) Participants(ctx context.Context) ([]string, error) {
	return participants(ctx, l.conn, l.path, []string{latchName})
}

func participants(ctx context.Context, conn *client.Conn, path string, markers []string) ([]string, error) {
	kids, _, err := conn.Children(ctx, path)
	if errors.Is(err, client.ErrNoNode) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, k := range sortContenders(kids, markers) {
		data, _, err := conn.Get(ctx, join(path, k))
		if errors.Is(err, client.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, string(data))
	}
	return ids, nil
}

// Close leaves the election: the node is deleted (so the next participant leads) and
// the background goroutine ends.
func (l *LeaderLatch) Close(ctx context.Context) error {
	l.mu.Lock()
	if l.closed || !l.started {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	cancel, done := l.cancel, l.done
	l.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	l.mu.Lock()
	node, lead := l.node, l.lead
	l.node, l.lead = "", nil
	l.notifyLocked()
	l.mu.Unlock()
	if lead != nil {
		lead.stopOnce.Do(func() { close(lead.stop) })
	}
	if node == "" {
		return nil
	}
	err := deleteQuietlyCtx(ctx, l.conn, node)
	if errors.Is(err, client.ErrSessionExpired) || errors.Is(err, client.ErrClosed) {
		return nil // the node went with the session
	}
	return err
}

// LeaderSelector runs a function while this process leads, in the style of Curator's
// LeaderSelector, and with its layout: contenders take a Mutex on the path (nodes
// "_c_<uuid>-lock-<seq>" holding the selector id), so Curator LeaderSelectors, kazoo
// Elections (with WithKazooNames) and this type elect among each other.
//
// What can go wrong: leadership can be lost while the function runs (session expiry,
// a long disconnection, a deleted node). The function's context is then cancelled; it
// must return promptly and stop acting as the leader. Another process may lead
// already: give FencingToken to whatever the leader writes.
type LeaderSelector struct {
	conn *client.Conn
	path string
	id   []byte
	fn   func(ctx context.Context) error
	opts []Option

	mu sync.Mutex
	m  *Mutex // while leading
}

// NewLeaderSelector returns a selector on path for the participant id; lead is called
// while this participant leads.
func NewLeaderSelector(conn *client.Conn, path string, id []byte, lead func(ctx context.Context) error, opts ...Option) *LeaderSelector {
	return &LeaderSelector{conn: conn, path: cleanPath(path), id: id, fn: lead, opts: opts}
}

// Lead waits for leadership, calls the function with a context that is cancelled when
// leadership is lost or ctx ends, and gives up leadership when the function returns.
// It returns the function's error; if leadership was lost meanwhile, the error is
// ErrLeadershipLost (joined with the function's error, if any).
func (s *LeaderSelector) Lead(ctx context.Context) error {
	m := NewMutex(s.conn, s.path, s.id, s.opts...)
	if err := m.Lock(ctx); err != nil {
		return err
	}
	s.mu.Lock()
	s.m = m
	s.mu.Unlock()
	lctx, cancel := context.WithCancel(ctx)
	lost := m.Lost()
	go func() {
		select {
		case <-lost:
			cancel()
		case <-lctx.Done():
		}
	}()
	err := s.fn(lctx)
	cancel()
	s.mu.Lock()
	s.m = nil
	s.mu.Unlock()
	uctx, ucancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	_ = m.Unlock(uctx)
	ucancel()
	select {
	case <-lost:
		return errors.Join(ErrLeadershipLost, err)
	default:
	}
	return err
}

// Run calls Lead again and again (Curator's autoRequeue) until ctx ends or the Conn
// ends; it returns then. Errors of the function do not stop it.
func (s *LeaderSelector) Run(ctx context.Context) error {
	for {
		err := s.Lead(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, client.ErrSessionExpired) || errors.Is(err, client.ErrClosed) {
			return err
		}
	}
}

// IsLeader reports whether the function is running as the leader now.
func (s *LeaderSelector) IsLeader() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		return false
	}
	select {
	case <-s.m.Lost():
		return false
	default:
		return true
	}
}

// Lost returns a channel closed when the current leadership is lost; nil when not
// leading.
func (s *LeaderSelector) Lost() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		return nil
	}
	return s.m.Lost()
}

// FencingToken returns the czxid of the leader's node while leading, 0 otherwise.
func (s *LeaderSelector) FencingToken() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		return 0
	}
	return s.m.FencingToken()
}

// Participants returns the participant ids in election order (the leader first).
func (s *LeaderSelector) Participants(ctx context.Context) ([]string, error) {
	return participants(ctx, s.conn, s.path, lockMarkers)
}

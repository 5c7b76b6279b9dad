package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-io/corral/proto"
)

// Backoff between rounds of failed connection attempts: it starts at minBackoff and
// doubles up to maxBackoff, with jitter, and resets once a connection is made.
const (
	minBackoff = 50 * time.Millisecond
	maxBackoff = time.Second
)

// closeTimeout bounds how long Close waits for the server to confirm closeSession.
const closeTimeout = 3 * time.Second

// errSessionExpired marks a handshake the server answered with timeout 0.
var errSessionExpired = errors.New("zk: session expired")

// Conn is a ZooKeeper session, kept alive over a succession of TCP connections to the
// servers of the connect string. It is safe for concurrent use. See the package doc for
// what happens to calls while the connection is down.
type Conn struct {
	cfg     config
	chroot  string
	hosts   *hostList // used only by run
	log     *slog.Logger
	watches *watchManager
	events  *eventQueue

	lastZxid atomic.Int64
	xid      atomic.Int32

	closeOnce sync.Once
	closing   chan struct{} // closed by Close
	done      chan struct{} // closed when run has returned

	mu        sync.Mutex // protects following fields
	state     State
	sessionID int64
	passwd    []byte
	timeout   time.Duration // negotiated with the server; 0 before the first connection
	auths     []authInfo    // replayed on every new connection
	cur       *cnx          // the live connection, nil when there is none
	ready     chan struct{} // closed when cur is set or the Conn is final; replaced on loss
	final     error         // errSessionExpired or ErrClosed once the Conn is dead
}

// Connect creates a session with the servers of connectString,
// "host:port,host:port[/chroot]", and waits until it is established or ctx ends. With a
// chroot every path of every call, result and event is relative to it. The Conn keeps
// the session alive, reconnecting to the servers (in a shuffled order) whenever a
// connection drops, until Close or until the session expires.
func Connect(ctx context.Context, connectString string, opts ...Option) (*Conn, error) {
	hosts, chroot, err := parseConnectString(connectString)
	if err != nil {
		return nil, err
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	c := &Conn{
		cfg:       cfg,
		chroot:    chroot,
		hosts:     newHostList(hosts),
		log:       cfg.logger,
		closing:   make(chan struct{}),
		done:      make(chan struct{}),
		ready:     make(chan struct{}),
		sessionID: cfg.sessionID,
		passwd:    cfg.passwd,
		auths:     append([]authInfo(nil), cfg.auths...),
	}
	c.watches = newWatchManager(c.clientPath)
	c.events = newEventQueue(cfg.onSession)
	go c.run()

	x, err := c.waitConn(ctx, "")
	if err != nil {
		c.Close()
		return nil, err
	}
	for _, r := range x.initialAuths {
		if err := r.wait(ctx); err != nil {
			c.Close()
			return nil, fmt.Errorf("zk: authentication with scheme %s: %w", r.path, err)
		}
	}
	return c, nil
}

// Close ends the session (closeSession, so its ephemerals go at once), closes the
// connection and ends every watch with an EventNone carrying ErrClosed. Calls waiting
// or made afterwards return ErrClosed. Close is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() { close(c.closing) })
	<-c.done
	return nil
}

// State returns the session's current state.
func (c *Conn) State() State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state
}

// SessionID returns the session's id (0 before the first connection).
func (c *Conn) SessionID() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sessionID
}

// SessionPassword returns the session's password, for WithSession.
func (c *Conn) SessionPassword() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.passwd...)
}

// SessionTimeout returns the timeout the server granted.
func (c *Conn) SessionTimeout() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
}

// Server returns the address of the server the session is attached to, or "" while
// disconnected.
func (c *Conn) Server() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return ""
	}
	return c.cur.addr
}

// LastZxid returns the highest zxid the session has seen in a reply. It is presented
// on every reconnect; a server that has not caught up to it refuses the session.
func (c *Conn) LastZxid() int64 { return c.lastZxid.Load() }

// waitConn returns the live connection, waiting for one until ctx ends. It fails at
// once when the Conn is final. path is the caller's, for the error.
func (c *Conn) waitConn(ctx context.Context, path string) (*cnx, error) {
	for {
		c.mu.Lock()
		if c.final != nil {
			err := c.finalErrLocked(path)
			c.mu.Unlock()
			return nil, err
		}
		if x := c.cur; x != nil && x.alive() {
			c.mu.Unlock()
			return x, nil
		}
		ready := c.ready
		c.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// finalErrLocked is the error of a call on a dead Conn. c.mu must be held.
func (c *Conn) finalErrLocked(path string) error {
	if c.final == errSessionExpired {
		return &Error{Code: proto.ErrSessionExpired, Path: path}
	}
	return c.final
}

// setStateLocked records a state change and queues its event. c.mu must be held.
func (c *Conn) setStateLocked(s State, server string) {
	if c.state == s {
		return
	}
	c.state = s
	c.log.Info("zk: session state", "state", s.String(), "server", server,
		"session", fmt.Sprintf("0x%x", c.sessionID))
	c.events.push(SessionEvent{State: s, Server: server, SessionID: c.sessionID})
}

// run is the connection manager: it connects, waits for the connection to end, and
// reconnects, until Close or expiry.
func (c *Conn) run() {
	defer close(c.done)
	backoff := minBackoff
	failures := 0 // consecutive failed attempts
	for {
		select {
		case <-c.closing:
			c.finish(ErrClosed, StateClosed)
			return
		default:
		}
		if failures > 0 && failures%c.hosts.len() == 0 {
			// A whole round of the hosts failed: back off before the next round.
			if !c.sleep(backoff) {
				c.finish(ErrClosed, StateClosed)
				return
			}
			backoff = min(backoff*2, maxBackoff)
		}
		addr := c.hosts.pick()
		x, err := c.dial(addr)
		if errors.Is(err, errSessionExpired) {
			c.finish(errSessionExpired, StateExpired)
			return
		}
		if err != nil {
			c.log.Debug("zk: connect failed", "server", addr, "err", err)
			failures++
			continue
		}
		failures, backoff = 0, minBackoff
		c.attach(x)
		select {
		case <-x.closed:
			c.log.Info("zk: connection lost", "server", addr, "err", x.err())
		case <-c.closing:
			c.closeSession(x)
			c.finish(ErrClosed, StateClosed)
			return
		}
		c.detach(x)
	}
}

// sleep waits d with jitter; false means Close was called.
func (c *Conn) sleep(d time.Duration) bool {
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.closing:
		return false
	}
}

// attach makes x the live connection.
func (c *Conn) attach(x *cnx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = x
	close(c.ready)
	if x.readOnly {
		c.setStateLocked(StateConnectedReadOnly, x.addr)
	} else {
		c.setStateLocked(StateConnected, x.addr)
	}
}

// detach forgets x after it failed (detach is idempotent).
func (c *Conn) detach(x *cnx) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != x {
		return
	}
	c.cur = nil
	c.ready = make(chan struct{})
	select {
	case <-c.closing: // Close reports StateClosed instead
	default:
		if c.final == nil {
			c.setStateLocked(StateDisconnected, "")
		}
	}
}

// finish makes the Conn final: calls fail with err from now on and watches end.
func (c *Conn) finish(err error, s State) {
	c.mu.Lock()
	x := c.cur
	c.cur = nil
	c.final = err
	select {
	case <-c.ready:
	default:
		close(c.ready)
	}
	c.setStateLocked(s, "")
	c.mu.Unlock()
	if x != nil {
		x.fail(ErrClosed)
	}
	werr := err
	if err == errSessionExpired {
		werr = ErrSessionExpired
	}
	c.watches.closeAll(werr)
	c.events.close()
}

// closeSession asks the server to end the session, waiting at most closeTimeout.
func (c *Conn) closeSession(x *cnx) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	r := c.newRequest(proto.OpCloseSession, "", proto.Empty{}, nil)
	if x.enqueue(r) {
		_ = r.wait(ctx)
	}
	x.fail(ErrClosed)
}

// eventQueue delivers session events to the callbacks, in order, from one goroutine,
// never blocking the pusher.
type eventQueue struct {
	fns  []func(SessionEvent)
	mu   sync.Mutex // protects following fields
	q    []SessionEvent
	done bool
	kick chan struct{}
}

func newEventQueue(fns []func(SessionEvent)) *eventQueue {
	e := &eventQueue{fns: fns, kick: make(chan struct{}, 1)}
	if len(fns) > 0 {
		go e.loop()
	}
	return e
}

func (e *eventQueue) push(ev SessionEvent) {
	if len(e.fns) == 0 {
		return
	}
	e.mu.Lock()
	e.q = append(e.q, ev)
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// close lets the loop end after delivering what is queued.
func (e *eventQueue) close() {
	e.mu.Lock()
	e.done = true
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

func (e *eventQueue) loop() {
	for {
		e.mu.Lock()
		q, done := e.q, e.done
		e.q = nil
		e.mu.Unlock()
		for _, ev := range q {
			for _, fn := range e.fns {
				fn(ev)
			}
		}
		if done && len(q) == 0 {
			return
		}
		if len(q) == 0 {
			<-e.kick
		}
	}
}

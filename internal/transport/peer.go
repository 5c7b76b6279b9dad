package transport

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// outMsg is one queued frame: a raft message (marshalled by the writer) or
// a ready application payload.
type outMsg struct {
	typ  uint8
	raft raftpb.Message
	app  []byte
}

// peer is the sending side towards one member: a bounded queue and the
// goroutine that owns the outbound stream.
type peer struct {
	t  *Transport
	id uint64

	mu      sync.Mutex
	addr    string
	readdrc chan struct{} // signalled when addr changes

	q        chan outMsg
	stopc    chan struct{}
	done     chan struct{}
	once     sync.Once
	started  bool
	goodbye  bool // on stop, say goodbye (the member is removed, not dying)
	snapBusy atomic.Bool
}

func newPeer(t *Transport, id uint64, addr string) *peer {
	return &peer{
		t:       t,
		id:      id,
		addr:    addr,
		readdrc: make(chan struct{}, 1),
		q:       make(chan outMsg, t.cfg.QueueSize),
		stopc:   make(chan struct{}),
		done:    make(chan struct{}),
	}
}

func (p *peer) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started || p.stopped() {
		return
	}
	p.started = true
	p.t.wg.Add(1)
	go p.run()
}

func (p *peer) getAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.addr
}

func (p *peer) setAddr(addr string) {
	p.mu.Lock()
	changed := p.addr != addr
	p.addr = addr
	p.mu.Unlock()
	if changed {
		p.t.lg.Info("peer address changed", "peer", fmt.Sprintf("%x", p.id), "addr", addr)
		select {
		case p.readdrc <- struct{}{}:
		default:
		}
	}
}

// stop ends the writer; goodbye says the member is removed rather than this
// process going away.
func (p *peer) stop(goodbye bool) {
	p.once.Do(func() {
		p.mu.Lock()
		p.goodbye = goodbye
		started := p.started
		p.mu.Unlock()
		close(p.stopc)
		if !started {
			close(p.done)
		}
	})
	<-p.done
}

func (p *peer) stopped() bool {
	select {
	case <-p.stopc:
		return true
	default:
		return false
	}
}

// enqueue queues m without blocking; false if the queue is full or the
// peer is stopped.
func (p *peer) enqueue(m outMsg) bool {
	if p.stopped() {
		return false
	}
	select {
	case p.q <- m:
		return true
	default:
		return false
	}
}

// drain drops everything queued, reporting raft messages unreachable once.
func (p *peer) drain() {
	reported := false
	for {
		select {
		case m := <-p.q:
			if m.typ == frameRaft && !reported {
				p.t.h.ReportUnreachable(p.id)
				reported = true
			}
		default:
			return
		}
	}
}

// run dials the peer and writes its queue to the stream, re-dialling with
// backoff whenever the stream breaks, until stopped.
func (p *peer) run() {
	defer p.t.wg.Done()
	defer close(p.done)
	backoff := p.t.cfg.MinBackoff
	failures := 0
	for !p.stopped() {
		addr := p.getAddr()
		conn, err := p.dial(kindStream, addr)
		if err != nil {
			if p.stopped() {
				return
			}
			failures++
			p.logDialError(addr, err, failures)
			if isPeerGone(err) {
				p.t.h.PeerLost(p.id, err)
			}
			p.drain()
			wait := backoff/2 + rand.N(backoff/2+1)
			var refused *refusedError
			if errors.As(err, &refused) {
				wait = max(wait, 5*time.Second)
			}
			backoff = min(2*backoff, p.t.cfg.MaxBackoff)
			select {
			case <-time.After(wait):
			case <-p.readdrc:
				backoff = p.t.cfg.MinBackoff
			case <-p.stopc:
				return
			}
			continue
		}
		if failures > 0 {
			p.t.lg.Info("connected to peer", "peer", fmt.Sprintf("%x", p.id), "addr", addr, "afterFailures", failures)
		}
		failures = 0
		backoff = p.t.cfg.MinBackoff
		p.serve(conn)
	}
}

func (p *peer) logDialError(addr string, err error, failures int) {
	var refused *refusedError
	switch {
	case errors.As(err, &refused):
		p.t.lg.Error("peer refused our stream; check --id, --peers and the cluster id on both members",
			"peer", fmt.Sprintf("%x", p.id), "addr", addr, "reason", refused.msg)
	case failures == 1:
		p.t.lg.Warn("cannot reach peer; retrying", "peer", fmt.Sprintf("%x", p.id), "addr", addr, "err", err)
	default:
		p.t.lg.Debug("cannot reach peer; retrying", "peer", fmt.Sprintf("%x", p.id), "addr", addr, "err", err, "failures", failures)
	}
}

// refusedError is a handshake the peer answered with a refusal.
type refusedError struct{ msg string }

func (e *refusedError) Error() string { return "refused by peer: " + e.msg }

// dial connects to addr (resolving its name again) and performs the
// handshake for a stream of the given kind.
func (p *peer) dial(kind uint8, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(p.t.ctx, p.t.cfg.DialTimeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	tuneConn(conn)
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	hs := handshake{kind: kind, from: p.t.cfg.ID, to: p.id, clusterID: p.t.cfg.ClusterID}
	if _, err := conn.Write(hs.encode()); err != nil {
		conn.Close()
		return nil, err
	}
	status, msg, err := readStatus(conn)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if status != statusOK {
		conn.Close()
		return nil, &refusedError{msg: msg}
	}
	conn.SetDeadline(time.Time{})
	return conn, nil
}

// serve writes queued messages to conn until it breaks, the address
// changes, or the peer is stopped.
func (p *peer) serve(conn net.Conn) {
	defer conn.Close()
	readErr := make(chan error, 1)
	go func() {
		// The acceptor never writes after the handshake: a read returns
		// only when the stream ends, which is how a dead peer is noticed
		// while there is nothing to send.
		var b [1]byte
		_, err := conn.Read(b[:])
		if err == nil {
			err = errors.New("unexpected data from the acceptor")
		}
		readErr <- err
	}()
	bw := bufio.NewWriterSize(conn, 64<<10)
	var buf []byte
	for {
		select {
		case m := <-p.q:
			if err := p.write(conn, bw, &buf, m); err != nil {
				p.streamBroken(err, m)
				return
			}
		case err := <-readErr:
			p.streamBroken(err, outMsg{})
			return
		case <-p.readdrc:
			p.sayGoodbye(conn, bw)
			return
		case <-p.stopc:
			p.mu.Lock()
			goodbye := p.goodbye
			p.mu.Unlock()
			if goodbye {
				p.sayGoodbye(conn, bw)
			}
			return
		}
	}
}

// write writes m and whatever else is queued, then flushes.
func (p *peer) write(conn net.Conn, bw *bufio.Writer, buf *[]byte, m outMsg) error {
	conn.SetWriteDeadline(time.Now().Add(p.t.cfg.WriteTimeout))
	for {
		if err := p.writeOne(bw, buf, m); err != nil {
			return err
		}
		if bw.Buffered() >= 1<<20 {
			if err := bw.Flush(); err != nil {
				return err
			}
			conn.SetWriteDeadline(time.Now().Add(p.t.cfg.WriteTimeout))
		}
		select {
		case m = <-p.q:
			continue
		default:
		}
		return bw.Flush()
	}
}

func (p *peer) writeOne(bw *bufio.Writer, buf *[]byte, m outMsg) error {
	if m.typ == frameApp {
		return writeFrame(bw, frameApp, m.app)
	}
	sz := m.raft.Size()
	if cap(*buf) < sz {
		*buf = make([]byte, sz)
	}
	b := (*buf)[:sz]
	if _, err := m.raft.MarshalTo(b); err != nil {
		return err
	}
	err := writeFrame(bw, frameRaft, b)
	if cap(*buf) > 4<<20 {
		*buf = nil // do not pin a huge buffer
	}
	return err
}

// streamBroken handles the end of a stream: the message being written (if
// any) and the queue are dropped, and a dead peer is reported.
func (p *peer) streamBroken(err error, m outMsg) {
	if p.stopped() {
		return
	}
	gone := isPeerGone(err)
	p.t.lg.Info("stream to peer broken", "peer", fmt.Sprintf("%x", p.id), "err", err, "peerGone", gone)
	if m.typ == frameRaft {
		p.t.h.ReportUnreachable(p.id)
	}
	p.drain()
	if gone {
		p.t.h.PeerLost(p.id, err)
	}
}

func (p *peer) sayGoodbye(conn net.Conn, bw *bufio.Writer) {
	conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
	if writeFrame(bw, frameGoodbye, nil) == nil {
		bw.Flush()
	}
}

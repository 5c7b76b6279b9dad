package server

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-io/corral/internal/tree"
	"github.com/corral-io/corral/proto"
)

// reqKind says how a request completes.
type reqKind uint8

const (
	kindLocal reqKind = iota // executed against the local tree when it reaches the head
	kindWrite                // completed when its entry is applied
	kindAsync                // completed by a goroutine (sync)
)

// request is one client request waiting, in its connection's FIFO, for its reply.
type request struct {
	xid   int32
	op    proto.OpCode
	body  []byte
	kind  reqKind
	start time.Time
	done  bool
	frame []byte // the encoded reply, once done
	// closeAfter closes the connection once the reply is written.
	closeAfter bool
	// cost is the request's frame size, held in the server's inflightBudget from
	// enqueue until the reply leaves the FIFO (or the connection closes).
	cost int
}

// conn is one client connection. Replies leave in the order requests came in; watch
// events are queued the moment the tree changes, ahead of any reply that reflects it.
type conn struct {
	s        *Server
	nc       net.Conn
	remote   string
	remoteIP string
	started  time.Time

	sessionID atomic.Int64
	timeout   atomic.Int32
	oldClient bool
	readOnly  bool // a read-only session on a member without quorum (set at handshake)

	mu         sync.Mutex
	pending    []*request
	out        [][]byte
	outBytes   int
	closed     bool
	flushThen  bool // close once out is written
	dropping   bool // over the send-queue bound: closing
	maxPending int  // high-water mark of len(pending)
	// stopReading is set by the reader when the last request read ends the
	// connection (failed auth, unknown opcode): nothing after it is read.
	stopReading bool
	auth        []proto.ID
	kick        chan struct{}
	slots       chan struct{}
	done        chan struct{}

	stats connStats

	// A new session's creation not yet proposed (see handshake): newSession, under
	// regMu, which also orders its proposal before the session's writes;
	// hasNewSession says, without the lock, that there may be one.
	regMu         sync.Mutex
	newSession    *tree.Entry
	regTimer      *time.Timer
	hasNewSession atomic.Bool
}

func (s *Server) accept(nc net.Conn) {
	remote := nc.RemoteAddr().String()
	host, _, _ := net.SplitHostPort(remote)
	s.connMu.Lock()
	if s.cfg.MaxConnections > 0 && len(s.conns) >= s.cfg.MaxConnections {
		s.connMu.Unlock()
		s.stats.rejectedConns.Add(1)
		s.metrics.rejected.Inc()
		s.log.Warn("connection refused: server connection limit reached", "remote", nc.RemoteAddr().String(), "limit", s.cfg.MaxConnections)
		nc.Close()
		return
	}
	if s.cfg.MaxClientCnxns > 0 && s.perIP[host] >= s.cfg.MaxClientCnxns {
		s.connMu.Unlock()
		s.stats.rejectedConns.Add(1)
		s.metrics.rejected.Inc()
		s.log.Warn("connection refused: per-address connection limit reached", "remote", nc.RemoteAddr().String(), "limit", s.cfg.MaxClientCnxns)
		nc.Close()
		return
	}
	c := &conn{
		s:        s,
		nc:       nc,
		remote:   remote,
		remoteIP: host,
		started:  time.Now(),
		kick:     make(chan struct{}, 1),
		slots:    make(chan struct{}, s.cfg.MaxOutstanding),
		done:     make(chan struct{}),
		auth:     []proto.ID{{Scheme: "ip", ID: host}},
	}
	s.conns[c] = struct{}{}
	s.perIP[host]++
	s.connMu.Unlock()
	// Go sets TCP_NODELAY on every TCP connection; the listener leaves TCP
	// keep-alive off (see Listen).
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.serve()
	}()
}

// readBufs recycles the connections' read buffers: a session may last only a few
// requests (session churn), and a fresh 16 KiB buffer per connection was a good part
// of what a connection cost to set up.
var readBufs = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 16<<10) }}

// serve runs the connection: it reads requests on this goroutine and writes on another,
// started once the handshake is answered (the ConnectResponse is written here).
func (c *conn) serve() {
	growStack()
	br := readBufs.Get().(*bufio.Reader)
	br.Reset(c.nc)
	reason := c.readLoop(br)
	c.close(reason)
	// Frames are copied out of br (proto.ReadFrame), so nothing refers to its buffer.
	br.Reset(nil)
	readBufs.Put(br)
}

func (c *conn) readLoop(br *bufio.Reader) string {
	c.nc.SetReadDeadline(time.Now().Add(c.s.handshakeTimeout()))
	var hdr [4]byte
	if _, err := io.ReadFull(br, hdr[:]); err != nil {
		return "no handshake: " + err.Error()
	}
	if cmd := string(hdr[:]); isFourLetterWord(cmd) {
		c.fourLetterWord(cmd)
		return ""
	}
	n := proto.FrameLength(hdr[:])
	if n < 0 || int(n) > c.s.cfg.MaxBuffer {
		return "handshake frame length out of range"
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return "handshake truncated: " + err.Error()
	}
	reason, wait := c.handshake(body)
	go c.writeLoop()
	if reason != "" {
		return reason
	} else if wait {
		<-c.done
		return ""
	}
	var deadlineSet time.Time
	setDeadline := c.nc.SetReadDeadline
	for {
		// Backpressure: past MaxOutstanding requests in flight, stop reading.
		select {
		case c.slots <- struct{}{}:
		case <-c.done:
			return ""
		}
		deadlineSet = extendDeadline(deadlineSet, c.sessionTimeout(), setDeadline)
		if hdr, err := br.Peek(4); err == nil && proto.FrameLength(hdr) > smallFrame {
			// A large request: wait for room in the server-wide budget first.
			if !c.s.inflight.wait(c.done) {
				return ""
			}
			deadlineSet = extendDeadline(deadlineSet, c.sessionTimeout(), setDeadline)
		}
		frame, err := proto.ReadFrame(br, c.s.cfg.MaxBuffer, nil)
		if err != nil {
			<-c.slots
			select {
			case <-c.done:
				// Closed by this side (say after closeSession): the error says
				// only that, and formatting it costs more than the rest of a close.
				return ""
			default:
			}
			if errors.Is(err, io.EOF) {
				return "client closed the connection"
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return reasonIdle
			}
			return "read: " + err.Error()
		}
		c.s.stats.received.Add(1)
		c.stats.received.Add(1)
		if reason := c.handle(frame); reason != "" {
			return reason
		}
		if c.stopReading {
			// The reply queued last ends the connection: read nothing more.
			<-c.done
			return ""
		}
	}
}

// extendDeadline moves a connection's read or write deadline (move) lazily: set is
// when it was last moved, and the peer gets d from now. It moves it a quarter of d
// further than that, and so only once per quarter d rather than before every request
// or reply (each move is a runtime timer change): a peer silent for d (or not reading
// for d) is cut within 1.25 d. It returns when the deadline was last moved.
func extendDeadline(set time.Time, d time.Duration, move func(time.Time) error) time.Time {
	now := time.Now()
	if now.Sub(set) < d/4 {
		return set
	}
	move(now.Add(d + d/4))
	return now
}

// sessionTimeout is the negotiated session timeout.
func (c *conn) sessionTimeout() time.Duration {
	return time.Duration(c.timeout.Load()) * time.Millisecond
}

// reasonIdle closes a connection whose session sent nothing for its whole timeout.
const reasonIdle = "session timed out without traffic"

// close ends the connection now. The session stays: only expiry or closeSession ends it.
func (c *conn) close(reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	close(c.done)
	c.wake() // the writer waits on kick alone
	c.out = nil
	for _, r := range c.pending {
		c.s.inflight.release(r.cost)
		r.cost = 0
	}
	c.mu.Unlock()
	c.nc.Close()
	if c.hasNewSession.Load() && reason != reasonIdle {
		// The client may come back, here or elsewhere, with the session: it must
		// exist by then. (Silent for its whole timeout, it would only expire.)
		go c.registerSession()
	}
	if reason != "" && reason != "client closed the connection" {
		c.s.log.Info("connection closed", "remote", c.remote, "session", sessionHex(c.sessionID.Load()), "reason", reason)
	}
	s := c.s
	s.connMu.Lock()
	delete(s.conns, c)
	if s.perIP[c.remoteIP]--; s.perIP[c.remoteIP] <= 0 {
		delete(s.perIP, c.remoteIP)
	}
	if sid := c.sessionID.Load(); sid != 0 && s.sessConns[sid] == c {
		delete(s.sessConns, sid)
	}
	s.connMu.Unlock()
	s.mu.RLock()
	s.watchMu.Lock()
	s.watches.removeConn(c)
	s.watchMu.Unlock()
	s.mu.RUnlock()
}

// closeAfterFlush closes the connection once what is queued has been written.
func (c *conn) closeAfterFlush(reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.flushThen = true
	c.mu.Unlock()
	if c.s.log.Enabled(context.Background(), slog.LevelDebug) {
		c.s.log.Debug("closing connection after flush", "remote", c.remote, "reason", reason)
	}
	c.wake()
}

func (c *conn) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// queueLocked appends a frame to the outbound queue. Called with c.mu held. A client
// that stops reading is cut off once its queue passes the bound.
func (c *conn) queueLocked(frame []byte) {
	if c.closed || c.dropping {
		return
	}
	c.out = append(c.out, frame)
	c.outBytes += len(frame)
	if c.outBytes > c.s.cfg.MaxSendQueueBytes {
		c.s.stats.slowClients.Add(1)
		c.s.metrics.slow.Inc()
		c.s.log.Warn("disconnecting client that does not read its replies", "remote", c.remote,
			"session", sessionHex(c.sessionID.Load()), "queued_bytes", c.outBytes)
		c.out = nil
		c.outBytes = 0
		c.dropping = true
		go c.close("send queue over limit")
		return
	}
	c.wake()
}

// writeLoop writes the queued frames, each batch with one writev: no copy, and no
// write buffer held by an idle connection.
func (c *conn) writeLoop() {
	var deadlineSet time.Time
	setDeadline := c.nc.SetWriteDeadline
	for {
		<-c.kick // close wakes it too
		for {
			c.mu.Lock()
			if c.closed {
				c.mu.Unlock()
				return
			}
			batch := c.out
			c.out = nil
			c.outBytes = 0
			flushThen := c.flushThen
			c.mu.Unlock()
			if len(batch) == 0 {
				if flushThen {
					c.close("")
					return
				}
				break
			}
			deadlineSet = extendDeadline(deadlineSet, c.s.writeTimeout(), setDeadline)
			bufs := net.Buffers(batch) // WriteTo consumes bufs; batch's length stays
			if _, err := bufs.WriteTo(c.nc); err != nil {
				c.close("write: " + err.Error())
				return
			}
			c.s.stats.sent.Add(int64(len(batch)))
			c.stats.sent.Add(int64(len(batch)))
		}
	}
}

// sendEvent queues a watch notification, unless the connection may not read the
// node the event is about (acl): ZooKeeper withholds those events.
func (c *conn) sendEvent(typ proto.EventType, path string, acl []proto.ACL) {
	e := proto.NewEncoder(make([]byte, 0, 32+len(path)))
	proto.AppendReply(e, proto.ReplyHeader{Xid: proto.XidNotification, Zxid: -1},
		&proto.WatcherEvent{Type: typ, State: proto.StateSyncConnected, Path: path})
	c.mu.Lock()
	if tree.CanRead(acl, c.auth) {
		c.queueLocked(e.Bytes())
	}
	c.mu.Unlock()
}

// enqueue adds a request to the FIFO. Local requests run at once if nothing is ahead.
// Called without locks.
func (c *conn) enqueue(r *request) {
	if r.kind == kindLocal {
		c.s.mu.RLock()
		c.mu.Lock()
		c.pushLocked(r)
		c.drainLocked()
		c.mu.Unlock()
		c.s.mu.RUnlock()
		return
	}
	c.mu.Lock()
	c.pushLocked(r)
	c.mu.Unlock()
}

// pushLocked appends r to the FIFO and takes its bytes from the server's inflight
// budget; drainLocked or close gives them back. A closed connection holds nothing
// (close has already given back what its FIFO held).
func (c *conn) pushLocked(r *request) {
	if c.closed {
		r.cost = 0
	} else {
		c.s.inflight.add(r.cost)
	}
	c.pending = append(c.pending, r)
	c.notePendingLocked()
}

// notePendingLocked records the high-water mark of requests in flight.
func (c *conn) notePendingLocked() {
	if n := len(c.pending); n > c.maxPending {
		c.maxPending = n
	}
}

// complete marks r done with frame and flushes what can be flushed. The caller holds
// the server's tree lock (read or write).
func (c *conn) completeLocked(r *request, frame []byte) {
	c.mu.Lock()
	r.frame = frame
	r.done = true
	c.drainLocked()
	c.mu.Unlock()
}

// completeWrite answers a write from its apply result (mu held for writing).
func (c *conn) completeWrite(r *request, zxid int64, res tree.Result) {
	code := res.Err
	if _, ok := res.Resp.(*proto.MultiResponse); ok && r.op == proto.OpMulti {
		// The reference answers a failed multi with err 0 in the header; the
		// failure is in the per-op results (kazoo raises on a non-zero header).
		code = proto.ErrOK
	}
	c.completeLocked(r, replyFrame(r.xid, zxid, code, res.Resp))
	if r.op == proto.OpCloseSession {
		c.closeAfterFlush("client closed its session")
	}
}

// drainLocked moves finished replies at the head of the FIFO to the outbound queue,
// running local requests as they reach the head. c.mu and the tree lock are held.
func (c *conn) drainLocked() {
	for len(c.pending) > 0 {
		r := c.pending[0]
		if !r.done {
			if r.kind != kindLocal {
				return
			}
			r.frame, r.closeAfter = c.s.execLocal(c, r)
			r.done = true
		}
		c.s.inflight.release(r.cost)
		r.cost = 0
		c.pending[0] = nil
		c.pending = c.pending[1:]
		if len(c.pending) == 0 {
			c.pending = nil
		}
		now := time.Now()
		took := now.Sub(r.start)
		c.s.stats.observe(r.op, took)
		c.s.metrics.observe(r.op, replyCode(r.frame), took)
		c.stats.observe(r, took, now)
		if r.frame != nil {
			c.queueLocked(r.frame)
		}
		select {
		case <-c.slots:
		default:
		}
		if r.closeAfter {
			c.flushThen = true
			c.wake()
		}
	}
}

// replyCode reads the error code back from an encoded reply frame.
func replyCode(frame []byte) proto.Code {
	if len(frame) < 20 {
		return proto.ErrOK
	}
	return proto.Code(int32(frame[16])<<24 | int32(frame[17])<<16 | int32(frame[18])<<8 | int32(frame[19]))
}

func replyFrame(xid int32, zxid int64, code proto.Code, body proto.Record) []byte {
	e := proto.NewEncoder(make([]byte, 0, 64))
	if code != proto.ErrOK && body != nil {
		if _, isMulti := body.(*proto.MultiResponse); !isMulti {
			body = nil
		}
	}
	proto.AppendReply(e, proto.ReplyHeader{Xid: xid, Zxid: zxid, Err: code}, body)
	return e.Bytes()
}

func (s *Server) handshakeTimeout() time.Duration { return s.cfg.MaxSessionTimeout }

func (s *Server) writeTimeout() time.Duration { return s.cfg.MaxSessionTimeout }

// growStack grows the calling goroutine's stack to 16 KiB at once. A connection's
// reader proposes its writes to raft itself, and raft's Propose path wants about that
// much stack: a goroutine that starts small grows there, and growing copies the stack
// frame by frame, some twenty frames deep. Measured under session churn (perf, a
// uprobe on runtime.morestack), that was two growths per connection and 5 to 9 % of
// a member's CPU; grown here, one frame deep, it is one cheap copy. An idle
// connection's stack shrinks back at the next garbage collections.
//
//go:noinline
func growStack() byte {
	var b [12 << 10]byte
	return lastByte(b[:])
}

//go:noinline
func lastByte(b []byte) byte { return b[len(b)-1] }

package bench

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/corral-io/corral/proto"
)

// clockBase anchors nowNanos; time.Since uses the monotonic clock.
var clockBase = time.Now()

// nowNanos is a monotonic timestamp in nanoseconds.
func nowNanos() int64 { return int64(time.Since(clockBase)) }

// maxReplyFrame bounds a reply frame; generous, as getChildren of a big parent is large.
const maxReplyFrame = 64 << 20

// ErrConnClosed is the error of requests on a connection that was closed on purpose.
var ErrConnClosed = errors.New("bench: connection closed")

// Reply is what a callback receives for one request: the reply header and body, or the
// transport error that ended the connection before the reply came.
type Reply struct {
	Hdr proto.ReplyHeader
	// Body is the reply body after the header. It is valid only during the callback.
	Body []byte
	// Start and End are nowNanos timestamps of the send and of the reply's arrival.
	Start, End int64
	// Err is set when no reply arrived (the connection failed or was closed).
	Err error
}

// Callback is called once per request, on the connection's reader goroutine (in reply
// order), or on it after the connection failed. It must not block for long and must not
// keep r or r.Body.
type Callback func(r *Reply)

type pendingReq struct {
	xid   int32
	start int64
	cb    Callback
}

// DialOptions configures Dial.
type DialOptions struct {
	// Timeout bounds the TCP connect plus the session handshake.
	Timeout time.Duration
	// SessionTimeout is the session timeout asked of the server.
	SessionTimeout time.Duration
	// OnWatch receives watch notifications, on the reader goroutine, with their arrival
	// time (nowNanos).
	OnWatch func(ev proto.WatcherEvent, at int64)
}

// Conn is a minimal pipelined ZooKeeper-protocol client session over one TCP connection.
// Any number of requests may be in flight; the server answers a session's requests in
// order, so replies are matched to requests by position and checked by xid. Requests are
// encoded into a buffer that a writer goroutine flushes, so requests issued together leave
// in one write.
type Conn struct {
	nc        net.Conn
	sessionID int64
	timeout   time.Duration
	onWatch   func(proto.WatcherEvent, int64)

	mu     sync.Mutex
	enc    *proto.Encoder // requests not yet handed to the writer
	spare  *proto.Encoder // the writer's other buffer, nil while it writes
	queue  []pendingReq
	head   int
	xid    int32
	err    error
	closed chan struct{} // closed on the first failure or Close

	wake       chan struct{}
	readerDone chan struct{}
}

// Dial connects to addr and opens a new session.
func Dial(addr string, o DialOptions) (*Conn, error) {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.SessionTimeout <= 0 {
		o.SessionTimeout = 30 * time.Second
	}
	deadline := time.Now().Add(o.Timeout)
	nc, err := net.DialTimeout("tcp", addr, o.Timeout)
	if err != nil {
		return nil, err
	}
	_ = nc.SetDeadline(deadline)
	e := proto.NewEncoder(make([]byte, 0, 64))
	off := proto.BeginFrame(e)
	req := proto.ConnectRequest{TimeOut: int32(o.SessionTimeout / time.Millisecond), Passwd: make([]byte, 16)}
	req.Encode(e)
	proto.EndFrame(e, off)
	if _, err := nc.Write(e.Bytes()); err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	frame, err := proto.ReadFrame(br, maxReplyFrame, nil)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(frame, &resp); err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if resp.TimeOut <= 0 {
		nc.Close()
		return nil, fmt.Errorf("handshake: session refused (timeout %d)", resp.TimeOut)
	}
	_ = nc.SetDeadline(time.Time{})
	c := &Conn{
		nc:         nc,
		sessionID:  resp.SessionID,
		timeout:    time.Duration(resp.TimeOut) * time.Millisecond,
		onWatch:    o.OnWatch,
		enc:        proto.NewEncoder(make([]byte, 0, 4096)),
		spare:      proto.NewEncoder(make([]byte, 0, 4096)),
		closed:     make(chan struct{}),
		wake:       make(chan struct{}, 1),
		readerDone: make(chan struct{}),
	}
	go c.readLoop(br)
	go c.writeLoop()
	go c.pingLoop()
	return c, nil
}

// SessionID is the id the server gave the session.
func (c *Conn) SessionID() int64 { return c.sessionID }

// Send queues one request; cb (which may be nil) gets its reply. It fails only when the
// connection has already failed or been closed; then cb is not called.
func (c *Conn) Send(op proto.OpCode, req proto.Record, cb Callback) error {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return err
	}
	c.xid++
	if c.xid <= 0 {
		c.xid = 1
	}
	off := proto.BeginFrame(c.enc)
	h := proto.RequestHeader{Xid: c.xid, Type: op}
	h.Encode(c.enc)
	if req != nil {
		req.Encode(c.enc)
	}
	proto.EndFrame(c.enc, off)
	c.queue = append(c.queue, pendingReq{xid: c.xid, start: nowNanos(), cb: cb})
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return nil
}

type callResult struct {
	hdr  proto.ReplyHeader
	body []byte
	err  error
}

// Call sends one request and waits (at most timeout) for its reply, which it decodes into
// resp (when resp is non-nil and the reply carries no error code). A reply with an error
// code returns that proto.Code as the error, along with the header.
func (c *Conn) Call(op proto.OpCode, req, resp proto.Record, timeout time.Duration) (proto.ReplyHeader, error) {
	ch := make(chan callResult, 1)
	err := c.Send(op, req, func(r *Reply) {
		res := callResult{hdr: r.Hdr, err: r.Err}
		if r.Err == nil && resp != nil && r.Hdr.Err == proto.ErrOK {
			res.body = append([]byte(nil), r.Body...)
		}
		ch <- res
	})
	if err != nil {
		return proto.ReplyHeader{}, err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case res := <-ch:
		if res.err != nil {
			return res.hdr, res.err
		}
		if res.hdr.Err != proto.ErrOK {
			return res.hdr, res.hdr.Err
		}
		if resp != nil {
			if err := proto.Unmarshal(res.body, resp); err != nil {
				return res.hdr, err
			}
		}
		return res.hdr, nil
	case <-t.C:
		return proto.ReplyHeader{}, errTimeout
	}
}

// errTimeout is returned by Call when no reply came in time.
var errTimeout = errors.New("bench: request timed out")

// Close ends the session (closeSession, waiting at most timeout for its reply) and the
// connection. Requests still in flight get ErrConnClosed.
func (c *Conn) Close(timeout time.Duration) error {
	_, err := c.Call(proto.OpCloseSession, nil, nil, timeout)
	c.fail(ErrConnClosed)
	<-c.readerDone
	return err
}

// Abort drops the connection without ending the session.
func (c *Conn) Abort() {
	c.fail(ErrConnClosed)
	<-c.readerDone
}

// Err reports why the connection ended, or nil while it is up.
func (c *Conn) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// fail records the first error and closes the socket; the reader then fails every pending
// request, so callbacks only ever run on the reader goroutine.
func (c *Conn) fail(err error) {
	c.mu.Lock()
	first := c.err == nil
	if first {
		c.err = err
	}
	c.mu.Unlock()
	if first {
		close(c.closed)
		c.nc.Close()
	}
}

func (c *Conn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.closed:
			return
		}
		c.mu.Lock()
		w := c.enc
		if w.Len() == 0 {
			c.mu.Unlock()
			continue
		}
		c.enc, c.spare = c.spare, nil
		c.mu.Unlock()
		_, err := c.nc.Write(w.Bytes())
		w.Reset()
		c.mu.Lock()
		c.spare = w
		c.mu.Unlock()
		if err != nil {
			c.fail(err)
			return
		}
	}
}

// pingLoop keeps an otherwise idle session alive.
func (c *Conn) pingLoop() {
	t := time.NewTicker(c.timeout / 3)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.closed:
			return
		}
		c.mu.Lock()
		if c.err != nil {
			c.mu.Unlock()
			return
		}
		off := proto.BeginFrame(c.enc)
		h := proto.RequestHeader{Xid: proto.XidPing, Type: proto.OpPing}
		h.Encode(c.enc)
		proto.EndFrame(c.enc, off)
		c.mu.Unlock()
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
}

func (c *Conn) readLoop(br *bufio.Reader) {
	defer close(c.readerDone)
	var (
		buf []byte
		r   Reply
	)
	for {
		frame, err := proto.ReadFrame(br, maxReplyFrame, buf)
		if err != nil {
			c.fail(err)
			break
		}
		buf = frame
		d := proto.NewDecoder(frame)
		var h proto.ReplyHeader
		h.Decode(d)
		if d.Err() != nil {
			c.fail(fmt.Errorf("bad reply header: %w", d.Err()))
			break
		}
		now := nowNanos()
		switch h.Xid {
		case proto.XidNotification:
			var ev proto.WatcherEvent
			ev.Decode(d)
			if c.onWatch != nil && d.Err() == nil {
				c.onWatch(ev, now)
			}
			continue
		case proto.XidPing, proto.XidAuth, proto.XidSetWatches:
			continue
		}
		c.mu.Lock()
		if c.head >= len(c.queue) {
			c.mu.Unlock()
			c.fail(fmt.Errorf("unexpected reply xid %d", h.Xid))
			break
		}
		p := c.queue[c.head]
		c.queue[c.head] = pendingReq{}
		c.head++
		if c.head == len(c.queue) {
			c.queue, c.head = c.queue[:0], 0
		} else if c.head >= 1024 && c.head*2 >= len(c.queue) {
			n := copy(c.queue, c.queue[c.head:])
			clear(c.queue[n:])
			c.queue, c.head = c.queue[:n], 0
		}
		c.mu.Unlock()
		if p.xid != h.Xid {
			c.fail(fmt.Errorf("reply xid %d, expected %d", h.Xid, p.xid))
			if p.cb != nil {
				p.cb(&Reply{Err: c.Err(), Start: p.start, End: now})
			}
			break
		}
		if p.cb != nil {
			r = Reply{Hdr: h, Body: frame[d.Offset():], Start: p.start, End: now}
			p.cb(&r)
		}
	}
	// The connection is down: fail whatever is still pending, in order.
	c.mu.Lock()
	rest := c.queue[c.head:]
	c.queue, c.head = nil, 0
	err := c.err
	c.mu.Unlock()
	now := nowNanos()
	for _, p := range rest {
		if p.cb != nil {
			p.cb(&Reply{Err: err, Start: p.start, End: now})
		}
	}
}

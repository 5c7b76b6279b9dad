package client

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-io/corral/proto"
)

// errProtocol marks a reply the client cannot make sense of; the connection is dropped.
var errProtocol = errors.New("zk: protocol error")

// setWatchesBatch bounds the paths of one setWatches frame, as the Java client does.
const setWatchesBatch = 128 * 1024

// request is one call on the wire. Its xid is given when it is queued on a connection.
type request struct {
	xid   int32
	op    proto.OpCode
	frame []byte       // length prefix, header (xid patched in at enqueue), body
	resp  proto.Record // filled from the reply body when err == 0 (nil: no body)
	path  string       // the caller's path, for errors
	watch *watchReg    // registered when the reply says so

	// status moves once from pending to done (by the reader or a connection failure)
	// or to abandoned (by a caller whose context ended first).
	status atomic.Int32
	code   proto.Code
	zxid   int64
	done   chan struct{}
}

const (
	statusPending int32 = iota
	statusDone
	statusAbandoned
)

// newRequest encodes a request frame for op with body (which may be nil).
func (c *Conn) newRequest(op proto.OpCode, path string, body proto.Record, resp proto.Record) *request {
	e := proto.NewEncoder(make([]byte, 0, 64))
	off := proto.BeginFrame(e)
	h := proto.RequestHeader{Type: op}
	h.Encode(e)
	if body != nil {
		body.Encode(e)
	}
	proto.EndFrame(e, off)
	return &request{op: op, frame: e.Bytes(), resp: resp, path: path, done: make(chan struct{})}
}

// complete ends the request with code unless its caller gave up on it; it reports
// whether the request was still wanted.
func (r *request) complete(code proto.Code) bool {
	if !r.status.CompareAndSwap(statusPending, statusDone) {
		return false
	}
	r.code = code
	close(r.done)
	return true
}

// wait waits for the reply, or for ctx. A call abandoned this way may still be
// carried out by the server.
func (r *request) wait(ctx context.Context) error {
	select {
	case <-r.done:
		return newError(r.code, r.path)
	case <-ctx.Done():
		if r.status.CompareAndSwap(statusPending, statusAbandoned) {
			return ctx.Err()
		}
		<-r.done
		return newError(r.code, r.path)
	}
}

// cnx is one TCP connection carrying the session. It has one goroutine reading and one
// writing; requests are pipelined and their replies come back in xid order.
type cnx struct {
	c            *Conn
	nc           net.Conn
	addr         string
	readOnly     bool
	readTimeout  time.Duration
	pingEvery    time.Duration
	initialAuths []*request // the auth packets replayed when the connection was made

	wake   chan struct{} // cap 1: the writer has frames to send
	closed chan struct{} // closed by fail

	mu      sync.Mutex // protects following fields
	out     [][]byte   // frames queued for the writer
	pending []*request // requests with xid > 0 sent or queued, in xid order
	authq   []*request // auth packets awaiting their xid -4 replies, in order
	dead    error      // why the connection ended; nil while alive
}

// dial connects to addr, performs the handshake, starts the reader and the writer and
// queues the replayed authentication and watches. A session the server no longer knows
// gives errSessionExpired.
func (c *Conn) dial(addr string) (*cnx, error) {
	c.mu.Lock()
	sessionID, passwd, auths := c.sessionID, c.passwd, append([]authInfo(nil), c.auths...)
	c.mu.Unlock()
	timeout := c.cfg.sessionTimeout / time.Duration(c.hosts.len())
	timeout = max(timeout, time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	go func() { // Close interrupts a dial in progress

		select {
		case <-c.closing:
			cancel()
		case <-ctx.Done():
		}
	}()
	nc, err := c.cfg.dialer(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	req := proto.ConnectRequest{
		LastZxidSeen: c.lastZxid.Load(),
		TimeOut:      int32(c.cfg.sessionTimeout / time.Millisecond),
		SessionID:    sessionID,
		Passwd:       passwd,
		ReadOnly:     c.cfg.readOnly,
	}
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	req.Encode(e)
	proto.EndFrame(e, off)
	deadline, _ := ctx.Deadline()
	_ = nc.SetDeadline(deadline)
	var resp proto.ConnectResponse
	if _, err = nc.Write(e.Bytes()); err == nil {
		var b []byte
		if b, err = proto.ReadFrame(nc, c.cfg.maxBuffer, nil); err == nil {
			err = proto.Unmarshal(b, &resp)
		}
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	if resp.TimeOut <= 0 {
		nc.Close()
		return nil, errSessionExpired
	}
	_ = nc.SetDeadline(time.Time{})
	negotiated := time.Duration(resp.TimeOut) * time.Millisecond
	c.mu.Lock()
	c.sessionID, c.passwd, c.timeout = resp.SessionID, resp.Passwd, negotiated
	c.mu.Unlock()

	x := &cnx{
		c: c, nc: nc, addr: addr, readOnly: resp.ReadOnly,
		readTimeout: negotiated * 2 / 3, pingEvery: negotiated / 3,
		wake: make(chan struct{}, 1), closed: make(chan struct{}),
	}
	for _, a := range auths {
		r := c.newRequest(proto.OpAuth, a.scheme, &proto.AuthPacket{Scheme: a.scheme, Auth: a.auth}, nil)
		r.xid = proto.XidAuth
		x.enqueue(r)
		x.initialAuths = append(x.initialAuths, r)
	}
	for _, sw := range c.watches.setWatches(c.lastZxid.Load()) {
		r := c.newRequest(proto.OpSetWatches2, "", setWatches2{sw}, nil)
		r.xid = proto.XidSetWatches
		x.enqueue(r)
	}
	go x.readLoop()
	go x.writeLoop()
	return x, nil
}

// setWatches2 encodes a SetWatches record as setWatches2 (105).
type setWatches2 struct{ *proto.SetWatches }

func (s setWatches2) Encode(e *proto.Encoder) { s.Encode2(e) }

// alive reports whether the connection can take requests.
func (x *cnx) alive() bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.dead == nil
}

func (x *cnx) err() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.dead
}

// enqueue queues r for the writer, giving it the next xid unless it carries a special
// one. It returns false if the connection has ended.
func (x *cnx) enqueue(r *request) bool {
	x.mu.Lock()
	if x.dead != nil {
		x.mu.Unlock()
		return false
	}
	switch r.xid {
	case 0:
		r.xid = x.c.xid.Add(1)
		if r.xid <= 0 { // wrapped: xids must stay positive
			x.c.xid.Store(1)
			r.xid = 1
		}
		x.pending = append(x.pending, r)
	case proto.XidAuth:
		x.authq = append(x.authq, r)
	}
	binary.BigEndian.PutUint32(r.frame[4:], uint32(r.xid))
	x.out = append(x.out, r.frame)
	x.mu.Unlock()
	select {
	case x.wake <- struct{}{}:
	default:
	}
	return true
}

// fail ends the connection (once): every request waiting on it fails with
// ErrConnectionLoss, since the server may or may not have carried it out.
func (x *cnx) fail(err error) {
	x.mu.Lock()
	if x.dead != nil {
		x.mu.Unlock()
		return
	}
	x.dead = err
	waiting := append(x.pending, x.authq...)
	x.pending, x.authq, x.out = nil, nil, nil
	x.mu.Unlock()
	close(x.closed)
	x.nc.Close()
	for _, r := range waiting {
		r.complete(proto.ErrConnectionLoss)
	}
	x.c.detach(x)
}

// writeLoop sends queued frames, and a ping whenever nothing was sent for pingEvery.
func (x *cnx) writeLoop() {
	bw := bufio.NewWriterSize(x.nc, 64*1024)
	ping := time.NewTimer(x.pingEvery)
	defer ping.Stop()
	for {
		select {
		case <-x.wake:
		case <-ping.C:
			r := x.c.newRequest(proto.OpPing, "", nil, nil)
			r.xid = proto.XidPing
			x.enqueue(r)
			continue
		case <-x.closed:
			return
		}
		x.mu.Lock()
		frames := x.out
		x.out = nil
		x.mu.Unlock()
		if len(frames) == 0 {
			continue
		}
		_ = x.nc.SetWriteDeadline(time.Now().Add(x.readTimeout))
		var err error
		for _, f := range frames {
			if _, err = bw.Write(f); err != nil {
				break
			}
		}
		if err == nil {
			err = bw.Flush()
		}
		if err != nil {
			x.fail(fmt.Errorf("write: %w", err))
			return
		}
		ping.Reset(x.pingEvery)
	}
}

// readLoop reads replies and notifications until the connection fails. A server that
// says nothing (not even a ping reply) for readTimeout is given up on.
func (x *cnx) readLoop() {
	br := bufio.NewReaderSize(x.nc, 64*1024)
	var buf []byte
	for {
		_ = x.nc.SetReadDeadline(time.Now().Add(x.readTimeout))
		frame, err := proto.ReadFrame(br, x.c.cfg.maxBuffer, buf)
		if err != nil {
			x.fail(fmt.Errorf("read: %w", err))
			return
		}
		buf = frame
		if err := x.handle(frame); err != nil {
			x.fail(err)
			return
		}
	}
}

// handle processes one frame from the server.
func (x *cnx) handle(frame []byte) error {
	d := proto.NewDecoder(frame)
	var h proto.ReplyHeader
	h.Decode(d)
	if d.Err() != nil {
		return fmt.Errorf("%w: reply header: %v", errProtocol, d.Err())
	}
	switch h.Xid {
	case proto.XidNotification:
		var ev proto.WatcherEvent
		ev.Decode(d)
		if d.Err() != nil {
			return fmt.Errorf("%w: notification: %v", errProtocol, d.Err())
		}
		x.c.watches.dispatch(ev)
		return nil
	case proto.XidPing:
		return nil
	case proto.XidSetWatches:
		if h.Err != proto.ErrOK {
			x.c.log.Warn("zk: setWatches failed", "err", h.Err)
		}
		return nil
	case proto.XidAuth:
		return x.handleAuth(h)
	}
	x.mu.Lock()
	if len(x.pending) == 0 || x.pending[0].xid != h.Xid {
		want := int32(-100)
		if len(x.pending) > 0 {
			want = x.pending[0].xid
		}
		x.mu.Unlock()
		return fmt.Errorf("%w: reply xid %d out of order (want %d)", errProtocol, h.Xid, want)
	}
	r := x.pending[0]
	x.pending[0] = nil
	x.pending = x.pending[1:]
	x.mu.Unlock()
	if h.Zxid > 0 {
		for z := x.c.lastZxid.Load(); h.Zxid > z && !x.c.lastZxid.CompareAndSwap(z, h.Zxid); z = x.c.lastZxid.Load() {
		}
	}
	return x.finish(r, h, d)
}

// finish decodes r's reply body, registers its watch and completes it.
func (x *cnx) finish(r *request, h proto.ReplyHeader, d *proto.Decoder) error {
	if r.status.Load() != statusPending {
		return nil // abandoned by its caller
	}
	r.zxid = h.Zxid
	code := h.Err
	// A multi carries its per-op results even when the header has the failing code.
	body := code == proto.ErrOK || (r.op == proto.OpMulti && d.Remaining() > 0)
	if body && r.resp != nil {
		r.resp.Decode(d)
		if d.Err() != nil {
			r.complete(proto.ErrMarshallingError)
			return fmt.Errorf("%w: %s reply: %v", errProtocol, r.op, d.Err())
		}
	}
	if r.watch != nil {
		// Registered before the next frame is read, so no event can slip past it.
		x.c.watches.register(r.watch, code)
	}
	r.complete(code)
	return nil
}

func (x *cnx) handleAuth(h proto.ReplyHeader) error {
	x.mu.Lock()
	var r *request
	if len(x.authq) > 0 {
		r = x.authq[0]
		x.authq = x.authq[1:]
	}
	x.mu.Unlock()
	if h.Err == proto.ErrAuthFailed {
		c := x.c
		c.mu.Lock()
		if r != nil { // do not present the rejected credential again
			for i, a := range c.auths {
				if a.scheme == r.path {
					c.auths = append(c.auths[:i:i], c.auths[i+1:]...)
					break
				}
			}
		}
		c.setStateLocked(StateAuthFailed, x.addr)
		c.mu.Unlock()
	}
	if r != nil {
		r.complete(h.Err)
	}
	return nil
}

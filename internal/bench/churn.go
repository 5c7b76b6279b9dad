package bench

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/corral-io/corral/proto"
)

// churner runs session-churn cycles (open a session, create an ephemeral node, close the
// session) one at a time, synchronously, on the calling goroutine. Unlike Conn it starts no
// goroutines and keeps its buffers from one cycle to the next, so the cycle costs the
// client little besides the system calls: session-churn measures the servers, and the
// client shares their cores. It speaks the same protocol to every server.
type churner struct {
	dialer  net.Dialer
	timeout time.Duration
	connect []byte // encoded ConnectRequest frame
	create  []byte // encoded create request frame (xid 1)
	close   []byte // encoded closeSession frame (xid 2)
	br      *bufio.Reader
	buf     []byte
}

// churnTimes are the nowNanos timestamps of one cycle's steps.
type churnTimes struct {
	start, tcp, connected, created, closed int64
}

// churnStepError says which step of a cycle failed.
type churnStepError struct {
	step string // "connect", "create" or "close"
	err  error
}

func (e *churnStepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *churnStepError) Unwrap() error { return e.err }

func newChurner(timeout, sessionTimeout time.Duration, create *proto.CreateRequest) *churner {
	ch := &churner{
		// TCP keep-alive is off: a cycle lasts milliseconds, and it would cost
		// system calls on every connection.
		dialer:  net.Dialer{Timeout: timeout, KeepAlive: -1},
		timeout: timeout,
		br:      bufio.NewReaderSize(nil, 512),
	}
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.ConnectRequest{TimeOut: int32(sessionTimeout / time.Millisecond), Passwd: make([]byte, 16)}).Encode(e)
	proto.EndFrame(e, off)
	ch.connect = e.Bytes()
	ch.create = requestFrame(1, proto.OpCreate, create)
	ch.close = requestFrame(2, proto.OpCloseSession, nil)
	return ch
}

func requestFrame(xid int32, op proto.OpCode, req proto.Record) []byte {
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	h := proto.RequestHeader{Xid: xid, Type: op}
	h.Encode(e)
	if req != nil {
		req.Encode(e)
	}
	proto.EndFrame(e, off)
	return e.Bytes()
}

// cycle runs one open/create/close cycle against addr. The error, if any, is a
// *churnStepError naming the failed step.
func (ch *churner) cycle(addr string) (t churnTimes, err error) {
	t.start = nowNanos()
	nc, err := ch.dialer.Dial("tcp", addr)
	if err != nil {
		return t, &churnStepError{"connect", err}
	}
	defer nc.Close()
	t.tcp = nowNanos()
	ch.br.Reset(nc)
	_ = nc.SetDeadline(time.Now().Add(ch.timeout))
	if _, err := nc.Write(ch.connect); err != nil {
		return t, &churnStepError{"connect", err}
	}
	frame, err := proto.ReadFrame(ch.br, maxReplyFrame, ch.buf)
	if err != nil {
		return t, &churnStepError{"connect", err}
	}
	ch.buf = frame[:0]
	var resp proto.ConnectResponse
	if err := proto.Unmarshal(frame, &resp); err != nil {
		return t, &churnStepError{"connect", err}
	}
	if resp.TimeOut <= 0 {
		return t, &churnStepError{"connect", fmt.Errorf("session refused (timeout %d)", resp.TimeOut)}
	}
	t.connected = nowNanos()
	if err := ch.call(nc, ch.create, 1); err != nil {
		return t, &churnStepError{"create", err}
	}
	t.created = nowNanos()
	if err := ch.call(nc, ch.close, 2); err != nil {
		return t, &churnStepError{"close", err}
	}
	t.closed = nowNanos()
	return t, nil
}

// call writes a request frame and reads replies until the one with xid; its error code,
// if not ZOK, is returned as a proto.Code.
func (ch *churner) call(nc net.Conn, frame []byte, xid int32) error {
	_ = nc.SetDeadline(time.Now().Add(ch.timeout))
	if _, err := nc.Write(frame); err != nil {
		return err
	}
	for {
		reply, err := proto.ReadFrame(ch.br, maxReplyFrame, ch.buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return errTimeout
			}
			return err
		}
		ch.buf = reply[:0]
		var h proto.ReplyHeader
		d := proto.NewDecoder(reply)
		h.Decode(d)
		if d.Err() != nil {
			return fmt.Errorf("bad reply header: %w", d.Err())
		}
		switch h.Xid {
		case proto.XidNotification, proto.XidPing, proto.XidAuth, proto.XidSetWatches:
			continue
		case xid:
			if h.Err != proto.ErrOK {
				return h.Err
			}
			return nil
		default:
			return fmt.Errorf("reply xid %d, expected %d", h.Xid, xid)
		}
	}
}

package diff

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/corral-io/corral/proto"
)

// frameTimeout bounds the wait for any one frame. Every request the generator sends is
// answered by both servers, so hitting it is itself a finding.
const frameTimeout = 5 * time.Second

// sessionTimeoutMs is the session timeout every connection asks for; long enough that
// nothing expires during a run.
const sessionTimeoutMs = 30000

// rawConn is a minimal ZooKeeper client over proto: one TCP connection, requests sent one
// at a time, replies and notifications read in order.
type rawConn struct {
	c        net.Conn
	r        *bufio.Reader
	xid      int32
	sid      int64
	passwd   []byte
	lastZxid int64 // highest reply zxid seen (sent as lastZxidSeen on reattach)
	dead     bool  // the server closed the connection (or it failed)
}

// frame is one reply or notification.
type frame struct {
	hdr  proto.ReplyHeader
	body []byte
}

// dial opens a connection and performs the handshake. sid/passwd zero = new session.
func dial(addr string, sid int64, passwd []byte, lastZxid int64) (*rawConn, proto.ConnectResponse, error) {
	var resp proto.ConnectResponse
	nc, err := net.DialTimeout("tcp", addr, frameTimeout)
	if err != nil {
		return nil, resp, err
	}
	if passwd == nil {
		passwd = make([]byte, 16)
	}
	c := &rawConn{c: nc, r: bufio.NewReaderSize(nc, 64<<10), sid: sid, passwd: passwd, lastZxid: lastZxid}
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	req := proto.ConnectRequest{LastZxidSeen: lastZxid, TimeOut: sessionTimeoutMs, SessionID: sid, Passwd: passwd}
	req.Encode(e)
	proto.EndFrame(e, off)
	if err := c.write(e.Bytes()); err != nil {
		nc.Close()
		return nil, resp, err
	}
	b, err := c.readRaw()
	if err != nil {
		nc.Close()
		return nil, resp, fmt.Errorf("connect response: %w", err)
	}
	if err := proto.Unmarshal(b, &resp); err != nil {
		nc.Close()
		return nil, resp, fmt.Errorf("connect response: %w", err)
	}
	if resp.TimeOut > 0 {
		c.sid, c.passwd = resp.SessionID, resp.Passwd
	} else {
		c.dead = true
	}
	return c, resp, nil
}

func (c *rawConn) write(b []byte) error {
	_ = c.c.SetWriteDeadline(time.Now().Add(frameTimeout))
	_, err := c.c.Write(b)
	if err != nil {
		c.dead = true
	}
	return err
}

func (c *rawConn) readRaw() ([]byte, error) {
	_ = c.c.SetReadDeadline(time.Now().Add(frameTimeout))
	b, err := proto.ReadFrame(c.r, proto.DefaultMaxBuffer+1024, nil)
	if err != nil {
		c.dead = true
	}
	return b, err
}

func (c *rawConn) readFrame() (frame, error) {
	b, err := c.readRaw()
	if err != nil {
		return frame{}, err
	}
	d := proto.NewDecoder(b)
	var f frame
	f.hdr.Decode(d)
	if d.Err() != nil {
		c.dead = true
		return f, fmt.Errorf("reply header: %w", d.Err())
	}
	f.body = append([]byte(nil), d.Rest()...)
	if f.hdr.Xid != proto.XidNotification && f.hdr.Xid != proto.XidPing && f.hdr.Zxid > c.lastZxid {
		c.lastZxid = f.hdr.Zxid
	}
	return f, nil
}

// send writes one request. xid 0 means "the next normal xid"; the xid used is returned.
func (c *rawConn) send(xid int32, op proto.OpCode, body []byte) (int32, error) {
	if xid == 0 {
		c.xid++
		xid = c.xid
	}
	e := proto.NewEncoder(make([]byte, 0, 16+len(body)))
	off := proto.BeginFrame(e)
	h := proto.RequestHeader{Xid: xid, Type: op}
	h.Encode(e)
	e.Raw(body)
	proto.EndFrame(e, off)
	return xid, c.write(e.Bytes())
}

// await reads frames until the reply with xid arrives; notifications read on the way are
// returned in order. Any other frame is an error.
func (c *rawConn) await(xid int32) (frame, []proto.WatcherEvent, error) {
	var evs []proto.WatcherEvent
	for {
		f, err := c.readFrame()
		if err != nil {
			return f, evs, err
		}
		if f.hdr.Xid == proto.XidNotification {
			var ev proto.WatcherEvent
			if err := proto.Unmarshal(f.body, &ev); err != nil {
				return f, evs, fmt.Errorf("notification: %w", err)
			}
			evs = append(evs, ev)
			continue
		}
		if f.hdr.Xid != xid {
			return f, evs, fmt.Errorf("reply xid %d while waiting for %d (err %d)", f.hdr.Xid, xid, f.hdr.Err)
		}
		return f, evs, nil
	}
}

// ping sends a ping and reads up to its reply: every notification for a change applied
// before the ping was processed precedes the reply.
func (c *rawConn) ping() ([]proto.WatcherEvent, error) {
	if _, err := c.send(proto.XidPing, proto.OpPing, nil); err != nil {
		return nil, err
	}
	_, evs, err := c.await(proto.XidPing)
	return evs, err
}

// waitClosed reads until the server closes the connection (EOF), returning any
// notifications and the number of other frames seen.
func (c *rawConn) waitClosed() ([]proto.WatcherEvent, int, error) {
	var evs []proto.WatcherEvent
	others := 0
	for {
		f, err := c.readFrame()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				return evs, others, nil
			}
			return evs, others, err
		}
		if f.hdr.Xid == proto.XidNotification {
			var ev proto.WatcherEvent
			_ = proto.Unmarshal(f.body, &ev)
			evs = append(evs, ev)
		} else {
			others++
		}
	}
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && !ne.Timeout()
}

func (c *rawConn) close() {
	if c != nil && c.c != nil {
		c.c.Close()
		c.dead = true
	}
}

package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

const (
	handshakeTimeout = 5 * time.Second
	// snapshotIdle bounds how long a snapshot stream may stall.
	snapshotIdle = 30 * time.Second
)

func (t *Transport) acceptLoop() {
	defer t.wg.Done()
	var tempDelay time.Duration
	for {
		conn, err := t.ln.Accept()
		if err != nil {
			if t.ctx.Err() != nil {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || !errors.Is(err, net.ErrClosed) {
				tempDelay = min(max(2*tempDelay, 5*time.Millisecond), time.Second)
				t.lg.Warn("accepting peer connection failed; retrying", "err", err, "delay", tempDelay)
				select {
				case <-time.After(tempDelay):
				case <-t.ctx.Done():
					return
				}
				continue
			}
			return
		}
		tempDelay = 0
		tuneConn(conn)
		if !t.track(conn) {
			conn.Close()
			return
		}
		t.wg.Add(1)
		go func() {
			defer t.wg.Done()
			defer t.untrack(conn)
			t.serveConn(conn)
		}()
	}
}

func (t *Transport) track(c net.Conn) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	t.inbound[c] = struct{}{}
	return true
}

func (t *Transport) untrack(c net.Conn) {
	c.Close()
	t.mu.Lock()
	delete(t.inbound, c)
	t.mu.Unlock()
}

// serveConn runs the handshake of an accepted connection, then reads its
// stream.
func (t *Transport) serveConn(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	conn.SetDeadline(time.Now().Add(handshakeTimeout))
	br := bufio.NewReaderSize(conn, 64<<10)
	hs, err := readHandshake(br)
	if err != nil {
		t.lg.Warn("bad handshake on the peer port", "remote", conn.RemoteAddr().String(), "err", err)
		return
	}
	var reason string
	switch {
	case hs.clusterID != t.cfg.ClusterID:
		reason = fmt.Sprintf("cluster id mismatch: member %x belongs to cluster %q, this member (%x) to %q",
			hs.from, hs.clusterID, t.cfg.ID, t.cfg.ClusterID)
	case hs.to != t.cfg.ID:
		reason = fmt.Sprintf("member %x dialled %s expecting member %x, but this is member %x; check the peer addresses",
			hs.from, conn.LocalAddr(), hs.to, t.cfg.ID)
	case hs.from == t.cfg.ID:
		reason = fmt.Sprintf("a member claiming this member's own id %x connected from %s; two members share an id", hs.from, conn.RemoteAddr())
	case hs.kind != kindStream && hs.kind != kindSnapshot:
		reason = fmt.Sprintf("unknown stream kind %d", hs.kind)
	}
	if reason != "" {
		t.lg.Error("refusing peer connection", "remote", conn.RemoteAddr().String(), "reason", reason)
		writeStatus(conn, statusRefused, reason)
		return
	}
	if err := writeStatus(conn, statusOK, ""); err != nil {
		return
	}
	conn.SetDeadline(time.Time{})
	if hs.kind == kindSnapshot {
		t.receiveSnapshot(conn, br, hs.from)
		return
	}
	t.readStream(br, hs.from)
}

// readStream hands every frame of a message stream to the handler until the
// stream ends; a stream that ends without a goodbye is a lost peer.
func (t *Transport) readStream(br *bufio.Reader, from uint64) {
	for {
		typ, p, err := readFrame(br)
		if err == nil {
			err = t.handleFrame(from, typ, p)
		}
		if err == nil {
			continue
		}
		if t.ctx.Err() != nil {
			return
		}
		if errors.Is(err, errGoodbye) {
			t.lg.Debug("peer closed its stream on purpose", "peer", fmt.Sprintf("%x", from))
			return
		}
		gone := isPeerGone(err)
		t.lg.Info("stream from peer ended", "peer", fmt.Sprintf("%x", from), "err", err, "peerGone", gone)
		if gone {
			t.h.PeerLost(from, err)
		}
		return
	}
}

func (t *Transport) handleFrame(from uint64, typ uint8, p []byte) error {
	switch typ {
	case frameRaft:
		var m raftpb.Message
		if err := m.Unmarshal(p); err != nil {
			return fmt.Errorf("undecodable raft message: %w", err)
		}
		if m.From != from {
			return fmt.Errorf("message from %x on the stream of member %x", m.From, from)
		}
		if m.Type == raftpb.MsgSnap {
			return errors.New("snapshot message on a message stream")
		}
		if err := t.h.Process(t.ctx, m); err != nil && t.ctx.Err() == nil {
			t.lg.Debug("raft refused a message", "from", fmt.Sprintf("%x", from), "type", m.Type, "err", err)
		}
		return nil
	case frameApp:
		if len(p) < 1 {
			return errors.New("empty application frame")
		}
		t.h.App(from, p[0], p[1:])
		return nil
	case frameGoodbye:
		return errGoodbye
	}
	return fmt.Errorf("unknown frame type %d", typ)
}

// deadlineReader refreshes the connection's read deadline before each read,
// so a transfer may take long but not stall.
type deadlineReader struct {
	c    net.Conn
	r    io.Reader
	idle time.Duration
}

func (d deadlineReader) Read(p []byte) (int, error) {
	d.c.SetReadDeadline(time.Now().Add(d.idle))
	return d.r.Read(p)
}

// receiveSnapshot reads one MsgSnap and its file, has the handler store and
// verify the file, steps the message, and reports the outcome to the sender.
func (t *Transport) receiveSnapshot(conn net.Conn, br *bufio.Reader, from uint64) {
	r := deadlineReader{c: conn, r: br, idle: snapshotIdle}
	fail := func(msg string, err error) {
		t.lg.Error("receiving snapshot failed: "+msg, "from", fmt.Sprintf("%x", from), "err", err)
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		writeStatus(conn, statusRefused, fmt.Sprintf("%s: %v", msg, err))
	}
	typ, p, err := readFrame(r)
	if err != nil {
		fail("reading the snapshot message", err)
		return
	}
	var m raftpb.Message
	if typ != frameRaft {
		fail("reading the snapshot message", fmt.Errorf("frame type %d", typ))
		return
	}
	if err := m.Unmarshal(p); err != nil || m.Type != raftpb.MsgSnap || m.From != from || m.Snapshot == nil {
		fail("reading the snapshot message", fmt.Errorf("not a MsgSnap from %x (err %v)", from, err))
		return
	}
	var szb [8]byte
	if _, err := io.ReadFull(r, szb[:]); err != nil {
		fail("reading the snapshot size", err)
		return
	}
	size := int64(binary.BigEndian.Uint64(szb[:]))
	if size < 0 {
		fail("reading the snapshot size", fmt.Errorf("size %d", size))
		return
	}
	t0 := time.Now()
	lr := &io.LimitedReader{R: r, N: size}
	if err := t.h.ReceiveSnapshot(&m, lr, size); err != nil {
		fail(fmt.Sprintf("storing snapshot at index %d", m.Snapshot.Metadata.Index), err)
		return
	}
	if lr.N != 0 {
		fail("storing snapshot", fmt.Errorf("handler left %d of %d bytes unread", lr.N, size))
		return
	}
	if err := t.h.Process(t.ctx, m); err != nil {
		fail("stepping the snapshot message", err)
		return
	}
	t.lg.Info("received snapshot", "from", fmt.Sprintf("%x", from), "index", m.Snapshot.Metadata.Index,
		"term", m.Snapshot.Metadata.Term, "bytes", size, "took", time.Since(t0).Round(time.Millisecond))
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	writeStatus(conn, statusOK, "")
}

package server

import (
	"context"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"strings"
	"time"

	"github.com/corral-io/corral/internal/tree"
	"github.com/corral-io/corral/proto"
)

// handle routes one request frame. It returns a reason to close the connection, or "".
func (c *conn) handle(frame []byte) string {
	s := c.s
	if len(frame) < 8 {
		return "malformed request header"
	}
	var h proto.RequestHeader
	d := proto.NewDecoder(frame)
	h.Decode(d)
	body := frame[8:]
	now := time.Now()
	sid := c.sessionID.Load()
	s.sessions.touch(sid, now)
	r := &request{xid: h.Xid, op: h.Type, body: body, start: now, cost: len(frame)}
	c.stats.lastOp.Store(int32(h.Type))
	if c.readOnly {
		switch h.Type {
		case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL, proto.OpDelete,
			proto.OpSetData, proto.OpSetACL, proto.OpCheck, proto.OpMulti, proto.OpCloseSession, proto.OpSync, proto.OpReconfig:
			c.notReadOnly(r)
			return ""
		}
	}
	switch h.Type {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL, proto.OpDelete,
		proto.OpSetData, proto.OpSetACL, proto.OpCheck, proto.OpMulti:
		if s.lowDisk.Load() {
			s.metrics.lowDiskRej.Inc()
			r.kind, r.done = kindLocal, true
			r.frame = replyFrame(r.xid, s.applied.Load(), proto.ErrQuotaExceeded, nil)
			c.enqueue(r)
			return ""
		}
		r.kind = kindWrite
		c.mu.Lock()
		auth := c.auth[:len(c.auth):len(c.auth)] // c.auth is only ever appended to
		c.mu.Unlock()
		c.enqueue(r)
		e := &tree.Entry{Kind: tree.KindRequest, SessionID: sid, Op: h.Type, Body: body, Auth: auth, Time: now.UnixMilli()}
		if c.hasNewSession.Load() {
			// The session's first write: its creation goes in the same entry.
			c.regMu.Lock()
			defer c.regMu.Unlock()
			if ns := c.takeNewSessionLocked(); ns != nil {
				e.Kind, e.Timeout, e.Passwd = tree.KindSessionRequest, ns.Timeout, ns.Passwd
				c.hasNewSession.Store(false)
			}
		}
		return c.proposeFor(r, e)
	case proto.OpCloseSession:
		if c.hasNewSession.Load() {
			c.regMu.Lock()
			ns := c.takeNewSessionLocked()
			c.hasNewSession.Store(false)
			c.regMu.Unlock()
			if ns != nil {
				// Closed before anything of it reached the log: there is nothing
				// to close but the connection.
				r.kind, r.done = kindLocal, true
				r.frame = replyFrame(r.xid, s.applied.Load(), proto.ErrOK, nil)
				r.closeAfter = true
				c.stopReading = true
				c.enqueue(r)
				return ""
			}
		}
		r.kind = kindWrite
		c.enqueue(r)
		return c.proposeFor(r, &tree.Entry{Kind: tree.KindCloseSession, SessionID: sid, Time: now.UnixMilli()})
	case proto.OpSync:
		var req proto.PathRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			return "malformed sync request"
		}
		r.kind = kindAsync
		c.enqueue(r)
		go c.sync(r, req.Path)
		return ""
	case proto.OpReconfig:
		return c.reconfig(r) // reconfig.go
	case proto.OpAuth:
		frame, reason := c.authenticate(r)
		r.done, r.frame = true, frame
		if reason != "" {
			r.closeAfter = true
			c.stopReading = true
			s.log.Warn("authentication failed; closing connection", "remote", c.remote, "reason", reason)
		}
		c.enqueue(r)
		return ""
	case proto.OpPing, proto.OpExists, proto.OpGetData, proto.OpGetACL, proto.OpGetChildren, proto.OpGetChildren2,
		proto.OpGetAllChildrenNum, proto.OpGetEphemerals, proto.OpMultiRead, proto.OpSetWatches, proto.OpSetWatches2,
		proto.OpAddWatch, proto.OpCheckWatches, proto.OpRemoveWatches, proto.OpWhoAmI, proto.OpSASL:
		r.kind = kindLocal
		c.enqueue(r)
		return ""
	default:
		r.kind = kindLocal
		r.done = true
		r.frame = replyFrame(h.Xid, -1, proto.ErrUnimplemented, nil)
		r.closeAfter = true
		c.stopReading = true
		s.log.Warn("unknown opcode; closing connection", "remote", c.remote, "op", int32(h.Type))
		c.enqueue(r)
		return ""
	}
}

// proposeFor proposes the entry of a write request already in the FIFO. Proposing
// waits only for raft to take the entry, which it does at once while a leader is
// known; raftnode fails the call when the leader is lost, and the watchdog closes
// the connection if the entry is not committed in time. So no deadline of its own
// (a timer and two contexts per write).
func (c *conn) proposeFor(r *request, e *tree.Entry) string {
	if err := c.s.propose(context.Background(), e, waiter{c: c, req: r}); err != nil {
		// The request cannot be answered in order: close rather than reorder.
		return "proposal failed: " + err.Error()
	}
	return ""
}

// readBarrier waits, at most d, until this member has applied every write
// committed before the call (raft's ReadIndex, then the apply).
func (s *Server) readBarrier(d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	idx, err := s.node.ReadIndex(ctx)
	if err == nil {
		err = s.node.WaitApplied(ctx, idx)
	}
	return err
}

// sync waits for a linearizable read barrier, then answers.
func (c *conn) sync(r *request, path string) {
	s := c.s
	if err := s.readBarrier(c.sessionTimeout()); err != nil {
		c.close("sync failed: " + err.Error())
		return
	}
	s.mu.RLock()
	c.completeLocked(r, replyFrame(r.xid, s.applied.Load(), proto.ErrOK, &proto.PathRequest{Path: path}))
	s.mu.RUnlock()
}

// authenticate handles an auth packet when it is read, so that the writes after it carry
// the new identity. It returns the reply, and a reason when the connection must close.
func (c *conn) authenticate(r *request) ([]byte, string) {
	var ap proto.AuthPacket
	if err := proto.Unmarshal(r.body, &ap); err != nil {
		return replyFrame(r.xid, 0, proto.ErrAuthFailed, nil), "malformed auth packet"
	}
	switch ap.Scheme {
	case "digest":
		user, pass, ok := strings.Cut(string(ap.Auth), ":")
		if !ok {
			return replyFrame(r.xid, 0, proto.ErrAuthFailed, nil), "digest auth without user:password"
		}
		id := proto.ID{Scheme: "digest", ID: DigestID(user, pass)}
		// As ZooKeeper's DigestAuthenticationProvider: the super user's digest also
		// gives the super id (listed first), which every ACL check lets through.
		super := c.s.cfg.SuperDigest != "" && id.ID == c.s.cfg.SuperDigest
		c.mu.Lock()
		if super && !containsID(c.auth, superID) {
			c.auth = append(c.auth, superID)
		}
		if !containsID(c.auth, id) {
			c.auth = append(c.auth, id)
		}
		c.mu.Unlock()
		if super {
			c.s.log.Info("client authenticated as the super user", "remote", c.remote, "session", sessionHex(c.sessionID.Load()))
		}
	case "ip":
		// The ip identity comes from the connection itself; nothing to add.
	default:
		return replyFrame(r.xid, 0, proto.ErrAuthFailed, nil), fmt.Sprintf("unsupported auth scheme %q", ap.Scheme)
	}
	return replyFrame(r.xid, 0, proto.ErrOK, nil), ""
}

// superID is the id a client authenticated as the super user holds besides its digest id.
var superID = proto.ID{Scheme: "super", ID: ""}

// DigestID returns the digest scheme's id for a user and password:
// user:base64(sha1(user:password)).
func DigestID(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

func containsID(ids []proto.ID, id proto.ID) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// execLocal runs a request that needs only this member's state. The tree lock (read or
// write) and c.mu are held. It returns the reply frame and whether to close after it.
func (s *Server) execLocal(c *conn, r *request) ([]byte, bool) {
	zxid := s.applied.Load()
	switch r.op {
	case proto.OpPing:
		return replyFrame(r.xid, zxid, proto.ErrOK, nil), false
	case proto.OpExists, proto.OpGetData, proto.OpGetChildren, proto.OpGetChildren2:
		var req proto.PathWatchRequest
		if err := proto.Unmarshal(r.body, &req); err != nil {
			return replyFrame(r.xid, zxid, proto.ErrMarshallingError, nil), true
		}
		res := s.configRead(r.op, req.Path, s.tree.Read(c.sessionID.Load(), c.auth, r.op, r.body))
		if req.Watch && (res.Err == proto.ErrOK || (r.op == proto.OpExists && res.Err == proto.ErrNoNode)) {
			k := watchData
			if r.op == proto.OpGetChildren || r.op == proto.OpGetChildren2 {
				k = watchChild
			}
			s.watchMu.Lock()
			s.watches.add(k, req.Path, c)
			s.watchMu.Unlock()
		}
		return replyFrame(r.xid, zxid, res.Err, res.Resp), false
	case proto.OpGetACL, proto.OpGetAllChildrenNum, proto.OpGetEphemerals, proto.OpMultiRead:
		res := s.tree.Read(c.sessionID.Load(), c.auth, r.op, r.body)
		return replyFrame(r.xid, zxid, res.Err, res.Resp), false
	case proto.OpSetWatches, proto.OpSetWatches2:
		return s.setWatches(c, r, zxid)
	case proto.OpAddWatch, proto.OpCheckWatches, proto.OpRemoveWatches:
		return s.watchOp(c, r, zxid)
	case proto.OpWhoAmI:
		return replyFrame(r.xid, zxid, proto.ErrOK, &proto.WhoAmIResponse{Clients: whoAmI(c.auth)}), false
	default: // sasl and anything else without a server side here
		return replyFrame(r.xid, zxid, proto.ErrUnimplemented, nil), true
	}
}

// watchOp handles addWatch, checkWatches and removeWatches.
func (s *Server) watchOp(c *conn, r *request, zxid int64) ([]byte, bool) {
	var req proto.WatchTypeRequest
	if err := proto.Unmarshal(r.body, &req); err != nil {
		return replyFrame(r.xid, zxid, proto.ErrMarshallingError, nil), true
	}
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if r.op == proto.OpAddWatch {
		switch req.Type {
		case proto.AddWatchPersistent:
			s.watches.add(watchPersistent, req.Path, c)
		case proto.AddWatchPersistentRecursive:
			s.watches.add(watchRecursive, req.Path, c)
		default:
			return replyFrame(r.xid, zxid, proto.ErrMarshallingError, nil), false
		}
		return replyFrame(r.xid, zxid, proto.ErrOK, &proto.IntResponse{}), false
	}
	var kinds []watchKind
	switch req.Type {
	case proto.WatcherChildren:
		kinds = []watchKind{watchChild}
	case proto.WatcherData:
		kinds = []watchKind{watchData}
	case proto.WatcherAny:
		kinds = []watchKind{watchData, watchChild, watchPersistent, watchRecursive}
	default:
		return replyFrame(r.xid, zxid, proto.ErrMarshallingError, nil), false
	}
	found := false
	if req.Path == "" {
		// The reference never matches a watch on the empty path.
		kinds = nil
	}
	for _, k := range kinds {
		if r.op == proto.OpRemoveWatches {
			found = s.watches.remove(k, req.Path, c) || found
		} else if s.watches.has(k, req.Path, c) {
			found = true
		}
	}
	if !found {
		return replyFrame(r.xid, zxid, proto.ErrNoWatcher, nil), false
	}
	return replyFrame(r.xid, zxid, proto.ErrOK, nil), false
}

// setWatches re-registers a reconnecting client's watches, firing at once those whose
// node changed after the client's last seen zxid.
func (s *Server) setWatches(c *conn, r *request, zxid int64) ([]byte, bool) {
	var sw proto.SetWatches
	d := proto.NewDecoder(r.body)
	if r.op == proto.OpSetWatches2 {
		sw.Decode2(d)
	} else {
		sw.Decode(d)
	}
	if d.Err() != nil {
		return replyFrame(r.xid, zxid, proto.ErrMarshallingError, nil), true
	}
	rel := sw.RelativeZxid
	stat := s.tree.Stat
	event := func(t proto.EventType, path string) {
		e := proto.NewEncoder(nil)
		proto.AppendReply(e, proto.ReplyHeader{Xid: proto.XidNotification, Zxid: -1},
			&proto.WatcherEvent{Type: t, State: proto.StateSyncConnected, Path: path})
		c.queueLocked(e.Bytes())
	}
	s.watchMu.Lock()
	for _, p := range sw.DataWatches {
		if st, ok := stat(p); !ok {
			event(proto.EventNodeDeleted, p)
		} else if st.Mzxid > rel {
			event(proto.EventNodeDataChanged, p)
		} else {
			s.watches.add(watchData, p, c)
		}
	}
	for _, p := range sw.ExistWatches {
		if _, ok := stat(p); ok {
			event(proto.EventNodeCreated, p)
		} else {
			s.watches.add(watchData, p, c)
		}
	}
	for _, p := range sw.ChildWatches {
		if st, ok := stat(p); !ok {
			event(proto.EventNodeDeleted, p)
		} else if st.Pzxid > rel {
			event(proto.EventNodeChildrenChanged, p)
		} else {
			s.watches.add(watchChild, p, c)
		}
	}
	for _, p := range sw.PersistentWatches {
		s.watches.add(watchPersistent, p, c)
	}
	for _, p := range sw.PersistentRecursiveWatches {
		s.watches.add(watchRecursive, p, c)
	}
	s.watchMu.Unlock()
	return replyFrame(r.xid, zxid, proto.ErrOK, nil), false
}

// whoAmI lists a connection's identities as ZooKeeper reports them: a digest id by
// its user name alone (two passwords of one user show as the user twice).
func whoAmI(auth []proto.ID) []proto.ID {
	out := make([]proto.ID, 0, len(auth))
	var ips []proto.ID
	for _, id := range auth {
		if id.Scheme == "ip" {
			ips = append(ips, id) // listed last, as the reference does
			continue
		}
		if id.Scheme == "digest" {
			if user, _, ok := strings.Cut(id.ID, ":"); ok {
				id.ID = user
			}
		}
		out = append(out, id)
	}
	return append(out, ips...)
}

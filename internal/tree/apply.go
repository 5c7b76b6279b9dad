package tree

import (
	"github.com/corral-io/corral/proto"
)

// IsWrite reports whether op changes the tree and so must go through the log: create,
// create2, createContainer, createTTL, delete, setData, setACL, check and multi. Reads,
// sync, watches, auth and pings are served by the member holding the connection.
func IsWrite(op proto.OpCode) bool {
	switch op {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL,
		proto.OpDelete, proto.OpSetData, proto.OpSetACL, proto.OpCheck, proto.OpMulti:
		return true
	}
	return false
}

// opCtx is what an operation needs from its entry.
type opCtx struct {
	zxid    int64
	now     int64
	session int64
	auth    []proto.ID
}

// Apply applies one committed entry at zxid (the raft index) and returns its outcome.
// It is deterministic: the result and the new state depend only on the current state
// and the entry. A failed request still counts: LastZxid becomes zxid and the caller
// replies with it. Apply never panics on any entry content.
func (t *Tree) Apply(zxid int64, e *Entry) Result {
	t.cow = t.nodes.views.Load() > 0
	t.lastZxid = zxid
	switch e.Kind {
	case KindSessionRequest:
		if res := t.createSession(e); res.Err != proto.ErrOK {
			return res
		}
		fallthrough // the session is open now: the write as any other
	case KindRequest:
		if _, ok := t.sessions[e.SessionID]; !ok {
			return Result{Err: proto.ErrSessionExpired}
		}
		c := &opCtx{zxid: zxid, now: e.Time, session: e.SessionID, auth: e.Auth}
		return t.applyRequest(c, e.Op, e.Body)
	case KindCreateSession:
		return t.createSession(e)
	case KindCloseSession:
		return t.closeSession(zxid, e)
	case KindDeleteContainer:
		return t.deleteContainer(zxid, e)
	}
	return Result{Err: proto.ErrBadArguments}
}

// nullPath reports whether a record that starts with a path carries a null string
// there: ZooKeeper then fails with a NullPointerException, answered MARSHALLINGERROR
// (an empty path is a different case: BADARGUMENTS for writes, the root for reads).
func nullPath(body []byte) bool {
	return len(body) >= 4 && body[0] == 0xff && body[1] == 0xff && body[2] == 0xff && body[3] == 0xff
}

func (t *Tree) applyRequest(c *opCtx, op proto.OpCode, body []byte) Result {
	if !IsWrite(op) {
		switch op {
		case proto.OpExists, proto.OpGetData, proto.OpGetACL, proto.OpGetChildren, proto.OpGetChildren2,
			proto.OpGetAllChildrenNum, proto.OpGetEphemerals, proto.OpMultiRead:
			return t.Read(c.session, c.auth, op, body)
		}
		return Result{Err: proto.ErrUnimplemented}
	}
	if op == proto.OpMulti {
		return t.applyMulti(c, body)
	}
	if nullPath(body) {
		return Result{Err: proto.ErrMarshallingError}
	}
	switch op {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		var req proto.CreateRequest
		d := proto.NewDecoder(body)
		if op == proto.OpCreateTTL {
			req.DecodeTTL(d)
		} else {
			req.Decode(d)
		}
		if d.Err() != nil {
			return Result{Err: proto.ErrMarshallingError}
		}
		kind, seq, code := createMode(op, req.Flags, req.TTL)
		if code != proto.ErrOK {
			return Result{Err: code}
		}
		path, n, ev, code := t.create(c, &req, kind, seq)
		if code != proto.ErrOK {
			return Result{Err: code}
		}
		// The reply and the events are allocated together: one allocation less per
		// create.
		if op == proto.OpCreate {
			r := &struct {
				resp proto.CreateResponse
				ev   [2]Event
			}{proto.CreateResponse{Path: path}, ev}
			return Result{Resp: &r.resp, Events: r.ev[:]}
		}
		r := &struct {
			resp proto.Create2Response
			ev   [2]Event
		}{proto.Create2Response{Path: path, Stat: n.stat()}, ev}
		return Result{Resp: &r.resp, Events: r.ev[:]}
	case proto.OpDelete, proto.OpCheck:
		var req proto.DeleteRequest
		if proto.Unmarshal(body, &req) != nil {
			return Result{Err: proto.ErrMarshallingError}
		}
		if op == proto.OpCheck {
			if code := t.check(c, req.Path, req.Version); code != proto.ErrOK {
				return Result{Err: code}
			}
			return Result{Resp: proto.Empty{}}
		}
		ev, code := t.delete(c, req.Path, req.Version)
		if code != proto.ErrOK {
			return Result{Err: code}
		}
		return Result{Resp: proto.Empty{}, Events: ev}
	case proto.OpSetData:
		var req proto.SetDataRequest
		if proto.Unmarshal(body, &req) != nil {
			return Result{Err: proto.ErrMarshallingError}
		}
		st, ev, code := t.setData(c, &req)
		if code != proto.ErrOK {
			return Result{Err: code}
		}
		return Result{Resp: &proto.StatResponse{Stat: st}, Events: ev}
	case proto.OpSetACL:
		var req proto.SetACLRequest
		if proto.Unmarshal(body, &req) != nil {
			return Result{Err: proto.ErrMarshallingError}
		}
		st, code := t.setACL(c, &req)
		if code != proto.ErrOK {
			return Result{Err: code}
		}
		return Result{Resp: &proto.StatResponse{Stat: st}}
	}
	return Result{Err: proto.ErrUnimplemented}
}

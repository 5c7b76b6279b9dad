package tree

import (
	"github.com/corral-io/corral/proto"
)

// multiCreate resolves a create sub-op of a multi the way ZooKeeper's
// MultiOperationRecord rebuilds it (Op.create): the opcode is derived from the flags, not
// taken from the wire. So create2 becomes create (result without Stat), flags 4 become a
// container whatever the opcode, createTTL with non-TTL flags becomes a plain create
// (ttl ignored), and TTL flags under a non-createTTL opcode cannot be cast: the whole
// multi fails with MARSHALLINGERROR (castFails). Container and TTL creates report
// their result as create2 (path and Stat). Unknown flags fail the op with BADARGUMENTS.
func multiCreate(op *proto.MultiOp) (kind nodeKind, seq bool, resType proto.OpCode, castFails bool, code proto.Code) {
	flags, ttl := op.Create.Flags, op.Create.TTL
	if isTTLFlags(flags) {
		if op.Type != proto.OpCreateTTL {
			return 0, false, 0, true, proto.ErrOK
		}
		if ttl <= 0 || ttl > proto.MaxTTL {
			return 0, false, 0, false, proto.ErrBadArguments
		}
		return kindTTL, flags == proto.ModePersistentSequentialWithTTL, proto.OpCreate2, false, proto.ErrOK
	}
	switch flags {
	case proto.ModeContainer:
		return kindContainer, false, proto.OpCreate2, false, proto.ErrOK
	case proto.ModePersistent:
		return kindPersistent, false, proto.OpCreate, false, proto.ErrOK
	case proto.ModePersistentSequential:
		return kindPersistent, true, proto.OpCreate, false, proto.ErrOK
	case proto.ModeEphemeral:
		return kindEphemeral, false, proto.OpCreate, false, proto.ErrOK
	case proto.ModeEphemeralSequential:
		return kindEphemeral, true, proto.OpCreate, false, proto.ErrOK
	}
	return 0, false, 0, false, proto.ErrBadArguments
}

// applyMulti runs the ops of a multi at one zxid, each seeing the effects of the ones
// before. If one fails, every change is undone and no event is emitted; the results
// are then ErrorResult(0) for the ops before it, its own code, and
// RUNTIMEINCONSISTENCY after it, and Result.Err is the failing code (ZooKeeper's reply
// header itself carries 0 for a multi). Read ops in a multi, an undecodable body and the
// TTL cast quirk (see multiCreate) fail the whole multi with MARSHALLINGERROR.
func (t *Tree) applyMulti(c *opCtx, body []byte) Result {
	var req proto.MultiRequest
	if proto.Unmarshal(body, &req) != nil {
		return Result{Err: proto.ErrMarshallingError}
	}
	for i := range req.Ops {
		switch req.Ops[i].Type {
		case proto.OpGetData, proto.OpGetChildren:
			return Result{Err: proto.ErrMarshallingError}
		}
	}
	results := make([]proto.MultiResult, 0, len(req.Ops))
	var events []Event
	t.recording, t.undo = true, t.undo[:0]
	defer func() { t.recording, t.undo = false, t.undo[:0] }()
	for i := range req.Ops {
		op := &req.Ops[i]
		res, ev, code, castFails := t.multiOp(c, op)
		if castFails {
			t.rollback()
			return Result{Err: proto.ErrMarshallingError}
		}
		if code != proto.ErrOK {
			t.rollback()
			out := make([]proto.MultiResult, len(req.Ops))
			for j := range out {
				switch {
				case j < i:
					out[j] = proto.MultiResult{Type: proto.OpError, Err: proto.ErrOK}
				case j == i:
					out[j] = proto.MultiResult{Type: proto.OpError, Err: code}
				default:
					out[j] = proto.MultiResult{Type: proto.OpError, Err: proto.ErrRuntimeInconsistency}
				}
			}
			return Result{Err: code, Resp: &proto.MultiResponse{Results: out}}
		}
		results = append(results, res)
		events = append(events, ev...)
	}
	return Result{Resp: &proto.MultiResponse{Results: results}, Events: events}
}

func (t *Tree) rollback() {
	t.recording = false
	for i := len(t.undo) - 1; i >= 0; i-- {
		t.undo[i]()
		t.undo[i] = nil
	}
	t.undo = t.undo[:0]
}

func (t *Tree) multiOp(c *opCtx, op *proto.MultiOp) (proto.MultiResult, []Event, proto.Code, bool) {
	switch op.Type {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		kind, seq, resType, castFails, code := multiCreate(op)
		if castFails || code != proto.ErrOK {
			return proto.MultiResult{}, nil, code, castFails
		}
		path, n, ev, code := t.create(c, &op.Create, kind, seq)
		if code != proto.ErrOK {
			return proto.MultiResult{}, nil, code, false
		}
		res := proto.MultiResult{Type: resType, Path: path}
		if resType == proto.OpCreate2 {
			res.Stat = n.stat()
		}
		return res, ev[:], proto.ErrOK, false
	case proto.OpDelete:
		ev, code := t.delete(c, op.Delete.Path, op.Delete.Version)
		return proto.MultiResult{Type: proto.OpDelete}, ev, code, false
	case proto.OpCheck:
		code := t.check(c, op.Delete.Path, op.Delete.Version)
		return proto.MultiResult{Type: proto.OpCheck}, nil, code, false
	case proto.OpSetData:
		st, ev, code := t.setData(c, &op.SetData)
		return proto.MultiResult{Type: proto.OpSetData, Stat: st}, ev, code, false
	}
	return proto.MultiResult{}, nil, proto.ErrMarshallingError, true
}

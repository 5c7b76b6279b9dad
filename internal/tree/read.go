package tree

import (
	"sort"
	"strings"

	"github.com/corral-io/corral/proto"
)

// Read serves a read request against the current state: exists (3), getData (4),
// getACL (6), getChildren (8), getChildren2 (12), getAllChildrenNumber (104),
// getEphemerals (103, the caller's own ephemerals) and multiRead (22). body is the
// request record as received; auth are the caller's ids. Reads do not validate path
// syntax (a malformed path does not exist; "" is the root), except exists, which
// rejects NUL with BADARGUMENTS. Read registers no watches and changes nothing.
// Children are returned sorted.
func (t *Tree) Read(sessionID int64, auth []proto.ID, op proto.OpCode, body []byte) Result {
	switch op {
	case proto.OpExists, proto.OpGetData, proto.OpGetChildren, proto.OpGetChildren2:
		if nullPath(body) {
			return Result{Err: proto.ErrMarshallingError}
		}
		var req proto.PathWatchRequest
		if proto.Unmarshal(body, &req) != nil {
			return Result{Err: proto.ErrMarshallingError}
		}
		switch op {
		case proto.OpExists:
			if strings.IndexByte(req.Path, 0) >= 0 {
				return Result{Err: proto.ErrBadArguments}
			}
			n := t.nodes.get(lookupKey(req.Path))
			if n == nil {
				return Result{Err: proto.ErrNoNode}
			}
			return Result{Resp: &proto.StatResponse{Stat: n.stat()}}
		case proto.OpGetData:
			data, st, code := t.getData(req.Path, auth)
			if code != proto.ErrOK {
				return Result{Err: code}
			}
			return Result{Resp: &proto.GetDataResponse{Data: data, Stat: st}}
		default:
			children, st, code := t.getChildren(req.Path, auth)
			if code != proto.ErrOK {
				return Result{Err: code}
			}
			if op == proto.OpGetChildren {
				return Result{Resp: &proto.GetChildrenResponse{Children: children}}
			}
			return Result{Resp: &proto.GetChildren2Response{Children: children, Stat: st}}
		}
	case proto.OpGetACL, proto.OpGetAllChildrenNum:
		if nullPath(body) {
			return Result{Err: proto.ErrMarshallingError}
		}
		var req proto.PathRequest
		if proto.Unmarshal(body, &req) != nil {
			return Result{Err: proto.ErrMarshallingError}
		}
		n := t.nodes.get(lookupKey(req.Path))
		if n == nil {
			return Result{Err: proto.ErrNoNode}
		}
		if op == proto.OpGetACL {
			if !checkACL(n.acl, proto.PermRead|proto.PermAdmin, auth) {
				return Result{Err: proto.ErrNoAuth}
			}
			acl := n.acl.acl
			if checkACL(n.acl, proto.PermAdmin, auth) {
				acl = append([]proto.ACL(nil), acl...)
			} else {
				acl = redactACL(acl)
			}
			return Result{Resp: &proto.GetACLResponse{ACL: acl, Stat: n.stat()}}
		}
		if !checkACL(n.acl, proto.PermRead, auth) {
			return Result{Err: proto.ErrNoAuth}
		}
		count := t.countBelow(lookupKey(req.Path), n)
		if req.Path == "" {
			count++ // ZooKeeper counts keys starting with "/": the root's "/" key too
		}
		return Result{Resp: &proto.IntResponse{Value: int32(count)}}
	case proto.OpGetEphemerals:
		var req proto.PathRequest
		if proto.Unmarshal(body, &req) != nil {
			return Result{Err: proto.ErrMarshallingError}
		}
		return Result{Resp: &proto.StringsResponse{Values: t.sessionEphemerals(sessionID, req.Path)}}
	case proto.OpMultiRead:
		return t.multiRead(auth, body)
	}
	return Result{Err: proto.ErrUnimplemented}
}

func (t *Tree) getData(path string, auth []proto.ID) ([]byte, proto.Stat, proto.Code) {
	n := t.nodes.get(lookupKey(path))
	if n == nil {
		return nil, proto.Stat{}, proto.ErrNoNode
	}
	if !checkACL(n.acl, proto.PermRead, auth) {
		return nil, proto.Stat{}, proto.ErrNoAuth
	}
	return n.data(), n.stat(), proto.ErrOK
}

func (t *Tree) getChildren(path string, auth []proto.ID) ([]string, proto.Stat, proto.Code) {
	n := t.nodes.get(lookupKey(path))
	if n == nil {
		return nil, proto.Stat{}, proto.ErrNoNode
	}
	if !checkACL(n.acl, proto.PermRead, auth) {
		return nil, proto.Stat{}, proto.ErrNoAuth
	}
	return n.children().sorted(), n.stat(), proto.ErrOK
}

// countBelow counts the nodes below n, whose path is path.
func (t *Tree) countBelow(path string, n *node) int {
	count := 0
	prefix := path + "/"
	if path == rootPath {
		prefix = rootPath
	}
	for name := range n.children().all() {
		count++
		if c := t.nodes.get(prefix + name); c != nil && c.nchildren() > 0 {
			count += t.countBelow(prefix+name, c)
		}
	}
	return count
}

// sessionEphemerals implements getEphemerals: the session's ephemerals whose path
// starts with prefix; an empty or "/" prefix (after trimming spaces) returns them all.
func (t *Tree) sessionEphemerals(sessionID int64, prefix string) []string {
	s := t.sessions[sessionID]
	out := []string{}
	if s == nil {
		return out
	}
	p := strings.TrimSpace(prefix)
	all := p == "" || p == rootPath
	for path := range s.ephemerals {
		if all || strings.HasPrefix(path, prefix) {
			out = append(out, path)
		}
	}
	sort.Strings(out)
	return out
}

// multiRead runs getData and getChildren sub-reads independently against the current
// state; a failing one yields an error result without affecting the others. Any
// other op type fails the whole request with MARSHALLINGERROR.
func (t *Tree) multiRead(auth []proto.ID, body []byte) Result {
	var req proto.MultiRequest
	if proto.Unmarshal(body, &req) != nil {
		return Result{Err: proto.ErrMarshallingError}
	}
	results := make([]proto.MultiResult, 0, len(req.Ops))
	for i := range req.Ops {
		op := &req.Ops[i]
		switch op.Type {
		case proto.OpGetData:
			data, st, code := t.getData(op.Read.Path, auth)
			if code != proto.ErrOK {
				results = append(results, proto.MultiResult{Type: proto.OpError, Err: code})
				continue
			}
			results = append(results, proto.MultiResult{Type: proto.OpGetData, Data: data, Stat: st})
		case proto.OpGetChildren:
			children, _, code := t.getChildren(op.Read.Path, auth)
			if code != proto.ErrOK {
				results = append(results, proto.MultiResult{Type: proto.OpError, Err: code})
				continue
			}
			results = append(results, proto.MultiResult{Type: proto.OpGetChildren, Children: children})
		default:
			return Result{Err: proto.ErrMarshallingError}
		}
	}
	return Result{Resp: &proto.MultiResponse{Results: results}}
}

// Permits reports whether a caller with the ids auth has one of the perm bits on
// the node at path, as ZooKeeperServer.checkACL decides it (the super id passes);
// false if there is no such node.
func (t *Tree) Permits(path string, perm int32, auth []proto.ID) bool {
	n := t.nodes.get(lookupKey(path))
	return n != nil && checkACL(n.acl, perm, auth)
}

// Stat returns the Stat of the node at path, as exists would, without ACL checks
// or request decoding (the server uses it to replay watches on reconnect).
func (t *Tree) Stat(path string) (proto.Stat, bool) {
	n := t.nodes.get(lookupKey(path))
	if n == nil {
		return proto.Stat{}, false
	}
	return n.stat(), true
}

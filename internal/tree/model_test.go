package tree

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/corral-io/corral/proto"
)

// mnode is the model's znode: a flat record, children found by scanning.
type mnode struct {
	data                           []byte
	acl                            []proto.ACL
	czxid, mzxid, pzxid, ctime, mt int64
	owner                          int64
	version, cversion, aversion    int32
	kind                           nodeKind
}

type msess struct {
	timeout int32
	passwd  []byte
	created int64
}

// model is a deliberately naive reimplementation of the tree's semantics.
type model struct {
	nodes    map[string]*mnode
	sessions map[int64]*msess
	zxid     int64
}

func newModel() *model {
	open := proto.WorldACL(proto.PermAll)
	return &model{
		nodes: map[string]*mnode{
			"/":                 {data: []byte{}, acl: open},
			"/zookeeper":        {data: []byte{}, acl: open},
			"/zookeeper/quota":  {data: []byte{}, acl: open},
			"/zookeeper/config": {data: []byte{}, acl: proto.WorldACL(proto.PermRead), aversion: -1},
		},
		sessions: map[int64]*msess{},
	}
}

func (m *model) clone() *model {
	c := &model{nodes: map[string]*mnode{}, sessions: m.sessions, zxid: m.zxid}
	for p, n := range m.nodes {
		cp := *n
		c.nodes[p] = &cp
	}
	return c
}

func (m *model) children(p string) []string {
	var out []string
	for q := range m.nodes {
		if q != "/" && parentOf(q) == p {
			out = append(out, q[strings.LastIndexByte(q, '/')+1:])
		}
	}
	sort.Strings(out)
	return out
}

func (m *model) stat(p string) proto.Stat {
	n := m.nodes[p]
	nc := int32(len(m.children(p)))
	var owner int64
	if n.kind == kindEphemeral {
		owner = n.owner
	}
	return proto.Stat{Czxid: n.czxid, Mzxid: n.mzxid, Ctime: n.ctime, Mtime: n.mt, Version: n.version,
		Cversion: 2*n.cversion - nc, Aversion: n.aversion, EphemeralOwner: owner, DataLength: int32(len(n.data)),
		NumChildren: nc, Pzxid: n.pzxid}
}

func (m *model) dump() string {
	var b strings.Builder
	var paths []string
	for p := range m.nodes {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	fmt.Fprintf(&b, "zxid %d\n", m.zxid)
	for _, p := range paths {
		n := m.nodes[p]
		fmt.Fprintf(&b, "%s %q %+v acl=%v kind=%d owner=%d ic=%d\n", p, n.data, m.stat(p), n.acl, n.kind, n.owner, n.cversion)
	}
	var ids []int64
	for id := range m.sessions {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		s := m.sessions[id]
		var eph []string
		for _, p := range paths {
			if n := m.nodes[p]; n.kind == kindEphemeral && n.owner == id {
				eph = append(eph, p)
			}
		}
		fmt.Fprintf(&b, "session %d %d %q %d %v\n", id, s.timeout, s.passwd, s.created, eph)
	}
	return b.String()
}

func acl1(a *mnode) *aclEntry { return &aclEntry{acl: a.acl} }

func (m *model) create(c *opCtx, req *proto.CreateRequest, kind nodeKind, seq bool) (string, []Event, proto.Code) {
	path := req.Path
	i := strings.LastIndexByte(path, '/')
	if i < 0 || strings.ContainsRune(path, 0) {
		return "", nil, proto.ErrBadArguments
	}
	pp := path[:i]
	if pp == "" {
		pp = "/"
	}
	acl, code := fixupACL(c.auth, req.ACL)
	if code != 0 {
		return "", nil, code
	}
	parent := m.nodes[pp]
	if parent == nil {
		return "", nil, proto.ErrNoNode
	}
	if !checkACL(acl1(parent), proto.PermCreate, c.auth) {
		return "", nil, proto.ErrNoAuth
	}
	if seq {
		path += fmt.Sprintf("%010d", parent.cversion)
	}
	if !validPath(path) {
		return "", nil, proto.ErrBadArguments
	}
	if m.nodes[path] != nil {
		return "", nil, proto.ErrNodeExists
	}
	if parent.kind == kindEphemeral {
		return "", nil, proto.ErrNoChildrenForEphemerals
	}
	n := &mnode{data: req.Data, acl: acl, czxid: c.zxid, mzxid: c.zxid, pzxid: c.zxid, ctime: c.now, mt: c.now, kind: kind}
	if kind == kindEphemeral {
		n.owner = c.session
	} else if kind == kindTTL {
		n.owner = req.TTL
	}
	m.nodes[path] = n
	parent.cversion++
	parent.pzxid = c.zxid
	return path, []Event{{Type: proto.EventNodeCreated, Path: path}, {Type: proto.EventNodeChildrenChanged, Path: pp}}, 0
}

func (m *model) del(c *opCtx, path string, version int32) ([]Event, proto.Code) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 || strings.ContainsRune(path, 0) || path == "/" || path == "/zookeeper" || path == "/zookeeper/quota" || path == "/zookeeper/config" {
		return nil, proto.ErrBadArguments
	}
	pp := path[:i]
	if pp == "" {
		pp = "/"
	}
	parent := m.nodes[pp]
	if parent == nil {
		return nil, proto.ErrNoNode
	}
	if !checkACL(acl1(parent), proto.PermDelete, c.auth) {
		return nil, proto.ErrNoAuth
	}
	n := m.nodes[path]
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if version != -1 && version != n.version {
		return nil, proto.ErrBadVersion
	}
	if len(m.children(path)) > 0 {
		return nil, proto.ErrNotEmpty
	}
	return m.remove(path, c.zxid), 0
}

func (m *model) remove(path string, zxid int64) []Event {
	delete(m.nodes, path)
	pp := parentOf(path)
	if zxid > m.nodes[pp].pzxid {
		m.nodes[pp].pzxid = zxid
	}
	return []Event{{Type: proto.EventNodeDeleted, Path: path}, {Type: proto.EventNodeChildrenChanged, Path: pp}}
}

func (m *model) setData(c *opCtx, req *proto.SetDataRequest) (proto.Stat, []Event, proto.Code) {
	if !validPath(req.Path) {
		return proto.Stat{}, nil, proto.ErrBadArguments
	}
	n := m.nodes[req.Path]
	if n == nil {
		return proto.Stat{}, nil, proto.ErrNoNode
	}
	if !checkACL(acl1(n), proto.PermWrite, c.auth) {
		return proto.Stat{}, nil, proto.ErrNoAuth
	}
	if req.Version != -1 && req.Version != n.version {
		return proto.Stat{}, nil, proto.ErrBadVersion
	}
	n.data, n.version, n.mzxid, n.mt = req.Data, n.version+1, c.zxid, c.now
	return m.stat(req.Path), []Event{{Type: proto.EventNodeDataChanged, Path: req.Path}}, 0
}

func (m *model) check(c *opCtx, path string, version int32) proto.Code {
	if !validPath(path) {
		return proto.ErrBadArguments
	}
	n := m.nodes[path]
	if n == nil {
		return proto.ErrNoNode
	}
	if !checkACL(acl1(n), proto.PermRead, c.auth) {
		return proto.ErrNoAuth
	}
	if version != -1 && version != n.version {
		return proto.ErrBadVersion
	}
	return 0
}

func (m *model) apply(zxid int64, e *Entry) Result {
	m.zxid = zxid
	switch e.Kind {
	case KindSessionRequest:
		if s, ok := m.sessions[e.SessionID]; ok {
			if s.timeout != e.Timeout || !bytes.Equal(s.passwd, e.Passwd) {
				return Result{Err: proto.ErrBadArguments}
			}
		} else {
			m.sessions[e.SessionID] = &msess{timeout: e.Timeout, passwd: e.Passwd, created: e.Time}
		}
		c := &opCtx{zxid: zxid, now: e.Time, session: e.SessionID, auth: e.Auth}
		return m.request(c, e.Op, e.Body)
	case KindCreateSession:
		if s, ok := m.sessions[e.SessionID]; ok {
			if s.timeout == e.Timeout && bytes.Equal(s.passwd, e.Passwd) {
				return Result{}
			}
			return Result{Err: proto.ErrBadArguments}
		}
		m.sessions[e.SessionID] = &msess{timeout: e.Timeout, passwd: e.Passwd, created: e.Time}
		return Result{}
	case KindCloseSession:
		if m.sessions[e.SessionID] == nil {
			return Result{}
		}
		var paths []string
		for p, n := range m.nodes {
			if n.kind == kindEphemeral && n.owner == e.SessionID {
				paths = append(paths, p)
			}
		}
		sort.Strings(paths)
		var ev []Event
		for _, p := range paths {
			ev = append(ev, m.remove(p, zxid)...)
		}
		delete(m.sessions, e.SessionID)
		return Result{Events: ev}
	case KindDeleteContainer:
		n := m.nodes[e.Path]
		if n == nil || e.Path == "/" {
			return Result{Err: proto.ErrNoNode}
		}
		if n.kind != kindContainer && n.kind != kindTTL {
			return Result{Err: proto.ErrBadVersion}
		}
		if len(m.children(e.Path)) > 0 {
			return Result{Err: proto.ErrNotEmpty}
		}
		ok := false
		if n.kind == kindContainer {
			ok = n.cversion != 0 || (e.MaxNeverUsed != 0 && e.Time-n.mt > e.MaxNeverUsed)
		} else {
			ok = e.Time-n.mt > n.owner
		}
		if !ok {
			return Result{Err: proto.ErrBadVersion}
		}
		return Result{Resp: proto.Empty{}, Events: m.remove(e.Path, zxid)}
	case KindRequest:
		if m.sessions[e.SessionID] == nil {
			return Result{Err: proto.ErrSessionExpired}
		}
		c := &opCtx{zxid: zxid, now: e.Time, session: e.SessionID, auth: e.Auth}
		return m.request(c, e.Op, e.Body)
	}
	return Result{Err: proto.ErrBadArguments}
}

func (m *model) request(c *opCtx, op proto.OpCode, body []byte) Result {
	switch op {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		var req proto.CreateRequest
		d := proto.NewDecoder(body)
		if op == proto.OpCreateTTL {
			req.DecodeTTL(d)
		} else {
			req.Decode(d)
		}
		kind, seq, code := createMode(op, req.Flags, req.TTL)
		if code != 0 {
			return Result{Err: code}
		}
		p, ev, code := m.create(c, &req, kind, seq)
		if code != 0 {
			return Result{Err: code}
		}
		if op == proto.OpCreate {
			return Result{Resp: &proto.CreateResponse{Path: p}, Events: ev}
		}
		return Result{Resp: &proto.Create2Response{Path: p, Stat: m.stat(p)}, Events: ev}
	case proto.OpDelete, proto.OpCheck:
		var req proto.DeleteRequest
		proto.Unmarshal(body, &req)
		if op == proto.OpCheck {
			if code := m.check(c, req.Path, req.Version); code != 0 {
				return Result{Err: code}
			}
			return Result{Resp: proto.Empty{}}
		}
		ev, code := m.del(c, req.Path, req.Version)
		if code != 0 {
			return Result{Err: code}
		}
		return Result{Resp: proto.Empty{}, Events: ev}
	case proto.OpSetData:
		var req proto.SetDataRequest
		proto.Unmarshal(body, &req)
		st, ev, code := m.setData(c, &req)
		if code != 0 {
			return Result{Err: code}
		}
		return Result{Resp: &proto.StatResponse{Stat: st}, Events: ev}
	case proto.OpSetACL:
		var req proto.SetACLRequest
		proto.Unmarshal(body, &req)
		if !validPath(req.Path) {
			return Result{Err: proto.ErrBadArguments}
		}
		acl, code := fixupACL(c.auth, req.ACL)
		if code != 0 {
			return Result{Err: code}
		}
		n := m.nodes[req.Path]
		if n == nil {
			return Result{Err: proto.ErrNoNode}
		}
		if !checkACL(acl1(n), proto.PermAdmin, c.auth) {
			return Result{Err: proto.ErrNoAuth}
		}
		if req.Version != -1 && req.Version != n.aversion {
			return Result{Err: proto.ErrBadVersion}
		}
		n.acl, n.aversion = acl, n.aversion+1
		return Result{Resp: &proto.StatResponse{Stat: m.stat(req.Path)}}
	case proto.OpMulti:
		var req proto.MultiRequest
		proto.Unmarshal(body, &req)
		scratch := m.clone()
		var results []proto.MultiResult
		var events []Event
		for i := range req.Ops {
			op := &req.Ops[i]
			var res proto.MultiResult
			var ev []Event
			code := proto.Code(0)
			switch op.Type {
			case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
				kind, seq, typ, cast, c2 := multiCreate(op)
				if cast {
					return Result{Err: proto.ErrMarshallingError}
				}
				code = c2
				if code == 0 {
					var p string
					p, ev, code = scratch.create(c, &op.Create, kind, seq)
					res = proto.MultiResult{Type: typ, Path: p}
					if typ == proto.OpCreate2 && code == 0 {
						res.Stat = scratch.stat(p)
					}
				}
			case proto.OpDelete:
				ev, code = scratch.del(c, op.Delete.Path, op.Delete.Version)
				res.Type = proto.OpDelete
			case proto.OpCheck:
				code = scratch.check(c, op.Delete.Path, op.Delete.Version)
				res.Type = proto.OpCheck
			case proto.OpSetData:
				res.Type = proto.OpSetData
				res.Stat, ev, code = scratch.setData(c, &op.SetData)
			}
			if code != 0 {
				out := make([]proto.MultiResult, len(req.Ops))
				for j := range out {
					out[j] = proto.MultiResult{Type: proto.OpError, Err: proto.ErrRuntimeInconsistency}
					if j < i {
						out[j].Err = 0
					} else if j == i {
						out[j].Err = code
					}
				}
				return Result{Err: code, Resp: &proto.MultiResponse{Results: out}}
			}
			results = append(results, res)
			events = append(events, ev...)
		}
		m.nodes = scratch.nodes
		if results == nil {
			results = []proto.MultiResult{}
		}
		return Result{Resp: &proto.MultiResponse{Results: results}, Events: events}
	}
	return Result{Err: proto.ErrUnimplemented}
}

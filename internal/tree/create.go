package tree

import (
	"strconv"
	"strings"

	"github.com/corral-io/corral/proto"
)

func isTTLFlags(flags int32) bool {
	return flags == proto.ModePersistentWithTTL || flags == proto.ModePersistentSequentialWithTTL
}

// createMode resolves a top-level create's opcode, flags and ttl into the node kind and
// whether the name gets a sequential suffix, validating as PrepRequestProcessor does
// (CreateMode.fromFlag, then EphemeralType.validateTTL):
//   - flags outside 0..6 are BADARGUMENTS;
//   - TTL flags need a ttl in 1..MaxTTL, other flags a negative ttl (plain create sends
//     -1), else BADARGUMENTS;
//   - createTTL with non-TTL flags is BADARGUMENTS (the reference crashes for a
//     negative ttl; see ZOOKEEPER.md Part 4);
//   - createContainer makes a container whatever the flags (flags 2 and 3 still add a
//     sequential suffix); create/create2 with flags 4 make a persistent node (observed
//     on 3.8.0: such a node is never reaped).
func createMode(op proto.OpCode, flags int32, ttl int64) (nodeKind, bool, proto.Code) {
	if flags < 0 || flags > proto.ModePersistentSequentialWithTTL {
		return 0, false, proto.ErrBadArguments
	}
	if op != proto.OpCreateTTL {
		ttl = -1
	}
	isTTL := isTTLFlags(flags)
	if isTTL {
		if ttl <= 0 || ttl > proto.MaxTTL {
			return 0, false, proto.ErrBadArguments
		}
	} else if ttl >= 0 || op == proto.OpCreateTTL {
		return 0, false, proto.ErrBadArguments
	}
	seq := flags == proto.ModePersistentSequential || flags == proto.ModeEphemeralSequential ||
		flags == proto.ModePersistentSequentialWithTTL
	switch {
	case op == proto.OpCreateContainer:
		return kindContainer, seq, proto.ErrOK
	case isTTL:
		return kindTTL, seq, proto.ErrOK
	case flags == proto.ModeEphemeral || flags == proto.ModeEphemeralSequential:
		return kindEphemeral, seq, proto.ErrOK
	}
	return kindPersistent, seq, proto.ErrOK
}

// create makes a znode of the given kind after ZooKeeper's checks, in its order:
// a path without '/' or with NUL is BADARGUMENTS; then INVALIDACL; the parent must exist
// (NONODE) and grant CREATE (NOAUTH); the sequential suffix (the parent's creation
// counter, %010d) is appended; the full path must be valid (BADARGUMENTS) and free
// (NODEEXISTS); an ephemeral parent gives NOCHILDRENFOREPHEMERALS.
func (t *Tree) create(c *opCtx, req *proto.CreateRequest, kind nodeKind, seq bool) (string, *node, [2]Event, proto.Code) {
	path := req.Path
	parentPath, _, ok := splitPath(path)
	if !ok || strings.IndexByte(path, 0) >= 0 {
		return "", nil, [2]Event{}, proto.ErrBadArguments
	}
	acl, code := fixupACL(c.auth, req.ACL)
	if code != proto.ErrOK {
		return "", nil, [2]Event{}, code
	}
	parent := t.nodes.get(parentPath)
	if parent == nil {
		return "", nil, [2]Event{}, proto.ErrNoNode
	}
	if !checkACL(parent.acl, proto.PermCreate, c.auth) {
		return "", nil, [2]Event{}, proto.ErrNoAuth
	}
	if seq {
		path = seqName(path, parent.cversion())
	}
	if !validPath(path) {
		return "", nil, [2]Event{}, proto.ErrBadArguments
	}
	if t.nodes.get(path) != nil {
		return "", nil, [2]Event{}, proto.ErrNodeExists
	}
	if parent.kind() == kindEphemeral {
		return "", nil, [2]Event{}, proto.ErrNoChildrenForEphemerals
	}
	n := newNode(path, req.Data, kind)
	n.acl = t.internACL(acl)
	n.czxid, n.mzxid = c.zxid, c.zxid // and pzxid (no ext yet)
	n.ctime, n.mtime = c.now, c.now
	switch kind {
	case kindEphemeral:
		n.setOwner(c.session)
	case kindTTL:
		n.setOwner(req.TTL)
	}
	t.addChild(path, n, parentPath, parent, c.zxid)
	return path, n, [2]Event{
		{Type: proto.EventNodeCreated, Path: path, ACL: n.acl.acl},
		{Type: proto.EventNodeChildrenChanged, Path: parentPath, ACL: aclOf(parent)},
	}, proto.ErrOK
}

// seqName appends a sequential node's counter to path as ZooKeeper does
// (String.format("%010d")): ten digits, zero-padded; a negative counter (after
// 2^31 creations) keeps its sign within the ten places.
func seqName(path string, n int32) string {
	b := append(make([]byte, 0, len(path)+11), path...)
	v, width := int64(n), 10
	if v < 0 {
		b = append(b, '-')
		v, width = -v, 9
	}
	var num [10]byte
	d := strconv.AppendInt(num[:0], v, 10)
	for range width - len(d) {
		b = append(b, '0')
	}
	return string(append(b, d...))
}

package tree

import (
	"strings"

	"github.com/corral-io/corral/proto"
)

// versionMatches implements checkAndIncVersion's test: -1 matches any version.
func versionMatches(current, expected int32) bool { return expected == -1 || expected == current }

// delete removes a childless znode. Order of checks (PrepRequestProcessor): a path
// without '/', with NUL, or a reserved path is BADARGUMENTS; the parent must exist
// (NONODE) and grant DELETE (NOAUTH); then the node must exist (NONODE), match the
// version (BADVERSION) and have no children (NOTEMPTY). No path syntax check: a
// malformed path simply does not exist.
func (t *Tree) delete(c *opCtx, path string, version int32) ([]Event, proto.Code) {
	parentPath, _, ok := splitPath(path)
	if !ok || strings.IndexByte(path, 0) >= 0 || isSpecialPath(path) {
		return nil, proto.ErrBadArguments
	}
	parent := t.nodes.get(parentPath)
	if parent == nil {
		return nil, proto.ErrNoNode
	}
	if !checkACL(parent.acl, proto.PermDelete, c.auth) {
		return nil, proto.ErrNoAuth
	}
	n := t.nodes.get(path)
	if n == nil {
		return nil, proto.ErrNoNode
	}
	if !versionMatches(n.version, version) {
		return nil, proto.ErrBadVersion
	}
	if n.nchildren() > 0 {
		return nil, proto.ErrNotEmpty
	}
	return t.deleteChild(path, n, parentPath, parent, c.zxid), proto.ErrOK
}

// setData replaces a znode's data: BADARGUMENTS for an invalid path, then NONODE,
// NOAUTH (WRITE), BADVERSION. Identical data still bumps the version.
func (t *Tree) setData(c *opCtx, req *proto.SetDataRequest) (proto.Stat, []Event, proto.Code) {
	if !validPath(req.Path) {
		return proto.Stat{}, nil, proto.ErrBadArguments
	}
	n := t.nodes.get(req.Path)
	if n == nil {
		return proto.Stat{}, nil, proto.ErrNoNode
	}
	if !checkACL(n.acl, proto.PermWrite, c.auth) {
		return proto.Stat{}, nil, proto.ErrNoAuth
	}
	if !versionMatches(n.version, req.Version) {
		return proto.Stat{}, nil, proto.ErrBadVersion
	}
	n = t.setNodeData(req.Path, n, req.Data, n.version+1, c.zxid, c.now)
	return n.stat(), []Event{{Type: proto.EventNodeDataChanged, Path: req.Path, ACL: aclOf(n)}}, proto.ErrOK
}

// setACL replaces a znode's ACL: BADARGUMENTS for an invalid path, then INVALIDACL,
// NONODE, NOAUTH (ADMIN), BADVERSION (against aversion). Only aversion changes.
func (t *Tree) setACL(c *opCtx, req *proto.SetACLRequest) (proto.Stat, proto.Code) {
	if !validPath(req.Path) {
		return proto.Stat{}, proto.ErrBadArguments
	}
	acl, code := fixupACL(c.auth, req.ACL)
	if code != proto.ErrOK {
		return proto.Stat{}, code
	}
	n := t.nodes.get(req.Path)
	if n == nil {
		return proto.Stat{}, proto.ErrNoNode
	}
	if !checkACL(n.acl, proto.PermAdmin, c.auth) {
		return proto.Stat{}, proto.ErrNoAuth
	}
	if !versionMatches(n.aversion(), req.Version) {
		return proto.Stat{}, proto.ErrBadVersion
	}
	n = t.setNodeACL(req.Path, n, t.internACL(acl), n.aversion()+1)
	return n.stat(), proto.ErrOK
}

// check compares a znode's version: BADARGUMENTS for an invalid path, then NONODE,
// NOAUTH (READ), BADVERSION. It changes nothing.
func (t *Tree) check(c *opCtx, path string, version int32) proto.Code {
	if !validPath(path) {
		return proto.ErrBadArguments
	}
	n := t.nodes.get(path)
	if n == nil {
		return proto.ErrNoNode
	}
	if !checkACL(n.acl, proto.PermRead, c.auth) {
		return proto.ErrNoAuth
	}
	if !versionMatches(n.version, version) {
		return proto.ErrBadVersion
	}
	return proto.ErrOK
}

// Package tree is corral's deterministic state machine: ZooKeeper's data tree of znodes
// with their stats and ACLs, the sessions that own ephemerals, sequential counters,
// containers and TTL nodes. Apply is a pure function of the tree and one committed log
// entry (no clock, no randomness, no I/O); Read serves queries; snapshots stream the
// whole state out and back in; Digest fingerprints it.
//
// A Tree is not safe for concurrent use: the caller serialises Apply, Read and the
// other methods (a read lock suffices for everything except Apply). Byte slices handed
// out in results are never modified by the tree afterwards.
package tree

import (
	"strings"

	"github.com/corral-io/corral/proto"
)

// Tree is the replicated state: znodes, sessions and the last applied zxid.
type Tree struct {
	nodes      nodeMap // see nodemap.go for the copy-on-write scheme
	sessions   map[int64]*session
	acls       map[string]*aclEntry
	containers map[string]struct{}
	ttls       map[string]struct{}
	lastZxid   int64
	ephemerals int
	dataSize   int64
	digest     uint64 // sum of the hashes of nodes and sessions

	recording bool     // inside a multi: record undo steps
	undo      []func() // undo steps of the current multi, in order of application

	cow bool // copy shared shards and nodes before changing them (set per Apply)
}

func newEmpty() *Tree {
	t := &Tree{
		sessions:   make(map[int64]*session),
		acls:       make(map[string]*aclEntry),
		containers: make(map[string]struct{}),
		ttls:       make(map[string]struct{}),
	}
	t.nodes.gen = 1
	return t
}

// New returns the initial tree of a fresh ensemble: "/", "/zookeeper" (world:anyone
// cdrwa), "/zookeeper/config" (world:anyone r, aversion -1) and "/zookeeper/quota", all
// with empty data and zero stats, as ZooKeeper's DataTree starts.
func New() *Tree {
	t := newEmpty()
	open := t.internACL(proto.WorldACL(proto.PermAll))
	special := func(path string, acl *aclEntry, aversion int32) *node {
		n := newNode(path, []byte{}, kindPersistent)
		n.acl = acl
		n.setAversion(aversion)
		return n
	}
	t.insertNode(special(rootPath, open, 0), nil)
	t.insertNode(special(zkPath, open, 0), t.nodes.get(rootPath))
	t.insertNode(special(quotaPath, open, 0), t.nodes.get(zkPath))
	t.insertNode(special(configPath, t.internACL(proto.WorldACL(proto.PermRead)), -1), t.nodes.get(zkPath))
	return t
}

// LastZxid returns the zxid of the last applied entry (0 for a fresh tree).
func (t *Tree) LastZxid() int64 { return t.lastZxid }

// NodeCount returns the number of znodes, the root included.
func (t *Tree) NodeCount() int { return t.nodes.len() }

// EphemeralCount returns the number of ephemeral znodes.
func (t *Tree) EphemeralCount() int { return t.ephemerals }

// ApproxDataSize returns the sum of path and data lengths over all znodes, as
// ZooKeeper's approximateDataSize (mntr zk_approximate_data_size).
func (t *Tree) ApproxDataSize() int64 { return t.dataSize }

// Digest returns a fingerprint of the whole logical state: every znode (path, data,
// stat, ACL, kind), every session and the last applied zxid. Equal states give equal
// digests whatever the history that led to them; it is maintained incrementally, so
// the call is O(1).
func (t *Tree) Digest() uint64 { return mix64(t.digest ^ mix64(uint64(t.lastZxid)+0x9e3779b97f4a7c15)) }

// onUndo records an undo step. Callers test t.recording first, so that outside a
// multi the closure is not even made (it would be an allocation per change).
func (t *Tree) onUndo(f func()) {
	t.undo = append(t.undo, f)
}

// insertNode adds n at its path under parent (nil only for the root) and maintains
// every index: children, session ephemerals, containers, TTLs, counters, ACL refs,
// digest. It does not touch the parent's stat.
func (t *Tree) insertNode(n *node, parent *node) {
	path := n.path()
	if n.gen() == 0 {
		n.setGen(t.nodes.gen) // a new node; a node re-inserted by a rollback keeps its own
	}
	t.nodes.set(n, t.cow)
	if parent != nil {
		parent = t.writable(parentOf(path), parent)
		parent.ensureExt().addChild(childName(path))
	}
	switch n.kind() {
	case kindEphemeral:
		t.ephemerals++
		if s := t.sessions[n.owner()]; s != nil {
			s.addEphemeral(path)
		}
	case kindContainer:
		t.containers[path] = struct{}{}
	case kindTTL:
		t.ttls[path] = struct{}{}
	}
	t.refACL(n.acl)
	t.dataSize += int64(len(path)) + int64(n.dataLen)
	t.digest += hashData(path, n.data()) + hashMeta(path, n)
}

// removeNode is the inverse of insertNode.
func (t *Tree) removeNode(n *node, parent *node) {
	path := n.path()
	t.nodes.del(path, t.cow)
	if parent != nil {
		parent = t.writable(parentOf(path), parent)
		parent.ext.removeChild(childName(path))
	}
	switch n.kind() {
	case kindEphemeral:
		t.ephemerals--
		if s := t.sessions[n.owner()]; s != nil {
			delete(s.ephemerals, path)
		}
	case kindContainer:
		delete(t.containers, path)
	case kindTTL:
		delete(t.ttls, path)
	}
	t.unrefACL(n.acl)
	t.dataSize -= int64(len(path)) + int64(n.dataLen)
	t.digest -= hashData(path, n.data()) + hashMeta(path, n)
}

// childName returns the last segment of path, sharing its memory.
func childName(path string) string { return path[strings.LastIndexByte(path, '/')+1:] }

// setParentStat sets a parent's internal cversion and pzxid, keeping the digest.
func (t *Tree) setParentStat(path string, n *node, cversion int32, pzxid int64) {
	n = t.writable(path, n)
	oldC, oldP := n.cversion(), n.pzxid()
	t.digest -= hashMeta(path, n)
	d := n.ensureExt()
	d.cversion, d.pzxid = cversion, pzxid
	t.digest += hashMeta(path, n)
	if t.recording { // the closure is made only when needed
		t.onUndo(func() { t.setParentStat(path, n, oldC, oldP) })
	}
}

// addChild creates n at path under parent as a create txn does: the parent's creation
// counter goes up and its pzxid becomes zxid.
func (t *Tree) addChild(path string, n *node, parentPath string, parent *node, zxid int64) {
	parent = t.writable(parentPath, parent)
	t.insertNode(n, parent)
	if t.recording { // the closure is made only when needed
		t.onUndo(func() { t.removeNode(n, parent) })
	}
	t.setParentStat(parentPath, parent, parent.cversion()+1, zxid)
}

// deleteChild deletes the childless node at path: the parent's pzxid becomes zxid.
// It returns the two events of a delete.
func (t *Tree) deleteChild(path string, n *node, parentPath string, parent *node, zxid int64) []Event {
	parent = t.writable(parentPath, parent)
	t.removeNode(n, parent)
	if t.recording { // the closure is made only when needed
		t.onUndo(func() { t.insertNode(n, parent) })
	}
	if zxid > parent.pzxid() {
		t.setParentStat(parentPath, parent, parent.cversion(), zxid)
	}
	return []Event{
		{Type: proto.EventNodeDeleted, Path: path, ACL: aclOf(n)},
		{Type: proto.EventNodeChildrenChanged, Path: parentPath, ACL: aclOf(parent)},
	}
}

// setNodeData replaces a node's data and its data-related stat fields. It returns
// the node changed (see writable).
func (t *Tree) setNodeData(path string, n *node, data []byte, version int32, zxid, now int64) *node {
	n = t.writable(path, n)
	oldData, oldV, oldM, oldT := n.data(), n.version, n.mzxid, n.mtime
	t.digest -= hashData(path, oldData) + hashMeta(path, n)
	t.dataSize += int64(len(data) - len(oldData))
	n.setData(data)
	n.version, n.mzxid, n.mtime = version, zxid, now
	t.digest += hashData(path, data) + hashMeta(path, n)
	if t.recording { // the closure is made only when needed
		t.onUndo(func() { t.setNodeData(path, n, oldData, oldV, oldM, oldT) })
	}
	return n
}

// setNodeACL replaces a node's ACL and aversion. It returns the node changed (see
// writable).
func (t *Tree) setNodeACL(path string, n *node, a *aclEntry, aversion int32) *node {
	n = t.writable(path, n)
	oldA, oldV := n.acl, n.aversion()
	t.digest -= hashMeta(path, n)
	t.refACL(a)
	t.unrefACL(n.acl)
	n.acl = a
	n.setAversion(aversion)
	t.digest += hashMeta(path, n)
	if t.recording { // the closure is made only when needed
		t.onUndo(func() { t.setNodeACL(path, n, oldA, oldV) })
	}
	return n
}

package tree

import (
	"unsafe"

	"github.com/corral-io/corral/proto"
)

// nodeKind says what sort of znode a node is. It is kept apart from the owner field so
// that no session id can ever be mistaken for a container or TTL marker.
type nodeKind uint8

const (
	kindPersistent nodeKind = iota
	kindEphemeral           // owner = session id
	kindContainer           // reaped once it had children and has none left
	kindTTL                 // owner = TTL in ms; reaped when childless and mtime is older than TTL
)

// node is one znode. It holds its own path, the key of Tree.nodes (whose table
// holds only node pointers); its name inside the parent's children set is a
// substring of that same string, so no path is stored twice.
//
// A million znodes take a million of these, so the struct is kept to 80 bytes (a Go
// size class; a field more and it takes 96): the path and the data are pointers
// with int32 lengths rather than strings and slices, the kind shares a word with the
// generation, and the fields most znodes leave at their usual values (children and
// their counters, the ephemeral owner or TTL, aversion) live in an ext, allocated
// for the nodes that need one.
type node struct {
	pathPtr *byte // the path (see path)
	dataPtr *byte // the data (see data); nil for a znode created with null data
	ext     *ext  // nil while every field of ext has its usual value (see ext)
	acl     *aclEntry
	czxid   int64
	mzxid   int64
	ctime   int64
	mtime   int64
	pathLen int32
	dataLen int32
	version int32
	genKind uint32 // generation that made this node (see nodemap.go), and kind << genBits
}

// ext holds a node's less common fields. Without an ext a node has no child and
// never had one (pzxid = czxid, cversion = 0), owner 0 and aversion 0. A node's ext
// belongs to that node alone: copying a node for a frozen view (Tree.writable)
// copies its ext too, so the view keeps the values of its time, while the child
// names (which a view never reads) stay shared with the live copy.
type ext struct {
	names    childSet
	pzxid    int64
	owner    int64 // ephemeral: session id; TTL: ttl in ms; otherwise 0
	cversion int32 // internal: number of child creations (the sequential counter)
	n        int32 // names.len(), kept here for frozen views (see above)
	aversion int32
}

// addChild adds a child's name.
func (e *ext) addChild(name string) {
	e.names.add(name)
	e.n = int32(e.names.len())
}

// removeChild removes a child's name; the set's memory goes with the last one (the
// ext stays: it holds pzxid and the counter).
func (e *ext) removeChild(name string) {
	e.names.remove(name)
	e.n = int32(e.names.len())
	if e.n == 0 {
		e.names = childSet{}
	}
}

// path returns the node's path.
func (n *node) path() string { return unsafe.String(n.pathPtr, n.pathLen) }

func (n *node) pzxid() int64 {
	if n.ext == nil {
		return n.czxid
	}
	return n.ext.pzxid
}

func (n *node) cversion() int32 {
	if n.ext == nil {
		return 0
	}
	return n.ext.cversion
}

func (n *node) owner() int64 {
	if n.ext == nil {
		return 0
	}
	return n.ext.owner
}

func (n *node) aversion() int32 {
	if n.ext == nil {
		return 0
	}
	return n.ext.aversion
}

// nchildren returns the number of children (valid in frozen views too).
func (n *node) nchildren() int32 {
	if n.ext == nil {
		return 0
	}
	return n.ext.n
}

// children returns the child names; nil when there are none. Not for frozen views.
func (n *node) children() *childSet {
	if n.ext == nil || n.ext.n == 0 {
		return nil
	}
	return &n.ext.names
}

// initExt sets the fields of a node being loaded (and gives it room for hint
// children): an ext only if some value is not the usual one.
func (n *node) initExt(pzxid int64, cversion int32, hint uint64, owner int64, aversion int32) {
	if pzxid == n.czxid && cversion == 0 && hint == 0 && owner == 0 && aversion == 0 {
		n.ext = nil
		return
	}
	n.ext = &ext{pzxid: pzxid, cversion: cversion, owner: owner, aversion: aversion}
	n.ext.names.init(hint)
}

// ensureExt returns n's ext, made if n has none. n must be writable.
func (n *node) ensureExt() *ext {
	if n.ext == nil {
		n.ext = &ext{pzxid: n.czxid}
	}
	return n.ext
}

// setOwner sets the owner (session or TTL) of a writable node.
func (n *node) setOwner(v int64) {
	if v != 0 || n.ext != nil {
		n.ensureExt().owner = v
	}
}

// setAversion sets the aversion of a writable node.
func (n *node) setAversion(v int32) {
	if v != 0 || n.ext != nil {
		n.ensureExt().aversion = v
	}
}

// genBits is the width of a node's generation; Tree.nodes.gen wraps within it.
const (
	genBits = 30
	genMask = 1<<genBits - 1
)

// data returns the node's data: nil for null data. The slice must not be changed.
func (n *node) data() []byte {
	if n.dataPtr == nil {
		return nil
	}
	return unsafe.Slice(n.dataPtr, n.dataLen)
}

// setData makes b (nil for null data) the node's data; b must not change afterwards.
func (n *node) setData(b []byte) { n.dataPtr, n.dataLen = unsafe.SliceData(b), int32(len(b)) }

func (n *node) kind() nodeKind { return nodeKind(n.genKind >> genBits) }

func (n *node) setKind(k nodeKind) { n.genKind = n.genKind&genMask | uint32(k)<<genBits }

func (n *node) gen() uint32 { return n.genKind & genMask }

func (n *node) setGen(g uint32) { n.genKind = n.genKind&^genMask | g&genMask }

// newNode returns the node at path with the given data and kind.
func newNode(path string, data []byte, kind nodeKind) *node {
	n := &node{pathPtr: unsafe.StringData(path), pathLen: int32(len(path))}
	n.setData(data)
	n.setKind(kind)
	return n
}

// stat returns the Stat clients see: cversion translated from creations to changes,
// container and TTL markers hidden.
func (n *node) stat() proto.Stat {
	nc := n.nchildren()
	var owner int64
	if n.kind() == kindEphemeral {
		owner = n.owner()
	}
	return proto.Stat{
		Czxid:          n.czxid,
		Mzxid:          n.mzxid,
		Ctime:          n.ctime,
		Mtime:          n.mtime,
		Version:        n.version,
		Cversion:       n.cversion()*2 - nc,
		Aversion:       n.aversion(),
		EphemeralOwner: owner,
		DataLength:     n.dataLen,
		NumChildren:    nc,
		Pzxid:          n.pzxid(),
	}
}

// internalOwner returns ZooKeeper's ephemeralOwner encoding of the node (container
// marker, 0xff TTL marker, session id or 0), as ZooKeeper keeps it internally.
func (n *node) internalOwner() int64 {
	switch n.kind() {
	case kindEphemeral:
		return n.owner()
	case kindContainer:
		return proto.ContainerOwner
	case kindTTL:
		return -0x0100000000000000 | n.owner() // 0xff00_0000_0000_0000 | ttl
	}
	return 0
}

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

// node is one znode. The node's own path is the key of Tree.nodes; its name inside
// the parent's children set is a substring of that same string, so no path is stored
// twice.
//
// A million znodes take a million of these, so the struct is kept to 96 bytes (a Go
// size class; a field more and it takes 112): the data is a pointer and an int32
// length rather than a slice, and the kind shares a word with the generation.
type node struct {
	dataPtr  *byte     // the data (see data); nil for a znode created with null data
	children *childSet // child names; nil when there are none
	acl      *aclEntry
	czxid    int64
	mzxid    int64
	pzxid    int64
	ctime    int64
	mtime    int64
	owner    int64 // ephemeral: session id; TTL: ttl in ms; otherwise 0
	dataLen  int32
	version  int32
	cversion int32 // internal: number of child creations (the sequential counter)
	aversion int32
	// nchildren is len(children), kept here because a frozen view reads it while
	// the live copy of the node changes the (shared) children set.
	nchildren int32
	genKind   uint32 // generation that made this node (see nodemap.go), and kind << genBits
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

// newNode returns a node with the given data and kind.
func newNode(data []byte, kind nodeKind) *node {
	n := &node{}
	n.setData(data)
	n.setKind(kind)
	return n
}

// stat returns the Stat clients see: cversion translated from creations to changes,
// container and TTL markers hidden.
func (n *node) stat() proto.Stat {
	nc := int32(n.children.len())
	var owner int64
	if n.kind() == kindEphemeral {
		owner = n.owner
	}
	return proto.Stat{
		Czxid:          n.czxid,
		Mzxid:          n.mzxid,
		Ctime:          n.ctime,
		Mtime:          n.mtime,
		Version:        n.version,
		Cversion:       n.cversion*2 - nc,
		Aversion:       n.aversion,
		EphemeralOwner: owner,
		DataLength:     n.dataLen,
		NumChildren:    nc,
		Pzxid:          n.pzxid,
	}
}

// internalOwner returns ZooKeeper's ephemeralOwner encoding of the node (container
// marker, 0xff TTL marker, session id or 0), as ZooKeeper keeps it internally.
func (n *node) internalOwner() int64 {
	switch n.kind() {
	case kindEphemeral:
		return n.owner
	case kindContainer:
		return proto.ContainerOwner
	case kindTTL:
		return -0x0100000000000000 | n.owner // 0xff00_0000_0000_0000 | ttl
	}
	return 0
}

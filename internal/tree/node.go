package tree

import "github.com/corral-io/corral/proto"

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
type node struct {
	data     []byte              // nil for a znode created with null data
	children map[string]struct{} // child names; nil when there are none
	acl      *aclEntry
	czxid    int64
	mzxid    int64
	pzxid    int64
	ctime    int64
	mtime    int64
	owner    int64 // ephemeral: session id; TTL: ttl in ms; otherwise 0
	version  int32
	cversion int32 // internal: number of child creations (the sequential counter)
	aversion int32
	// nchildren is len(children), kept here because a frozen view reads it while
	// the live copy of the node changes the (shared) children set.
	nchildren int32
	gen       uint32 // generation that made this node (see nodemap.go)
	kind      nodeKind
}

// stat returns the Stat clients see: cversion translated from creations to changes,
// container and TTL markers hidden.
func (n *node) stat() proto.Stat {
	nc := int32(len(n.children))
	var owner int64
	if n.kind == kindEphemeral {
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
		DataLength:     int32(len(n.data)),
		NumChildren:    nc,
		Pzxid:          n.pzxid,
	}
}

// internalOwner returns ZooKeeper's ephemeralOwner encoding of the node (container
// marker, 0xff TTL marker, session id or 0), as ZooKeeper keeps it internally.
func (n *node) internalOwner() int64 {
	switch n.kind {
	case kindEphemeral:
		return n.owner
	case kindContainer:
		return proto.ContainerOwner
	case kindTTL:
		return -0x0100000000000000 | n.owner // 0xff00_0000_0000_0000 | ttl
	}
	return 0
}

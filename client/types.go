package client

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"

	"github.com/corral-io/corral/proto"
)

// Stat is a znode's metadata, as the server sends it. Times are milliseconds since the
// Unix epoch; EphemeralOwner is the owning session's id, or 0 (also for container and
// TTL nodes).
type Stat = proto.Stat

// ACL is one access-control entry: permissions for an identity.
type ACL = proto.ACL

// ID is an identity: a scheme ("world", "digest", "ip", "auth", "sasl"...) and an id.
type ID = proto.ID

// Permission bits of an ACL entry.
const (
	PermRead   = proto.PermRead
	PermWrite  = proto.PermWrite
	PermCreate = proto.PermCreate
	PermDelete = proto.PermDelete
	PermAdmin  = proto.PermAdmin
	PermAll    = proto.PermAll
)

// Common ACLs (ZooDefs.Ids).
var (
	// OpenACLUnsafe gives everyone every permission. It is the default of Create.
	OpenACLUnsafe = []ACL{{Perms: PermAll, ID: ID{Scheme: "world", ID: "anyone"}}}
	// ReadACLUnsafe lets everyone read.
	ReadACLUnsafe = []ACL{{Perms: PermRead, ID: ID{Scheme: "world", ID: "anyone"}}}
	// CreatorAllACL gives every permission to the identities the session has
	// authenticated as (AddAuth or WithDigestAuth); without one the server answers
	// ErrInvalidACL.
	CreatorAllACL = []ACL{{Perms: PermAll, ID: ID{Scheme: "auth", ID: ""}}}
)

// WorldACL returns an ACL giving perms to everyone.
func WorldACL(perms int32) []ACL {
	return []ACL{{Perms: perms, ID: ID{Scheme: "world", ID: "anyone"}}}
}

// DigestACL returns an ACL giving perms to the digest user with this password: the id
// is "user:base64(sha1(user:password))", as ZooKeeper's DigestAuthenticationProvider
// computes it.
func DigestACL(perms int32, user, password string) []ACL {
	return []ACL{{Perms: perms, ID: ID{Scheme: "digest", ID: DigestID(user, password)}}}
}

// DigestID returns the digest scheme's id for user and password.
func DigestID(user, password string) string {
	sum := sha1.Sum([]byte(user + ":" + password))
	return user + ":" + base64.StdEncoding.EncodeToString(sum[:])
}

// CreateMode says what kind of znode Create makes.
type CreateMode int32

// Create modes (the flags of CreateMode.java).
const (
	Persistent                  CreateMode = CreateMode(proto.ModePersistent)
	Ephemeral                   CreateMode = CreateMode(proto.ModeEphemeral)
	PersistentSequential        CreateMode = CreateMode(proto.ModePersistentSequential)
	EphemeralSequential         CreateMode = CreateMode(proto.ModeEphemeralSequential)
	Container                   CreateMode = CreateMode(proto.ModeContainer)
	PersistentWithTTL           CreateMode = CreateMode(proto.ModePersistentWithTTL)
	PersistentSequentialWithTTL CreateMode = CreateMode(proto.ModePersistentSequentialWithTTL)
)

var modeNames = [...]string{"persistent", "ephemeral", "persistent-sequential",
	"ephemeral-sequential", "container", "persistent-ttl", "persistent-sequential-ttl"}

func (m CreateMode) String() string {
	if m >= 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("mode(%d)", int32(m))
}

// IsTTL reports whether the mode needs WithTTL.
func (m CreateMode) IsTTL() bool { return m == PersistentWithTTL || m == PersistentSequentialWithTTL }

// IsSequential reports whether the server appends a sequence number to the name.
func (m CreateMode) IsSequential() bool {
	return m == PersistentSequential || m == EphemeralSequential || m == PersistentSequentialWithTTL
}

// State is the client's view of its session. It is this client's own enumeration, not
// a wire value.
type State int32

// Session states.
const (
	// StateConnecting: no connection yet, or trying the hosts again after a loss.
	StateConnecting State = iota
	// StateConnected: the session is attached to a server that accepts writes.
	StateConnected
	// StateConnectedReadOnly: attached to a read-only server (only with
	// WithReadOnlyAllowed); writes fail with ErrNotReadOnly.
	StateConnectedReadOnly
	// StateDisconnected: the connection dropped; the client is reconnecting and the
	// session may still be alive on the servers.
	StateDisconnected
	// StateExpired: the servers ended the session. Final: every call returns
	// ErrSessionExpired; make a new Conn.
	StateExpired
	// StateAuthFailed: the server rejected an authentication (an unknown scheme, or
	// SASL). The connection is retried without that credential.
	StateAuthFailed
	// StateClosed: Close was called. Final.
	StateClosed
)

var stateNames = [...]string{"Connecting", "Connected", "ConnectedReadOnly", "Disconnected",
	"Expired", "AuthFailed", "Closed"}

func (s State) String() string {
	if s >= 0 && int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", int32(s))
}

// SessionEvent reports a change of session state.
type SessionEvent struct {
	State     State
	Server    string // the server's address, when connected
	SessionID int64
}

// EventType is the type of a watch event. The values are ZooKeeper's
// (Watcher.Event.EventType).
type EventType int32

// Watch event types.
const (
	// EventNone marks the end of a watch for a reason other than a change of the node:
	// Event.Err says why (ErrSessionExpired, ErrClosed). The channel is closed after it.
	EventNone                   EventType = EventType(proto.EventNone)
	EventNodeCreated            EventType = EventType(proto.EventNodeCreated)
	EventNodeDeleted            EventType = EventType(proto.EventNodeDeleted)
	EventNodeDataChanged        EventType = EventType(proto.EventNodeDataChanged)
	EventNodeChildrenChanged    EventType = EventType(proto.EventNodeChildrenChanged)
	EventDataWatchRemoved       EventType = EventType(proto.EventDataWatchRemoved)
	EventChildWatchRemoved      EventType = EventType(proto.EventChildWatchRemoved)
	EventPersistentWatchRemoved EventType = EventType(proto.EventPersistentWatchRemoved)
)

func (t EventType) String() string {
	switch t {
	case EventNone:
		return "None"
	case EventNodeCreated:
		return "NodeCreated"
	case EventNodeDeleted:
		return "NodeDeleted"
	case EventNodeDataChanged:
		return "NodeDataChanged"
	case EventNodeChildrenChanged:
		return "NodeChildrenChanged"
	case EventDataWatchRemoved:
		return "DataWatchRemoved"
	case EventChildWatchRemoved:
		return "ChildWatchRemoved"
	case EventPersistentWatchRemoved:
		return "PersistentWatchRemoved"
	}
	return fmt.Sprintf("EventType(%d)", int32(t))
}

// Event is a watch event. Path is relative to the chroot, like every path of this
// client.
type Event struct {
	Type EventType
	Path string
	// Err is set only with EventNone: why the watch ended.
	Err error
}

func (e Event) String() string {
	if e.Err != nil {
		return fmt.Sprintf("%s %s (%v)", e.Type, e.Path, e.Err)
	}
	return e.Type.String() + " " + e.Path
}

// WatcherType selects the watches RemoveWatches removes.
type WatcherType int32

// Watcher types (Watcher.WatcherType).
const (
	WatcherChildren WatcherType = WatcherType(proto.WatcherChildren)
	WatcherData     WatcherType = WatcherType(proto.WatcherData)
	WatcherAny      WatcherType = WatcherType(proto.WatcherAny)
)

// AddWatchMode is the kind of a persistent watch.
type AddWatchMode int32

// AddWatch modes (ZooDefs.AddWatchModes).
const (
	// WatchPersistent reports every change of the node's data and children (not of
	// the children's data), and stays until removed.
	WatchPersistent AddWatchMode = AddWatchMode(proto.AddWatchPersistent)
	// WatchPersistentRecursive reports NodeCreated, NodeDeleted and NodeDataChanged for
	// the node and all its descendants (never NodeChildrenChanged), until removed.
	WatchPersistentRecursive AddWatchMode = AddWatchMode(proto.AddWatchPersistentRecursive)
)

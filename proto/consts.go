package proto

import "fmt"

// OpCode is a request type (ZooDefs.OpCode).
type OpCode int32

// Request types of ZooKeeper 3.9.
const (
	OpNotification      OpCode = 0
	OpCreate            OpCode = 1
	OpDelete            OpCode = 2
	OpExists            OpCode = 3
	OpGetData           OpCode = 4
	OpSetData           OpCode = 5
	OpGetACL            OpCode = 6
	OpSetACL            OpCode = 7
	OpGetChildren       OpCode = 8
	OpSync              OpCode = 9
	OpPing              OpCode = 11
	OpGetChildren2      OpCode = 12
	OpCheck             OpCode = 13
	OpMulti             OpCode = 14
	OpCreate2           OpCode = 15
	OpReconfig          OpCode = 16
	OpCheckWatches      OpCode = 17
	OpRemoveWatches     OpCode = 18
	OpCreateContainer   OpCode = 19
	OpDeleteContainer   OpCode = 20
	OpCreateTTL         OpCode = 21
	OpMultiRead         OpCode = 22
	OpAuth              OpCode = 100
	OpSetWatches        OpCode = 101
	OpSASL              OpCode = 102
	OpGetEphemerals     OpCode = 103
	OpGetAllChildrenNum OpCode = 104
	OpSetWatches2       OpCode = 105
	OpAddWatch          OpCode = 106
	OpWhoAmI            OpCode = 107
	OpCreateSession     OpCode = -10
	OpCloseSession      OpCode = -11
	OpError             OpCode = -1
)

var opNames = map[OpCode]string{
	OpNotification: "notification", OpCreate: "create", OpDelete: "delete", OpExists: "exists",
	OpGetData: "getData", OpSetData: "setData", OpGetACL: "getACL", OpSetACL: "setACL",
	OpGetChildren: "getChildren", OpSync: "sync", OpPing: "ping", OpGetChildren2: "getChildren2",
	OpCheck: "check", OpMulti: "multi", OpCreate2: "create2", OpReconfig: "reconfig",
	OpCheckWatches: "checkWatches", OpRemoveWatches: "removeWatches",
	OpCreateContainer: "createContainer", OpDeleteContainer: "deleteContainer",
	OpCreateTTL: "createTTL", OpMultiRead: "multiRead", OpAuth: "auth", OpSetWatches: "setWatches",
	OpSASL: "sasl", OpGetEphemerals: "getEphemerals", OpGetAllChildrenNum: "getAllChildrenNumber",
	OpSetWatches2: "setWatches2", OpAddWatch: "addWatch", OpWhoAmI: "whoAmI",
	OpCreateSession: "createSession", OpCloseSession: "closeSession", OpError: "error",
}

func (o OpCode) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", int32(o))
}

// Code is a ZooKeeper error code (KeeperException.Code).
type Code int32

// Error codes of ZooKeeper 3.9. The server never sends a code outside this list.
const (
	ErrOK                       Code = 0
	ErrSystemError              Code = -1
	ErrRuntimeInconsistency     Code = -2
	ErrDataInconsistency        Code = -3
	ErrConnectionLoss           Code = -4
	ErrMarshallingError         Code = -5
	ErrUnimplemented            Code = -6
	ErrOperationTimeout         Code = -7
	ErrBadArguments             Code = -8
	ErrUnknownSession           Code = -12
	ErrNewConfigNoQuorum        Code = -13
	ErrReconfigInProgress       Code = -14
	ErrAPIError                 Code = -100
	ErrNoNode                   Code = -101
	ErrNoAuth                   Code = -102
	ErrBadVersion               Code = -103
	ErrNoChildrenForEphemerals  Code = -108
	ErrNodeExists               Code = -110
	ErrNotEmpty                 Code = -111
	ErrSessionExpired           Code = -112
	ErrInvalidCallback          Code = -113
	ErrInvalidACL               Code = -114
	ErrAuthFailed               Code = -115
	ErrSessionMoved             Code = -118
	ErrNotReadOnly              Code = -119
	ErrEphemeralOnLocalSession  Code = -120
	ErrNoWatcher                Code = -121
	ErrRequestTimeout           Code = -122
	ErrReconfigDisabled         Code = -123
	ErrSessionClosedRequireSASL Code = -124
	ErrQuotaExceeded            Code = -125
	ErrThrottledOp              Code = -127
)

var codeNames = map[Code]string{
	ErrOK: "ok", ErrSystemError: "system error", ErrRuntimeInconsistency: "runtime inconsistency",
	ErrDataInconsistency: "data inconsistency", ErrConnectionLoss: "connection loss",
	ErrMarshallingError: "marshalling error", ErrUnimplemented: "unimplemented",
	ErrOperationTimeout: "operation timeout", ErrBadArguments: "bad arguments",
	ErrUnknownSession: "unknown session", ErrNewConfigNoQuorum: "new config no quorum",
	ErrReconfigInProgress: "reconfig in progress", ErrAPIError: "api error",
	ErrNoNode: "node does not exist", ErrNoAuth: "not authenticated", ErrBadVersion: "bad version",
	ErrNoChildrenForEphemerals: "ephemeral nodes may not have children",
	ErrNodeExists:              "node already exists", ErrNotEmpty: "directory not empty",
	ErrSessionExpired: "session expired", ErrInvalidCallback: "invalid callback",
	ErrInvalidACL: "invalid ACL", ErrAuthFailed: "authentication failed",
	ErrSessionMoved: "session moved", ErrNotReadOnly: "not a read-only call",
	ErrEphemeralOnLocalSession: "ephemeral on local session", ErrNoWatcher: "no watcher",
	ErrRequestTimeout: "request timeout", ErrReconfigDisabled: "reconfig disabled",
	ErrSessionClosedRequireSASL: "session closed because client failed to authenticate",
	ErrQuotaExceeded:            "quota exceeded", ErrThrottledOp: "op throttled",
}

func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("code(%d)", int32(c))
}

// Error makes a Code usable as an error.
func (c Code) Error() string { return fmt.Sprintf("zk: %s (%d)", c.String(), int32(c)) }

// Special xids (ClientCnxn).
const (
	XidNotification int32 = -1
	XidPing         int32 = -2
	XidAuth         int32 = -4
	XidSetWatches   int32 = -8
)

// CreateMode flags (CreateMode.java).
const (
	ModePersistent                  int32 = 0
	ModeEphemeral                   int32 = 1
	ModePersistentSequential        int32 = 2
	ModeEphemeralSequential         int32 = 3
	ModeContainer                   int32 = 4
	ModePersistentWithTTL           int32 = 5
	ModePersistentSequentialWithTTL int32 = 6
)

// Permission bits (ZooDefs.Perms).
const (
	PermRead   int32 = 1
	PermWrite  int32 = 2
	PermCreate int32 = 4
	PermDelete int32 = 8
	PermAdmin  int32 = 16
	PermAll    int32 = 31
)

// EventType is a watch event type (Watcher.Event.EventType).
type EventType int32

// Watch event types.
const (
	EventNone                   EventType = -1
	EventNodeCreated            EventType = 1
	EventNodeDeleted            EventType = 2
	EventNodeDataChanged        EventType = 3
	EventNodeChildrenChanged    EventType = 4
	EventDataWatchRemoved       EventType = 5
	EventChildWatchRemoved      EventType = 6
	EventPersistentWatchRemoved EventType = 7
)

// Keeper states (Watcher.Event.KeeperState) carried in watch events.
const (
	StateDisconnected  int32 = 0
	StateSyncConnected int32 = 3
	StateAuthFailed    int32 = 4
	StateReadOnly      int32 = 5
	StateExpired       int32 = -112
	StateClosed        int32 = 7
)

// Watcher types used by checkWatches and removeWatches (Watcher.WatcherType).
const (
	WatcherChildren   int32 = 1
	WatcherData       int32 = 2
	WatcherAny        int32 = 3
	WatcherPersistent int32 = 4 // not accepted on the wire by 3.8/3.9 for removeWatches
)

// AddWatch modes (ZooDefs.AddWatchModes).
const (
	AddWatchPersistent          int32 = 0
	AddWatchPersistentRecursive int32 = 1
)

// DefaultMaxBuffer is jute.maxbuffer's default (1 MiB - 1).
const DefaultMaxBuffer = 0xfffff

// ContainerOwner is the ephemeralOwner marker of container nodes (internal only).
const ContainerOwner int64 = -0x8000000000000000

// MaxTTL is the largest TTL in milliseconds a TTL node can have (2^40 - 1).
const MaxTTL int64 = 0x000000ffffffffff

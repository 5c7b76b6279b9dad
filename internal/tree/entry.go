package tree

import (
	"errors"
	"fmt"

	"github.com/corral-io/corral/proto"
)

// Kind says what an Entry asks the tree to do.
type Kind uint8

// Entry kinds.
const (
	// KindRequest is a client write: Op and Body hold the request as the client sent it.
	KindRequest Kind = 1
	// KindCreateSession opens session SessionID with Timeout and Passwd.
	KindCreateSession Kind = 2
	// KindCloseSession closes SessionID (client close or expiry) and deletes its
	// ephemerals. Its size does not depend on how many ephemerals the session has.
	KindCloseSession Kind = 3
	// KindDeleteContainer reaps the container or TTL node at Path if it is still due
	// at Time (leader-initiated).
	KindDeleteContainer Kind = 4
	// KindSessionRequest is the first write of a session whose creation rides along
	// with it: it opens session SessionID with Timeout and Passwd, as KindCreateSession
	// (a no-op if it is open already), and then applies Op and Body as KindRequest.
	// One entry instead of two for the commonest start of a session (connect, then
	// create an ephemeral).
	KindSessionRequest Kind = 5
)

// entryVersion is the first byte of every encoded entry: the on-disk format version.
const entryVersion = 1

// Entry is one raft log entry: a deterministic command for the tree. Everything that
// is not in the tree's state (the time, ids, the caller's identities) is stamped into
// the entry by the proposer, so applying it needs no clock and no randomness.
type Entry struct {
	Kind      Kind
	Origin    uint64 // member that proposed the entry
	ReqID     uint64 // proposer-local id that matches the result to a waiting request
	SessionID int64
	Time      int64 // proposer's wall clock, milliseconds since the epoch
	Op        proto.OpCode
	Body      []byte     // KindRequest, KindSessionRequest: the request record
	Auth      []proto.ID // KindRequest, KindSessionRequest: the session's authenticated identities
	Timeout   int32      // KindCreateSession, KindSessionRequest: negotiated timeout in ms
	Passwd    []byte     // KindCreateSession, KindSessionRequest: the session password
	Path      string     // KindDeleteContainer
	// MaxNeverUsed is KindDeleteContainer's znode.container.maxNeverUsedIntervalMs: a
	// container that never had a child is due only when it is non-zero and the
	// container's mtime is older than that. 0 keeps never-used containers.
	MaxNeverUsed int64

	authBuf [1]proto.ID // UnmarshalEntry decodes the first identity here
}

// ErrBadEntry is returned by UnmarshalEntry for bytes that are not an entry.
var ErrBadEntry = errors.New("tree: malformed entry")

// Marshal encodes the entry.
func (e *Entry) Marshal() []byte {
	enc := proto.NewEncoder(make([]byte, 0, 64+len(e.Body)))
	enc.Raw([]byte{entryVersion, byte(e.Kind)})
	enc.Long(int64(e.Origin))
	enc.Long(int64(e.ReqID))
	enc.Long(e.SessionID)
	enc.Long(e.Time)
	switch e.Kind {
	case KindRequest, KindSessionRequest:
		enc.Int(int32(e.Op))
		enc.Int(int32(len(e.Auth)))
		for i := range e.Auth {
			e.Auth[i].Encode(enc)
		}
		enc.Buffer(e.Body)
		if e.Kind == KindSessionRequest {
			enc.Int(e.Timeout)
			enc.Buffer(e.Passwd)
		}
	case KindCreateSession:
		enc.Int(e.Timeout)
		enc.Buffer(e.Passwd)
	case KindDeleteContainer:
		enc.String(e.Path)
		enc.Long(e.MaxNeverUsed)
	}
	return enc.Bytes()
}

// UnmarshalEntry decodes an entry written by Marshal.
func UnmarshalEntry(b []byte) (*Entry, error) {
	if len(b) < 2 || b[0] != entryVersion {
		return nil, fmt.Errorf("%w: bad header", ErrBadEntry)
	}
	e := &Entry{Kind: Kind(b[1])}
	d := proto.NewDecoder(b[2:])
	e.Origin = uint64(d.Long())
	e.ReqID = uint64(d.Long())
	e.SessionID = d.Long()
	e.Time = d.Long()
	switch e.Kind {
	case KindRequest, KindSessionRequest:
		e.Op = proto.OpCode(d.Int())
		n := d.Count(8)
		if n > 0 {
			e.Auth = e.authBuf[:0]
		}
		for i := 0; i < n && d.Err() == nil; i++ {
			var id proto.ID
			id.Decode(d)
			e.Auth = append(e.Auth, id)
		}
		e.Body = d.Buffer()
		if e.Kind == KindSessionRequest {
			e.Timeout = d.Int()
			e.Passwd = d.Buffer()
		}
	case KindCreateSession:
		e.Timeout = d.Int()
		e.Passwd = d.Buffer()
	case KindCloseSession:
	case KindDeleteContainer:
		e.Path = d.String()
		if d.Remaining() >= 8 {
			e.MaxNeverUsed = d.Long()
		}
	default:
		return nil, fmt.Errorf("%w: unknown kind %d", ErrBadEntry, e.Kind)
	}
	if err := d.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadEntry, err)
	}
	return e, nil
}

// Event is a change to the tree that may trigger watches: NodeCreated, NodeDeleted and
// NodeDataChanged name the node, NodeChildrenChanged names the parent. Events come out
// of Apply in the order the changes were made.
type Event struct {
	Type proto.EventType
	Path string
	// ACL is the ACL of the node the event is about (of the parent, for
	// NodeChildrenChanged): only watchers with READ on it are told. Shared: never
	// modify it.
	ACL []proto.ACL
}

// Result is the outcome of applying an entry or serving a read.
type Result struct {
	// Err is the request's error code. For multi it is the first failing op's code, and
	// Resp still carries the per-op results.
	Err proto.Code
	// Resp is the reply body; nil when Err is set (except for multi).
	Resp proto.Record
	// Events are the changes made, for the watch manager.
	Events []Event
}

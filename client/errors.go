package client

import (
	"errors"

	"github.com/corral-io/corral/proto"
)

// Sentinel errors, one per ZooKeeper error code. Every error a call returns for a
// server-side (or connection) failure is an *Error that matches exactly one of these
// with errors.Is:
//
//	if errors.Is(err, client.ErrNoNode) { ... }
//
// The sentinels are proto.Code values, so errors.Is(err, proto.ErrNoNode) works too.
var (
	ErrSystemError              error = proto.ErrSystemError
	ErrRuntimeInconsistency     error = proto.ErrRuntimeInconsistency
	ErrDataInconsistency        error = proto.ErrDataInconsistency
	ErrConnectionLoss           error = proto.ErrConnectionLoss
	ErrMarshallingError         error = proto.ErrMarshallingError
	ErrUnimplemented            error = proto.ErrUnimplemented
	ErrOperationTimeout         error = proto.ErrOperationTimeout
	ErrBadArguments             error = proto.ErrBadArguments
	ErrUnknownSession           error = proto.ErrUnknownSession
	ErrNewConfigNoQuorum        error = proto.ErrNewConfigNoQuorum
	ErrReconfigInProgress       error = proto.ErrReconfigInProgress
	ErrAPIError                 error = proto.ErrAPIError
	ErrNoNode                   error = proto.ErrNoNode
	ErrNoAuth                   error = proto.ErrNoAuth
	ErrBadVersion               error = proto.ErrBadVersion
	ErrNoChildrenForEphemerals  error = proto.ErrNoChildrenForEphemerals
	ErrNodeExists               error = proto.ErrNodeExists
	ErrNotEmpty                 error = proto.ErrNotEmpty
	ErrSessionExpired           error = proto.ErrSessionExpired
	ErrInvalidCallback          error = proto.ErrInvalidCallback
	ErrInvalidACL               error = proto.ErrInvalidACL
	ErrAuthFailed               error = proto.ErrAuthFailed
	ErrSessionMoved             error = proto.ErrSessionMoved
	ErrNotReadOnly              error = proto.ErrNotReadOnly
	ErrEphemeralOnLocalSession  error = proto.ErrEphemeralOnLocalSession
	ErrNoWatcher                error = proto.ErrNoWatcher
	ErrRequestTimeout           error = proto.ErrRequestTimeout
	ErrReconfigDisabled         error = proto.ErrReconfigDisabled
	ErrSessionClosedRequireSASL error = proto.ErrSessionClosedRequireSASL
	ErrQuotaExceeded            error = proto.ErrQuotaExceeded
	ErrThrottledOp              error = proto.ErrThrottledOp
)

// Errors of this client that have no ZooKeeper code.
var (
	// ErrClosed is returned by calls on a Conn after Close.
	ErrClosed = errors.New("zk: connection closed by the client")
	// ErrRolledBack is the per-op error of the operations of a failed transaction that
	// came before the failing one: they succeeded, then were undone. ZooKeeper sends
	// them as code 0 (kazoo's RolledBackError).
	ErrRolledBack = errors.New("zk: rolled back")
	// ErrBadPath is returned, without asking the server, for a path that is not absolute
	// or is otherwise unusable by the client (for example with a chroot).
	ErrBadPath = errors.New("zk: invalid path")
)

// Error is a failed ZooKeeper call: the code the server (or the connection) gave, and
// the path the call was about. errors.Is(err, ErrNoNode) and friends match Code.
// Its message reads like zkCli's ("Node does not exist: /x").
type Error struct {
	Code proto.Code
	Path string // as the caller gave it; empty for calls without a path
}

// Error implements error with the messages of ZooKeeper's own tools: zkCli's for the
// common codes, KeeperException's ("KeeperErrorCode = ConnectionLoss for /x") otherwise.
func (e *Error) Error() string {
	if prefix, ok := cliMessages[e.Code]; ok && e.Path != "" {
		return prefix + e.Path
	}
	msg := "KeeperErrorCode = " + codeMessage(e.Code)
	if e.Path != "" {
		msg += " for " + e.Path
	}
	return msg
}

// Unwrap returns the code's sentinel.
func (e *Error) Unwrap() error { return e.Code }

// CodeOf returns the ZooKeeper code an error carries: proto.ErrOK for nil, and
// proto.ErrSystemError for errors that carry none (context errors, ErrClosed...).
func CodeOf(err error) proto.Code {
	if err == nil {
		return proto.ErrOK
	}
	var c proto.Code
	if errors.As(err, &c) {
		return c
	}
	return proto.ErrSystemError
}

func newError(code proto.Code, path string) error {
	if code == proto.ErrOK {
		return nil
	}
	return &Error{Code: code, Path: path}
}

// cliMessages are zkCli's messages (CliWrapperException), followed by the path.
var cliMessages = map[proto.Code]string{
	proto.ErrNoNode:                  "Node does not exist: ",
	proto.ErrNoChildrenForEphemerals: "Ephemerals cannot have children: ",
	proto.ErrNodeExists:              "Node already exists: ",
	proto.ErrNotEmpty:                "Node not empty: ",
	proto.ErrNotReadOnly:             "Not a read-only call: ",
	proto.ErrInvalidACL:              "Acl is not valid : ",
	proto.ErrNoAuth:                  "Insufficient permission : ",
	proto.ErrBadArguments:            "Arguments are not valid : ",
	proto.ErrBadVersion:              "version No is not valid : ",
}

// codeMessage is KeeperException.getCodeMessage.
func codeMessage(c proto.Code) string {
	switch c {
	case proto.ErrOK:
		return "ok"
	case proto.ErrSystemError:
		return "SystemError"
	case proto.ErrRuntimeInconsistency:
		return "RuntimeInconsistency"
	case proto.ErrDataInconsistency:
		return "DataInconsistency"
	case proto.ErrConnectionLoss:
		return "ConnectionLoss"
	case proto.ErrMarshallingError:
		return "MarshallingError"
	case proto.ErrNewConfigNoQuorum:
		return "NewConfigNoQuorum"
	case proto.ErrReconfigInProgress:
		return "ReconfigInProgress"
	case proto.ErrUnimplemented:
		return "Unimplemented"
	case proto.ErrOperationTimeout:
		return "OperationTimeout"
	case proto.ErrBadArguments:
		return "BadArguments"
	case proto.ErrUnknownSession:
		return "UnknownSession"
	case proto.ErrAPIError:
		return "APIError"
	case proto.ErrNoNode:
		return "NoNode"
	case proto.ErrNoAuth:
		return "NoAuth"
	case proto.ErrBadVersion:
		return "BadVersion"
	case proto.ErrNoChildrenForEphemerals:
		return "NoChildrenForEphemerals"
	case proto.ErrNodeExists:
		return "NodeExists"
	case proto.ErrInvalidACL:
		return "InvalidACL"
	case proto.ErrAuthFailed:
		return "AuthFailed"
	case proto.ErrNotEmpty:
		return "Directory not empty"
	case proto.ErrSessionExpired:
		return "Session expired"
	case proto.ErrInvalidCallback:
		return "Invalid callback"
	case proto.ErrSessionMoved:
		return "Session moved"
	case proto.ErrNotReadOnly:
		return "Not a read-only call"
	case proto.ErrEphemeralOnLocalSession:
		return "Ephemeral node on local session"
	case proto.ErrNoWatcher:
		return "No such watcher"
	case proto.ErrRequestTimeout:
		return "Request timeout"
	case proto.ErrReconfigDisabled:
		return "Reconfig is disabled"
	case proto.ErrSessionClosedRequireSASL:
		return "Session closed because client failed to authenticate"
	case proto.ErrQuotaExceeded:
		return "Quota has exceeded"
	case proto.ErrThrottledOp:
		return "Op throttled due to high load"
	}
	return "Unknown error " + c.String()
}

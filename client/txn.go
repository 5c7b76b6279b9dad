package client

import (
	"context"
	"fmt"

	"github.com/corral-io/corral/proto"
)

// Txn builds a transaction (ZooKeeper's multi): operations that succeed or fail
// together, at one zxid, each seeing the effects of the ones before it. Build it with
// Conn.Txn and the chainable methods, then Commit. A Txn is not safe for concurrent use.
type Txn struct {
	c     *Conn
	ops   []proto.MultiOp
	paths []string // the caller's paths, for results and errors
	err   error    // the first error met while building
}

// Txn starts an empty transaction.
func (c *Conn) Txn() *Txn { return &Txn{c: c} }

func (t *Txn) add(path string, op proto.MultiOp) *Txn {
	t.ops = append(t.ops, op)
	t.paths = append(t.paths, path)
	return t
}

func (t *Txn) serverPath(path string) string {
	sp, err := t.c.serverPath(path)
	if err != nil && t.err == nil {
		t.err = err
	}
	return sp
}

// Create adds the creation of a node, as Conn.Create.
func (t *Txn) Create(path string, data []byte, mode CreateMode, opts ...CreateOption) *Txn {
	op, req, err := t.c.createRequest(path, data, mode, opts)
	if err != nil {
		if t.err == nil {
			t.err = err
		}
		return t
	}
	return t.add(path, proto.MultiOp{Type: op, Create: *req})
}

// SetData adds a change of data, as Conn.Set.
func (t *Txn) SetData(path string, data []byte, version int32) *Txn {
	sp := t.serverPath(path)
	return t.add(path, proto.MultiOp{Type: proto.OpSetData,
		SetData: proto.SetDataRequest{Path: sp, Data: data, Version: version}})
}

// Delete adds a deletion, as Conn.Delete.
func (t *Txn) Delete(path string, version int32) *Txn {
	sp := t.serverPath(path)
	return t.add(path, proto.MultiOp{Type: proto.OpDelete,
		Delete: proto.DeleteRequest{Path: sp, Version: version}})
}

// Check adds a condition: the node at path exists and has version (-1: any).
func (t *Txn) Check(path string, version int32) *Txn {
	sp := t.serverPath(path)
	return t.add(path, proto.MultiOp{Type: proto.OpCheck,
		Delete: proto.DeleteRequest{Path: sp, Version: version}})
}

// OpResult is the outcome of one operation of a transaction.
type OpResult struct {
	// Type is the operation: proto.OpCreate2, OpCreateContainer, OpCreateTTL, OpSetData,
	// OpDelete or OpCheck.
	Type proto.OpCode
	// Path is the created path for a create (with its sequential suffix), otherwise
	// the path the operation was given.
	Path string
	// Stat is the new Stat after a create or a SetData; nil otherwise.
	Stat *Stat
	// Err is nil if the transaction committed. If it failed, the failing operation has
	// its *Error, the ones before it ErrRolledBack, the ones after it an *Error with
	// ErrRuntimeInconsistency (they were not tried).
	Err error
}

// TxnError is the error of a failed transaction: which operation failed, and why.
// errors.Is(err, ErrNodeExists) and friends see through it.
type TxnError struct {
	Index int   // of the failing operation
	Err   error // an *Error with the operation's path
}

func (e *TxnError) Error() string { return fmt.Sprintf("transaction op %d: %v", e.Index, e.Err) }

// Unwrap returns the failing operation's error.
func (e *TxnError) Unwrap() error { return e.Err }

// Commit sends the transaction and returns one result per operation. If it failed,
// err is a *TxnError and the results say what happened to each operation; if the
// connection failed, err is ErrConnectionLoss and whether it committed is unknown.
func (t *Txn) Commit(ctx context.Context) ([]OpResult, error) {
	if t.err != nil {
		return nil, t.err
	}
	var resp proto.MultiResponse
	err := t.c.call(ctx, proto.OpMulti, "", &proto.MultiRequest{Ops: t.ops}, &resp, nil)
	if len(resp.Results) != len(t.ops) {
		if err == nil {
			err = &Error{Code: proto.ErrMarshallingError}
		}
		return nil, err
	}
	results := make([]OpResult, len(t.ops))
	var failed error
	for i, r := range resp.Results {
		res := OpResult{Type: t.ops[i].Type, Path: t.paths[i]}
		switch r.Type {
		case proto.OpError:
			switch {
			case r.Err == proto.ErrOK:
				res.Err = ErrRolledBack
			default:
				res.Err = &Error{Code: r.Err, Path: t.paths[i]}
				if failed == nil {
					failed = &TxnError{Index: i, Err: res.Err}
				}
			}
		case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
			res.Path = t.c.clientPath(r.Path)
			if r.Type != proto.OpCreate {
				st := r.Stat
				res.Stat = &st
			}
		case proto.OpSetData:
			st := r.Stat
			res.Stat = &st
		}
		results[i] = res
	}
	if failed == nil && err != nil {
		failed = err
	}
	return results, failed
}

// ReadOp is one read of MultiRead, made by GetDataOp or ChildrenOp.
type ReadOp struct {
	op   proto.OpCode
	path string
}

// GetDataOp reads a node's data and Stat in MultiRead.
func GetDataOp(path string) ReadOp { return ReadOp{proto.OpGetData, path} }

// ChildrenOp reads a node's children in MultiRead.
func ChildrenOp(path string) ReadOp { return ReadOp{proto.OpGetChildren, path} }

// ReadResult is the outcome of one ReadOp.
type ReadResult struct {
	Data     []byte   // GetDataOp
	Stat     *Stat    // GetDataOp
	Children []string // ChildrenOp
	Err      error    // this read's own error (the others are unaffected)
}

// MultiRead makes several reads in one round trip. Each read succeeds or fails on its
// own; err is only for the call as a whole (the connection, the session).
func (c *Conn) MultiRead(ctx context.Context, ops ...ReadOp) ([]ReadResult, error) {
	req := &proto.MultiRequest{}
	for _, op := range ops {
		sp, err := c.serverPath(op.path)
		if err != nil {
			return nil, err
		}
		req.Ops = append(req.Ops, proto.MultiOp{Type: op.op, Read: proto.PathWatchRequest{Path: sp}})
	}
	var resp proto.MultiResponse
	if err := c.call(ctx, proto.OpMultiRead, "", req, &resp, nil); err != nil {
		return nil, err
	}
	if len(resp.Results) != len(ops) {
		return nil, &Error{Code: proto.ErrMarshallingError}
	}
	out := make([]ReadResult, len(ops))
	for i, r := range resp.Results {
		switch r.Type {
		case proto.OpError:
			out[i].Err = &Error{Code: r.Err, Path: ops[i].path}
		case proto.OpGetData:
			st := r.Stat
			out[i].Data, out[i].Stat = r.Data, &st
		case proto.OpGetChildren:
			out[i].Children = r.Children
			if out[i].Children == nil {
				out[i].Children = []string{}
			}
		}
	}
	return out, nil
}

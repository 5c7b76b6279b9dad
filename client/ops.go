package client

import (
	"context"
	"errors"

	"github.com/corral-io/corral/proto"
)

// do sends r on the live connection, waiting for one if need be, and waits for its
// reply. See the package doc for what happens when the connection drops meanwhile.
func (c *Conn) do(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for {
		x, err := c.waitConn(ctx, r.path)
		if err != nil {
			return err
		}
		if x.enqueue(r) {
			return r.wait(ctx)
		}
	}
}

// call makes a request for op on the caller's path (already translated in body).
func (c *Conn) call(ctx context.Context, op proto.OpCode, path string, body, resp proto.Record, w *watchReg) error {
	r := c.newRequest(op, path, body, resp)
	r.watch = w
	return c.do(ctx, r)
}

// ttlCreate encodes a CreateRequest as a CreateTTLRequest.
type ttlCreate struct{ *proto.CreateRequest }

func (t ttlCreate) Encode(e *proto.Encoder) { t.EncodeTTL(e) }

// createRequest builds the request and opcode for a create in mode.
func (c *Conn) createRequest(path string, data []byte, mode CreateMode, opts []CreateOption) (proto.OpCode, *proto.CreateRequest, error) {
	cc := createConfig{acl: OpenACLUnsafe}
	for _, o := range opts {
		o(&cc)
	}
	sp, err := c.serverPath(path)
	if err != nil {
		return 0, nil, err
	}
	req := &proto.CreateRequest{Path: sp, Data: data, ACL: cc.acl, Flags: int32(mode), TTL: -1}
	switch {
	case mode == Container:
		return proto.OpCreateContainer, req, nil
	case mode.IsTTL():
		req.TTL = cc.ttl.Milliseconds()
		return proto.OpCreateTTL, req, nil
	case cc.ttl != 0:
		return 0, nil, &Error{Code: proto.ErrBadArguments, Path: path}
	}
	return proto.OpCreate2, req, nil
}

// Create makes a znode at path with data (nil data is stored as null) and returns its
// path, which for a sequential mode carries the server's suffix. The ACL is
// OpenACLUnsafe unless WithACL says otherwise; TTL modes need WithTTL. A Container
// goes away once its last child has; see also the package doc about the outcome of a
// create whose connection dropped.
func (c *Conn) Create(ctx context.Context, path string, data []byte, mode CreateMode, opts ...CreateOption) (string, error) {
	p, _, err := c.Create2(ctx, path, data, mode, opts...)
	return p, err
}

// Create2 is Create that also returns the new node's Stat.
func (c *Conn) Create2(ctx context.Context, path string, data []byte, mode CreateMode, opts ...CreateOption) (string, *Stat, error) {
	op, req, err := c.createRequest(path, data, mode, opts)
	if err != nil {
		return "", nil, err
	}
	var body proto.Record = req
	if op == proto.OpCreateTTL {
		body = ttlCreate{req}
	}
	var resp proto.Create2Response
	if err := c.call(ctx, op, path, body, &resp, nil); err != nil {
		return "", nil, err
	}
	return c.clientPath(resp.Path), &resp.Stat, nil
}

// Get returns the data and Stat of the node at path.
func (c *Conn) Get(ctx context.Context, path string) ([]byte, *Stat, error) {
	data, st, _, err := c.get(ctx, path, false)
	return data, st, err
}

// GetW is Get that also sets a watch: the channel receives one event, when the node's
// data changes or the node is deleted, and is then closed. No watch is set if the call
// fails (for instance with ErrNoNode).
func (c *Conn) GetW(ctx context.Context, path string) ([]byte, *Stat, <-chan Event, error) {
	return c.get(ctx, path, true)
}

func (c *Conn) get(ctx context.Context, path string, watch bool) ([]byte, *Stat, <-chan Event, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, nil, err
	}
	w, ch := c.oneShot(kindData, sp, watch)
	var resp proto.GetDataResponse
	if err := c.call(ctx, proto.OpGetData, path, &proto.PathWatchRequest{Path: sp, Watch: watch}, &resp, w); err != nil {
		return nil, nil, nil, err
	}
	return resp.Data, &resp.Stat, ch, nil
}

func (c *Conn) oneShot(kind watchKind, sp string, watch bool) (*watchReg, <-chan Event) {
	if !watch {
		return nil, nil
	}
	o := newOneShot()
	return &watchReg{kind: kind, path: sp, once: o}, o.ch
}

// Set replaces the data of the node at path if its version is version (-1: any) and
// returns the new Stat.
func (c *Conn) Set(ctx context.Context, path string, data []byte, version int32) (*Stat, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, err
	}
	var resp proto.StatResponse
	req := &proto.SetDataRequest{Path: sp, Data: data, Version: version}
	if err := c.call(ctx, proto.OpSetData, path, req, &resp, nil); err != nil {
		return nil, err
	}
	return &resp.Stat, nil
}

// Delete removes the node at path if its version is version (-1: any). A node with
// children gives ErrNotEmpty.
func (c *Conn) Delete(ctx context.Context, path string, version int32) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return err
	}
	return c.call(ctx, proto.OpDelete, path, &proto.DeleteRequest{Path: sp, Version: version}, nil, nil)
}

// Exists reports whether a node is at path, with its Stat if so.
func (c *Conn) Exists(ctx context.Context, path string) (bool, *Stat, error) {
	ok, st, _, err := c.exists(ctx, path, false)
	return ok, st, err
}

// ExistsW is Exists that also sets a watch, whether or not the node exists: the
// channel receives one event (NodeCreated, NodeDataChanged or NodeDeleted) and is then
// closed.
func (c *Conn) ExistsW(ctx context.Context, path string) (bool, *Stat, <-chan Event, error) {
	return c.exists(ctx, path, true)
}

func (c *Conn) exists(ctx context.Context, path string, watch bool) (bool, *Stat, <-chan Event, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return false, nil, nil, err
	}
	w, ch := c.oneShot(kindExistsCall, sp, watch)
	var resp proto.StatResponse
	err = c.call(ctx, proto.OpExists, path, &proto.PathWatchRequest{Path: sp, Watch: watch}, &resp, w)
	if errors.Is(err, ErrNoNode) {
		return false, nil, ch, nil
	}
	if err != nil {
		return false, nil, nil, err
	}
	return true, &resp.Stat, ch, nil
}

// Children returns the names (not paths) of the children of the node at path, in no
// particular order, and the node's Stat.
func (c *Conn) Children(ctx context.Context, path string) ([]string, *Stat, error) {
	names, st, _, err := c.children(ctx, path, false)
	return names, st, err
}

// ChildrenW is Children that also sets a watch: the channel receives one event, when
// a child is created or deleted (NodeChildrenChanged) or the node is deleted
// (NodeDeleted), and is then closed.
func (c *Conn) ChildrenW(ctx context.Context, path string) ([]string, *Stat, <-chan Event, error) {
	return c.children(ctx, path, true)
}

func (c *Conn) children(ctx context.Context, path string, watch bool) ([]string, *Stat, <-chan Event, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, nil, err
	}
	w, ch := c.oneShot(kindChild, sp, watch)
	var resp proto.GetChildren2Response
	if err := c.call(ctx, proto.OpGetChildren2, path, &proto.PathWatchRequest{Path: sp, Watch: watch}, &resp, w); err != nil {
		return nil, nil, nil, err
	}
	if resp.Children == nil {
		resp.Children = []string{}
	}
	return resp.Children, &resp.Stat, ch, nil
}

// GetACL returns the ACL and Stat of the node at path.
func (c *Conn) GetACL(ctx context.Context, path string) ([]ACL, *Stat, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, err
	}
	var resp proto.GetACLResponse
	if err := c.call(ctx, proto.OpGetACL, path, &proto.PathRequest{Path: sp}, &resp, nil); err != nil {
		return nil, nil, err
	}
	return resp.ACL, &resp.Stat, nil
}

// SetACL replaces the ACL of the node at path if its ACL version (Stat.Aversion) is
// version (-1: any), and returns the new Stat.
func (c *Conn) SetACL(ctx context.Context, path string, acl []ACL, version int32) (*Stat, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, err
	}
	var resp proto.StatResponse
	req := &proto.SetACLRequest{Path: sp, ACL: acl, Version: version}
	if err := c.call(ctx, proto.OpSetACL, path, req, &resp, nil); err != nil {
		return nil, err
	}
	return &resp.Stat, nil
}

// Sync waits until the server the session is attached to has applied every write
// acknowledged (by any server) before Sync was called, so that reads made after it
// see them. The path does not need to exist.
func (c *Conn) Sync(ctx context.Context, path string) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return err
	}
	return c.call(ctx, proto.OpSync, path, &proto.PathRequest{Path: sp}, &proto.PathRequest{}, nil)
}

// GetEphemerals returns the paths of this session's ephemeral nodes whose paths start
// with prefix ("/" for all).
func (c *Conn) GetEphemerals(ctx context.Context, prefix string) ([]string, error) {
	sp, err := c.serverPath(prefix)
	if err != nil {
		return nil, err
	}
	var resp proto.StringsResponse
	if err := c.call(ctx, proto.OpGetEphemerals, prefix, &proto.PathRequest{Path: sp}, &resp, nil); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(resp.Values))
	for _, p := range resp.Values {
		out = append(out, c.clientPath(p))
	}
	return out, nil
}

// GetAllChildrenNumber returns the number of descendants of the node at path (its
// children, their children, and so on).
func (c *Conn) GetAllChildrenNumber(ctx context.Context, path string) (int, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return 0, err
	}
	var resp proto.IntResponse
	if err := c.call(ctx, proto.OpGetAllChildrenNum, path, &proto.PathRequest{Path: sp}, &resp, nil); err != nil {
		return 0, err
	}
	return int(resp.Value), nil
}

// WhoAmI returns the identities the server knows this session by: an "ip" one, plus
// one per successful authentication.
func (c *Conn) WhoAmI(ctx context.Context) ([]ID, error) {
	var resp proto.WhoAmIResponse
	if err := c.call(ctx, proto.OpWhoAmI, "", nil, &resp, nil); err != nil {
		return nil, err
	}
	return resp.Clients, nil
}

// AddAuth authenticates the session with scheme ("digest": auth is "user:password").
// It is presented again after every reconnect. A digest with a wrong password is not
// an error (the session simply gains that identity); an unknown scheme gives
// ErrAuthFailed, and the server then drops the connection (the client reconnects
// without that credential).
func (c *Conn) AddAuth(ctx context.Context, scheme string, auth []byte) error {
	r := c.newRequest(proto.OpAuth, scheme, &proto.AuthPacket{Scheme: scheme, Auth: auth}, nil)
	r.xid = proto.XidAuth
	if err := c.do(ctx, r); err != nil {
		return err
	}
	c.mu.Lock()
	c.auths = append(c.auths, authInfo{scheme, append([]byte(nil), auth...)})
	c.mu.Unlock()
	return nil
}

// AddWatch sets a persistent watch on path (which need not exist): events arrive on
// the channel until remove is called, the Conn is closed or the session expires
// (then a last EventNone with Err says why). The channel has an unbounded buffer
// behind it, so a slow reader delays nothing else. See WatchPersistent and
// WatchPersistentRecursive for which events each mode reports.
func (c *Conn) AddWatch(ctx context.Context, path string, mode AddWatchMode) (<-chan Event, RemoveFunc, error) {
	sp, err := c.serverPath(path)
	if err != nil {
		return nil, nil, err
	}
	kind := kindPersistent
	if mode == WatchPersistentRecursive {
		kind = kindRecursive
	}
	s := newStream()
	w := &watchReg{kind: kind, path: sp, stream: s}
	req := &proto.WatchTypeRequest{Path: sp, Type: int32(mode)}
	if err := c.call(ctx, proto.OpAddWatch, path, req, &proto.IntResponse{}, w); err != nil {
		s.cancel()
		return nil, nil, err
	}
	remove := func(ctx context.Context) error {
		s.cancel()
		if !c.watches.dropStream(s, kind, sp) || c.watches.anyOn(sp) {
			return nil
		}
		err := c.call(ctx, proto.OpRemoveWatches, path,
			&proto.WatchTypeRequest{Path: sp, Type: proto.WatcherAny}, nil, nil)
		if errors.Is(err, ErrNoWatcher) {
			return nil
		}
		return err
	}
	return s.out, remove, nil
}

// RemoveWatches removes this session's watches of typ on path, on the server and here:
// each one-shot watch's channel receives a DataWatchRemoved or ChildWatchRemoved event
// and closes. WatcherAny also removes persistent watches. ErrNoWatcher means there
// was none on the server.
func (c *Conn) RemoveWatches(ctx context.Context, path string, typ WatcherType) error {
	sp, err := c.serverPath(path)
	if err != nil {
		return err
	}
	req := &proto.WatchTypeRequest{Path: sp, Type: int32(typ)}
	if err := c.call(ctx, proto.OpRemoveWatches, path, req, nil, nil); err != nil {
		return err
	}
	c.watches.removeLocal(sp, typ)
	return nil
}

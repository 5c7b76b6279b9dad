package recipe

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/corral-io/corral/client"
)

// Barrier is Curator's DistributedBarrier: while the node at its path exists, Wait
// blocks. One process Sets the barrier, others Wait, and someone Removes it to let
// them all go.
//
// What can go wrong: the barrier node is persistent, so a process that Set it and
// died leaves everyone waiting until someone Removes it; Wait with a deadline.
type Barrier struct {
	conn *client.Conn
	path string
}

// NewBarrier returns a barrier on path.
func NewBarrier(conn *client.Conn, path string) *Barrier {
	return &Barrier{conn: conn, path: cleanPath(path)}
}

// Set raises the barrier (creating its node; it may be up already).
func (b *Barrier) Set(ctx context.Context) error {
	if i := lastSlash(b.path); i > 0 {
		if err := ensurePath(ctx, b.conn, b.path[:i]); err != nil {
			return err
		}
	}
	_, err := b.conn.Create(ctx, b.path, nil, client.Persistent)
	if errors.Is(err, client.ErrNodeExists) {
		return nil
	}
	return err
}

// Remove lowers the barrier, releasing every waiter.
func (b *Barrier) Remove(ctx context.Context) error {
	return deleteQuietlyCtx(ctx, b.conn, b.path)
}

// Wait blocks until the barrier is down (its node does not exist) or ctx ends.
func (b *Barrier) Wait(ctx context.Context) error {
	for {
		ok, _, ch, err := b.conn.ExistsW(ctx, b.path)
		if err != nil || !ok {
			return err
		}
		select {
		case ev := <-ch:
			if ev.Type == client.EventNone {
				return ev.Err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func lastSlash(p string) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return i
		}
	}
	return -1
}

const readyNode = "ready"

// DoubleBarrier is Curator's DistributedDoubleBarrier: a fixed number of members Enter
// (each waits until all have arrived), do their work, then Leave (each waits until all
// have left). Members are ephemeral nodes named by a plain UUID under the path; the
// last to arrive creates "ready", which releases those waiting to enter. Curator
// processes can be members of the same barrier.
//
// What can go wrong: a member whose session ends disappears from the barrier; if that
// happens before the count is reached, the others wait for a replacement (give Enter
// a deadline). A member that dies between Enter and Leave simply counts as left.
type DoubleBarrier struct {
	conn    *client.Conn
	path    string
	members int
	node    string // our member node, between Enter and Leave
}

// NewDoubleBarrier returns a double barrier on path for members participants.
func NewDoubleBarrier(conn *client.Conn, path string, members int) *DoubleBarrier {
	return &DoubleBarrier{conn: conn, path: cleanPath(path), members: members}
}

// Enter joins the barrier and waits until members participants have joined, or ctx
// ends (the member node is then withdrawn).
func (b *DoubleBarrier) Enter(ctx context.Context) error {
	if b.node != "" {
		return fmt.Errorf("recipe: already entered %s", b.path)
	}
	ready := join(b.path, readyNode)
	if err := ensurePath(ctx, b.conn, b.path); err != nil {
		return err
	}
	readyExists, _, readyCh, err := b.conn.ExistsW(ctx, ready)
	if err != nil {
		return err
	}
	node := join(b.path, newUUID())
	if err := createOnce(ctx, b.conn, node, client.Ephemeral); err != nil {
		return err
	}
	b.node = node
	if readyExists {
		return nil
	}
	fail := func(err error) error {
		_ = deleteQuietly(ctx, b.conn, node)
		b.node = ""
		return err
	}
	for {
		kids, _, err := b.conn.Children(ctx, b.path)
		if err != nil {
			return fail(err)
		}
		if len(kids) >= b.members {
			_, err := b.conn.Create(ctx, ready, nil, client.Persistent)
			if err != nil && !errors.Is(err, client.ErrNodeExists) {
				return fail(err)
			}
			return nil
		}
		select {
		case ev := <-readyCh:
			if ev.Type == client.EventNone {
				return fail(ev.Err)
			}
		case <-ctx.Done():
			return fail(ctx.Err())
		}
		ok, _, ch, err := b.conn.ExistsW(ctx, ready)
		if err != nil {
			return fail(err)
		}
		if ok {
			return nil
		}
		readyCh = ch
	}
}

// createOnce creates a node with a unique name, treating a node found after a lost
// reply as created.
func createOnce(ctx context.Context, conn *client.Conn, path string, mode client.CreateMode) error {
	for {
		_, err := conn.Create(ctx, path, nil, mode)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, client.ErrNodeExists):
			return nil // ours: the name is unique
		case !errors.Is(err, client.ErrConnectionLoss):
			return err
		}
	}
}

// Leave leaves the barrier and waits until every member has left, or ctx ends.
func (b *DoubleBarrier) Leave(ctx context.Context) error {
	if b.node == "" {
		return fmt.Errorf("recipe: not entered %s", b.path)
	}
	ourName := base(b.node)
	ourShouldExist := true
	for {
		kids, _, err := b.conn.Children(ctx, b.path)
		if errors.Is(err, client.ErrNoNode) {
			kids, err = nil, nil
		}
		if err != nil {
			return err
		}
		kids = slices.DeleteFunc(kids, func(k string) bool { return k == readyNode })
		slices.Sort(kids)
		if len(kids) == 0 {
			break
		}
		i := slices.Index(kids, ourName)
		if i < 0 && ourShouldExist {
			return fmt.Errorf("%w: %s", ErrNodeVanished, b.node)
		}
		if len(kids) == 1 {
			if ourShouldExist {
				if err := deleteQuietlyCtx(ctx, b.conn, b.node); err != nil {
					return err
				}
			}
			break
		}
		var watch string
		if i == 0 {
			watch = kids[len(kids)-1] // the lowest waits for the highest
		} else {
			watch = kids[0] // the others leave, then wait for the lowest
			if ourShouldExist {
				if err := deleteQuietlyCtx(ctx, b.conn, b.node); err != nil {
					return err
				}
				ourShouldExist = false
			}
		}
		ok, _, ch, err := b.conn.ExistsW(ctx, join(b.path, watch))
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		select {
		case ev := <-ch:
			if ev.Type == client.EventNone {
				return ev.Err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	b.node = ""
	return deleteQuietlyCtx(ctx, b.conn, join(b.path, readyNode))
}

package recipe

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/corral-io/corral/client"
)

// SharedCount is Curator's SharedCount: an int32 stored as 4 bytes, big-endian, in the
// node at its path, changed by compare-and-set on the node's version.
//
// What can go wrong: nothing is held, so nothing is lost; a TrySet whose reply is lost
// with the connection may or may not have happened (Add retries only after learning
// the outcome from the version).
type SharedCount struct {
	conn *client.Conn
	path string
	seed int32
}

// NewSharedCount returns a shared count on path; a missing node is created with seed.
func NewSharedCount(conn *client.Conn, path string, seed int32) *SharedCount {
	return &SharedCount{conn: conn, path: cleanPath(path), seed: seed}
}

// Get returns the value and the node's version (for TrySet).
func (c *SharedCount) Get(ctx context.Context) (value, version int32, err error) {
	for {
		data, st, err := c.conn.Get(ctx, c.path)
		if errors.Is(err, client.ErrNoNode) {
			if err := c.create(ctx); err != nil {
				return 0, 0, err
			}
			continue
		}
		if err != nil {
			return 0, 0, err
		}
		if len(data) != 4 {
			return 0, 0, fmt.Errorf("recipe: shared count %s holds %d bytes, not 4", c.path, len(data))
		}
		return int32(binary.BigEndian.Uint32(data)), st.Version, nil
	}
}

func (c *SharedCount) create(ctx context.Context) error {
	if i := lastSlash(c.path); i > 0 {
		if err := ensurePath(ctx, c.conn, c.path[:i]); err != nil {
			return err
		}
	}
	_, err := c.conn.Create(ctx, c.path, be32(c.seed), client.Persistent)
	if errors.Is(err, client.ErrNodeExists) {
		return nil
	}
	return err
}

func be32(v int32) []byte { return binary.BigEndian.AppendUint32(nil, uint32(v)) }

// TrySet sets value if the node's version is still version; it reports whether it did.
func (c *SharedCount) TrySet(ctx context.Context, value, version int32) (bool, error) {
	_, err := c.conn.Set(ctx, c.path, be32(value), version)
	if errors.Is(err, client.ErrBadVersion) {
		return false, nil
	}
	if errors.Is(err, client.ErrNoNode) {
		if err := c.create(ctx); err != nil {
			return false, err
		}
		return false, nil
	}
	return err == nil, err
}

// Set sets value unconditionally.
func (c *SharedCount) Set(ctx context.Context, value int32) error {
	for {
		_, v, err := c.Get(ctx)
		if err != nil {
			return err
		}
		ok, err := c.TrySet(ctx, value, v)
		if err != nil || ok {
			return err
		}
	}
}

// Add adds delta with a compare-and-set loop and returns the new value.
func (c *SharedCount) Add(ctx context.Context, delta int32) (int32, error) {
	for {
		cur, v, err := c.Get(ctx)
		if err != nil {
			return 0, err
		}
		ok, err := c.TrySet(ctx, cur+delta, v)
		if err != nil {
			return 0, err
		}
		if ok {
			return cur + delta, nil
		}
	}
}

// AtomicLong is Curator's DistributedAtomicLong (optimistic mode): an int64 stored as 8
// bytes, big-endian, changed by compare-and-set on the node's version. A missing node
// reads as 0.
//
// What can go wrong: as SharedCount.
type AtomicLong struct {
	conn *client.Conn
	path string
}

// NewAtomicLong returns an atomic long on path.
func NewAtomicLong(conn *client.Conn, path string) *AtomicLong {
	return &AtomicLong{conn: conn, path: cleanPath(path)}
}

// get returns the value and the version, -1 for a missing node.
func (a *AtomicLong) get(ctx context.Context) (int64, int32, error) {
	data, st, err := a.conn.Get(ctx, a.path)
	if errors.Is(err, client.ErrNoNode) {
		return 0, -1, nil
	}
	if err != nil {
		return 0, 0, err
	}
	switch len(data) {
	case 0:
		return 0, st.Version, nil
	case 8:
		return int64(binary.BigEndian.Uint64(data)), st.Version, nil
	}
	return 0, 0, fmt.Errorf("recipe: atomic long %s holds %d bytes, not 8", a.path, len(data))
}

// Get returns the value.
func (a *AtomicLong) Get(ctx context.Context) (int64, error) {
	v, _, err := a.get(ctx)
	return v, err
}

// trySet writes v if the version is still version (-1: the node must not exist).
func (a *AtomicLong) trySet(ctx context.Context, v int64, version int32) (bool, error) {
	data := binary.BigEndian.AppendUint64(nil, uint64(v))
	var err error
	if version < 0 {
		if i := lastSlash(a.path); i > 0 {
			if err := ensurePath(ctx, a.conn, a.path[:i]); err != nil {
				return false, err
			}
		}
		_, err = a.conn.Create(ctx, a.path, data, client.Persistent)
	} else {
		_, err = a.conn.Set(ctx, a.path, data, version)
	}
	if errors.Is(err, client.ErrNodeExists) || errors.Is(err, client.ErrBadVersion) || errors.Is(err, client.ErrNoNode) {
		return false, nil
	}
	return err == nil, err
}

// CompareAndSet sets the value to newValue if it is expected; it reports whether it
// did.
func (a *AtomicLong) CompareAndSet(ctx context.Context, expected, newValue int64) (bool, error) {
	for {
		cur, ver, err := a.get(ctx)
		if err != nil || cur != expected {
			return false, err
		}
		ok, err := a.trySet(ctx, newValue, ver)
		if err != nil || ok {
			return ok, err
		}
	}
}

// Set sets the value unconditionally.
func (a *AtomicLong) Set(ctx context.Context, v int64) error {
	for {
		_, ver, err := a.get(ctx)
		if err != nil {
			return err
		}
		ok, err := a.trySet(ctx, v, ver)
		if err != nil || ok {
			return err
		}
	}
}

// Add adds delta and returns the values before and after.
func (a *AtomicLong) Add(ctx context.Context, delta int64) (pre, post int64, err error) {
	for {
		cur, ver, err := a.get(ctx)
		if err != nil {
			return 0, 0, err
		}
		ok, err := a.trySet(ctx, cur+delta, ver)
		if err != nil {
			return 0, 0, err
		}
		if ok {
			return cur, cur + delta, nil
		}
	}
}

// Increment adds 1 and returns the new value.
func (a *AtomicLong) Increment(ctx context.Context) (int64, error) {
	_, v, err := a.Add(ctx, 1)
	return v, err
}

// Decrement subtracts 1 and returns the new value.
func (a *AtomicLong) Decrement(ctx context.Context) (int64, error) {
	_, v, err := a.Add(ctx, -1)
	return v, err
}

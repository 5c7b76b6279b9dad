package recipe

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/corral-io/corral/client"
)

const leaseName = "lease-"

// Semaphore is a distributed counting semaphore with the layout of Curator's
// InterProcessSemaphoreV2: a lease is an ephemeral-sequential node
// "<path>/leases/_c_<uuid>-lease-<seq>", and acquirers take turns through a Mutex on
// "<path>/locks": the acquirer holding that mutex creates its lease and, while there
// are more leases than maxLeases, waits for one to go (only the acquirer holding the
// mutex watches the leases, so a release wakes one process). Every process using a path
// must agree on maxLeases.
//
// What can go wrong: a lease is lost when its session expires, the connection stays
// down too long or its node is deleted; Lease.Lost says so and Lease.FencingToken is
// the lease node's czxid.
type Semaphore struct {
	conn      *client.Conn
	path      string
	maxLeases int
	data      []byte
}

// NewSemaphore returns a semaphore on path allowing maxLeases holders at once; data is
// stored in lease nodes.
func NewSemaphore(conn *client.Conn, path string, maxLeases int, data []byte) *Semaphore {
	return &Semaphore{conn: conn, path: cleanPath(path), maxLeases: maxLeases, data: data}
}

// Acquire waits until a lease is held or ctx ends. Release the returned Lock with
// Release.
func (s *Semaphore) Acquire(ctx context.Context) (*Lock, error) {
	if s.maxLeases < 1 {
		return nil, fmt.Errorf("recipe: semaphore on %s with %d leases", s.path, s.maxLeases)
	}
	leases := s.path + "/leases"
	lock := NewMutex(s.conn, s.path+"/locks", s.data)
	if err := lock.Lock(ctx); err != nil {
		return nil, err
	}
	defer func() { _ = lock.Unlock(context.WithoutCancel(ctx)) }()
	if err := ensurePath(ctx, s.conn, leases); err != nil {
		return nil, err
	}
	node, _, err := createProtected(ctx, s.conn, leases, curatorNames(leaseName), s.data)
	if err != nil {
		return nil, err
	}
	h, err := s.wait(ctx, leases, node)
	if err != nil {
		_ = deleteQuietly(ctx, s.conn, node)
		return nil, err
	}
	return &Lock{h: h, hh: h}, nil
}

func (s *Semaphore) wait(ctx context.Context, leases, node string) (*held, error) {
	for {
		kids, _, ch, err := s.conn.ChildrenW(ctx, leases)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(kids, base(node)) {
			return nil, fmt.Errorf("%w: %s", ErrNodeVanished, node)
		}
		if len(kids) <= s.maxLeases {
			return holdNode(ctx, s.conn, node)
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Leases returns the lease nodes currently held or waiting, sorted.
func (s *Semaphore) Leases(ctx context.Context) ([]string, error) {
	kids, _, err := s.conn.Children(ctx, s.path+"/leases")
	if errors.Is(err, client.ErrNoNode) {
		return nil, nil
	}
	return sortContenders(kids, []string{leaseName}), err
}

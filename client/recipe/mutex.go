package recipe

import (
	"context"
	"fmt"
	"sync"

	"github.com/corral-io/corral/client"
)

// Lock node names: Curator's InterProcessMutex and LeaderSelector use "lock-" after
// their protected prefix; kazoo's Lock and Election use "__lock__".
const (
	lockName      = "lock-"
	kazooLockName = "__lock__"
)

// lockMarkers are the names a Mutex recognises as contenders: Curator's and kazoo's.
var lockMarkers = []string{lockName, kazooLockName}

// Option configures a Mutex or a LeaderSelector.
type Option func(*options)

type options struct {
	names naming
}

// WithKazooNames makes the Mutex or LeaderSelector name its node as kazoo's Lock and
// Election do, "<uuid hex>__lock__<seq>", instead of Curator's "_c_<uuid>-lock-<seq>".
// Both kinds of names are always recognised as contenders by this package; the option
// is for sharing a path with kazoo's Lock or Election, which only see "__lock__" nodes
// (unless given extra_lock_patterns=["-lock-"]). Curator only orders "lock-" nodes
// correctly: do not mix kazoo-named nodes with Curator processes.
func WithKazooNames() Option {
	return func(o *options) { o.names = kazooNames() }
}

func buildOptions(opts []Option) options {
	o := options{names: curatorNames(lockName)}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// Mutex is a distributed mutual exclusion lock on a path, compatible with Curator's
// InterProcessMutex and with kazoo's Lock. Contenders create ephemeral-sequential
// children named "_c_<uuid>-lock-<seq>" (Curator's protected mode): the lowest sequence
// holds the lock, and every other contender watches only the node just before its own,
// so a release wakes one waiter, not all of them. A Mutex is for one holder at a time;
// it is not reentrant.
//
// What can go wrong: the lock can be lost while held — the session expires, the
// connection stays down too long, or someone deletes the node. Lost says when the
// client knows; it may know late. Give FencingToken to the resource you protect. See
// the package doc.
type Mutex struct {
	conn *client.Conn
	path string
	data []byte
	opts options

	mu sync.Mutex // protects h
	h  *held
}

// NewMutex returns a Mutex on path; data is stored in the lock node (Curator stores the
// client's IP address, kazoo the identifier).
func NewMutex(conn *client.Conn, path string, data []byte, opts ...Option) *Mutex {
	return &Mutex{conn: conn, path: cleanPath(path), data: data, opts: buildOptions(opts)}
}

func (m *Mutex) spec() lockSpec {
	return lockSpec{dir: m.path, names: m.opts.names, markers: lockMarkers, data: m.data, mayHold: exclusive}
}

// Lock waits until the lock is held or ctx ends. On ctx's end it withdraws its node and
// returns ctx's error.
func (m *Mutex) Lock(ctx context.Context) error {
	m.mu.Lock()
	held := m.h != nil
	m.mu.Unlock()
	if held {
		return fmt.Errorf("recipe: mutex on %s already held by this Mutex", m.path)
	}
	h, err := acquire(ctx, m.conn, m.spec())
	if err != nil {
		return err
	}
	m.mu.Lock()
	m.h = h
	m.mu.Unlock()
	return nil
}

// Lost returns a channel closed when the lock, once held, is known to be lost: its
// node was deleted, the session ended, or the connection has been down for a quarter
// of the session timeout. It returns nil when the lock is not held.
func (m *Mutex) Lost() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return nil
	}
	return m.h.lost
}

// FencingToken returns the creation zxid of the lock node while held (0 otherwise): it
// grows with every acquisition of this lock path, by anyone. See the package doc.
func (m *Mutex) FencingToken() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return 0
	}
	return m.h.token
}

// Node returns the path of the lock node while held.
func (m *Mutex) Node() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.h == nil {
		return ""
	}
	return m.h.node
}

// Unlock releases the lock by deleting its node. It returns ErrNotLocked if the lock
// is not held. After Lost has closed, Unlock is still the way to let go.
func (m *Mutex) Unlock(ctx context.Context) error {
	m.mu.Lock()
	h := m.h
	m.h = nil
	m.mu.Unlock()
	if h == nil {
		return ErrNotLocked
	}
	return h.release(ctx)
}

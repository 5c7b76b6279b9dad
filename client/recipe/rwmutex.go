package recipe

import (
	"context"
	"strings"
	"sync"

	"github.com/corral-io/corral/client"
)

// Node names of Curator's InterProcessReadWriteLock.
const (
	readLockName  = "__READ__"
	writeLockName = "__WRIT__"
)

var rwMarkers = []string{readLockName, writeLockName}

// RWMutex is a distributed readers-writer lock with the layout of Curator's
// InterProcessReadWriteLock: readers create "_c_<uuid>-__READ__<seq>" and writers
// "_c_<uuid>-__WRIT__<seq>" under the same path, ordered together by sequence. A writer
// holds when its node is the first of all; a reader holds when no writer's node comes
// before its own. A waiting writer watches the node just before its own; a waiting
// reader watches the last writer before it. Writers queue fairly with readers: a reader
// arriving after a waiting writer waits for it.
//
// What can go wrong: as with Mutex, a held lock can be lost (session expiry, a long
// disconnection, a deleted node); the returned Lock's Lost says so, and its
// FencingToken lets the protected resource refuse a stale holder.
type RWMutex struct {
	conn *client.Conn
	path string
	data []byte
}

// NewRWMutex returns a readers-writer lock on path; data is stored in the lock nodes.
func NewRWMutex(conn *client.Conn, path string, data []byte) *RWMutex {
	return &RWMutex{conn: conn, path: cleanPath(path), data: data}
}

// Lock is a held read or write lock of an RWMutex, or a held Semaphore lease.
type Lock struct {
	mu sync.Mutex
	h  *held
	hh *held // kept for Lost and FencingToken after Unlock
}

// Lock takes the write lock, waiting until it holds or ctx ends.
func (rw *RWMutex) Lock(ctx context.Context) (*Lock, error) {
	h, err := acquire(ctx, rw.conn, lockSpec{dir: rw.path, names: curatorNames(writeLockName),
		markers: rwMarkers, data: rw.data, mayHold: exclusive})
	if err != nil {
		return nil, err
	}
	return &Lock{h: h, hh: h}, nil
}

// RLock takes a read lock, waiting until it holds or ctx ends.
func (rw *RWMutex) RLock(ctx context.Context) (*Lock, error) {
	h, err := acquire(ctx, rw.conn, lockSpec{dir: rw.path, names: curatorNames(readLockName),
		markers: rwMarkers, data: rw.data, mayHold: readerMayHold})
	if err != nil {
		return nil, err
	}
	return &Lock{h: h, hh: h}, nil
}

// readerMayHold: a reader holds unless a writer comes before it; it then watches the
// last such writer.
func readerMayHold(sorted []string, i int) (bool, string) {
	for j := i - 1; j >= 0; j-- {
		if _, ok := seqAfter(sorted[j], []string{writeLockName}); ok && strings.Contains(sorted[j], writeLockName) {
			return false, sorted[j]
		}
	}
	return true, ""
}

// Unlock releases the lock (for a Semaphore lease, Release does the same).
func (l *Lock) Unlock(ctx context.Context) error {
	l.mu.Lock()
	h := l.h
	l.h = nil
	l.mu.Unlock()
	if h == nil {
		return ErrNotHeld
	}
	return h.release(ctx)
}

// Release is Unlock.
func (l *Lock) Release(ctx context.Context) error { return l.Unlock(ctx) }

// Lost returns a channel closed when the lock is known to be lost (see Mutex.Lost).
func (l *Lock) Lost() <-chan struct{} { return l.hh.lost }

// FencingToken returns the czxid of the lock's node.
func (l *Lock) FencingToken() int64 { return l.hh.token }

// Node returns the path of the lock's node.
func (l *Lock) Node() string { return l.hh.node }

// Package recipe builds coordination recipes on package client: for now a mutual
// exclusion lock that uses the znode layout of Curator's InterProcessMutex and kazoo's
// Lock, so Go, Java and Python processes contend correctly for the same lock path.
//
// # A lock can be lost
//
// A ZooKeeper lock is held by a session, not by a process. If the session expires
// (the process paused longer than the session timeout, or was cut off from the
// servers), the servers delete the lock node and the next waiter takes the lock, while
// the old holder may still be running its critical section. Mutex.Lost is closed when
// the client learns of this, which may be too late: the client only learns about an
// expiry when it reconnects. Two things keep a protected resource safe anyway:
//
//   - watch Lost and stop working on the resource when it closes;
//   - hand the FencingToken to the resource with every write, and have the resource
//     reject a token smaller than the largest it has seen. Tokens grow with every
//     acquisition of the lock (they are the lock node's creation zxid).
package recipe

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/corral-io/corral/client"
)

// lockMarker separates a lock node's protected prefix from its sequence number
// (Curator's InterProcessMutex "lock-"; kazoo's Lock uses the same name).
const lockMarker = "lock-"

// ErrNotLocked is returned by Unlock when the Mutex is not held.
var ErrNotLocked = errors.New("recipe: mutex not held")

// Mutex is a distributed mutual exclusion lock on a path. Contenders create
// ephemeral-sequential children named "_c_<uuid>-lock-<seq>" (Curator's protected
// mode): the lowest sequence holds the lock, and every other contender watches only the
// node just before its own, so a release wakes one waiter, not all of them. A Mutex is
// for one holder at a time; it is not reentrant.
type Mutex struct {
	conn *client.Conn
	path string
	data []byte

	mu    sync.Mutex // protects following fields
	node  string     // our lock node while held
	token int64
	lost  chan struct{}
	stop  chan struct{} // closed by Unlock to end the watcher
}

// NewMutex returns a Mutex on path; data is stored in the lock node (Curator stores the
// client's IP address).
func NewMutex(conn *client.Conn, path string, data []byte) *Mutex {
	return &Mutex{conn: conn, path: strings.TrimSuffix(path, "/"), data: data}
}

// Lock waits until the lock is held or ctx ends. On ctx's end it withdraws its node and
// returns ctx's error.
func (m *Mutex) Lock(ctx context.Context) error {
	m.mu.Lock()
	held := m.node != ""
	m.mu.Unlock()
	if held {
		return fmt.Errorf("recipe: mutex on %s already held by this Mutex", m.path)
	}
	if err := ensurePath(ctx, m.conn, m.path); err != nil {
		return err
	}
	node, err := createProtected(ctx, m.conn, m.path, lockMarker, m.data)
	if err != nil {
		return err
	}
	if err := m.wait(ctx, node); err != nil {
		// Withdraw, without the ended ctx.
		_ = m.conn.Delete(context.WithoutCancel(ctx), node, -1)
		return err
	}
	ok, st, ch, err := m.conn.ExistsW(ctx, node)
	if err != nil || !ok {
		_ = m.conn.Delete(context.WithoutCancel(ctx), node, -1)
		if err == nil {
			err = fmt.Errorf("recipe: lock node %s vanished", node)
		}
		return err
	}
	m.mu.Lock()
	m.node, m.token = node, st.Czxid
	m.lost, m.stop = make(chan struct{}), make(chan struct{})
	lost, stop := m.lost, m.stop
	m.mu.Unlock()
	go m.watch(node, ch, lost, stop)
	return nil
}

// wait returns once node is the first contender.
func (m *Mutex) wait(ctx context.Context, node string) error {
	me := node[strings.LastIndexByte(node, '/')+1:]
	for {
		kids, _, err := m.conn.Children(ctx, m.path)
		if err != nil {
			return err
		}
		kids = sortBySequence(kids, lockMarker)
		i := slices.Index(kids, me)
		if i < 0 {
			return fmt.Errorf("recipe: lock node %s vanished", node)
		}
		if i == 0 {
			return nil
		}
		ok, _, ch, err := m.conn.ExistsW(ctx, m.path+"/"+kids[i-1])
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// watch closes lost when the lock node goes away or the session ends.
func (m *Mutex) watch(node string, ch <-chan client.Event, lost, stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case ev := <-ch:
			if ev.Type == client.EventNodeDataChanged {
				ok, _, next, err := m.conn.ExistsW(context.Background(), node)
				if err == nil && ok {
					ch = next
					continue
				}
			}
			close(lost)
			return
		}
	}
}

// Lost returns a channel closed when the lock, once held, is known to be lost: its
// node was deleted or the session ended. It returns nil when the lock is not held.
func (m *Mutex) Lost() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lost
}

// FencingToken returns the creation zxid of the lock node while held: it grows with
// every acquisition of this lock path, by anyone. See the package doc.
func (m *Mutex) FencingToken() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.token
}

// Node returns the path of the lock node while held.
func (m *Mutex) Node() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.node
}

// Unlock releases the lock by deleting its node.
func (m *Mutex) Unlock(ctx context.Context) error {
	m.mu.Lock()
	node, stop := m.node, m.stop
	m.node, m.token, m.lost, m.stop = "", 0, nil, nil
	m.mu.Unlock()
	if node == "" {
		return ErrNotLocked
	}
	close(stop)
	err := m.conn.Delete(ctx, node, -1)
	if errors.Is(err, client.ErrNoNode) {
		return nil
	}
	return err
}

// createProtected creates an ephemeral-sequential node "<dir>/_c_<uuid>-<marker><seq>".
// If the create's reply is lost with the connection, it looks for its own node by the
// unique prefix before trying again, so no orphan is left behind.
func createProtected(ctx context.Context, conn *client.Conn, dir, marker string, data []byte) (string, error) {
	prefix := "_c_" + newUUID() + "-"
	for {
		node, err := conn.Create(ctx, dir+"/"+prefix+marker, data, client.EphemeralSequential)
		if err == nil {
			return node, nil
		}
		if !errors.Is(err, client.ErrConnectionLoss) {
			return "", err
		}
		kids, _, err := conn.Children(ctx, dir)
		if err != nil && !errors.Is(err, client.ErrConnectionLoss) {
			return "", err
		}
		for _, k := range kids {
			if strings.HasPrefix(k, prefix) {
				return dir + "/" + k, nil
			}
		}
	}
}

// ensurePath creates path and its missing ancestors as persistent nodes.
func ensurePath(ctx context.Context, conn *client.Conn, path string) error {
	if ok, _, err := conn.Exists(ctx, path); err != nil || ok {
		return err
	}
	for i := 1; i <= len(path); i++ {
		if i < len(path) && path[i] != '/' {
			continue
		}
		_, err := conn.Create(ctx, path[:i], nil, client.Persistent)
		if err != nil && !errors.Is(err, client.ErrNodeExists) {
			return err
		}
	}
	return nil
}

// sortBySequence returns the names that carry marker, sorted by the sequence number
// after it, as Curator's StandardLockInternalsDriver sorts them.
func sortBySequence(names []string, marker string) []string {
	seq := func(n string) int64 {
		v, _ := strconv.ParseInt(n[strings.LastIndex(n, marker)+len(marker):], 10, 64)
		return v
	}
	names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return !strings.Contains(n, marker) })
	slices.SortStableFunc(names, func(a, b string) int {
		sa, sb := seq(a), seq(b)
		switch {
		case sa < sb:
			return -1
		case sa > sb:
			return 1
		}
		return 0
	})
	return names
}

// newUUID returns a random (version 4) UUID in its usual text form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

package server

import (
	"strings"

	"github.com/corral-io/corral/internal/tree"
	"github.com/corral-io/corral/proto"
)

// watchKind is one of the tables a watch lives in.
type watchKind uint8

const (
	watchData       watchKind = iota // getData and exists: one-shot
	watchChild                       // getChildren: one-shot
	watchPersistent                  // addWatch mode 0
	watchRecursive                   // addWatch mode 1
	numWatchKinds
)

// watchManager holds the watches of the connections on this member. Watches are local:
// they live with the connection, and a client re-registers them (setWatches) when it
// moves. It is guarded by the server's tree lock: changes under the write lock or under
// the read lock plus watchMu.
type watchManager struct {
	tables [numWatchKinds]map[string]map[*conn]struct{}
	// byConn lists, per connection, the paths it watches in each table, so the memory
	// of a connection's watches is released when it goes.
	byConn map[*conn]*[numWatchKinds]map[string]struct{}
}

func newWatchManager() *watchManager {
	w := &watchManager{byConn: make(map[*conn]*[numWatchKinds]map[string]struct{})}
	for i := range w.tables {
		w.tables[i] = make(map[string]map[*conn]struct{})
	}
	return w
}

func (w *watchManager) add(k watchKind, path string, c *conn) {
	t := w.tables[k][path]
	if t == nil {
		t = make(map[*conn]struct{})
		w.tables[k][path] = t
	}
	t[c] = struct{}{}
	bc := w.byConn[c]
	if bc == nil {
		bc = new([numWatchKinds]map[string]struct{})
		w.byConn[c] = bc
	}
	if bc[k] == nil {
		bc[k] = make(map[string]struct{})
	}
	bc[k][path] = struct{}{}
}

func (w *watchManager) has(k watchKind, path string, c *conn) bool {
	_, ok := w.tables[k][path][c]
	return ok
}

func (w *watchManager) remove(k watchKind, path string, c *conn) bool {
	t := w.tables[k][path]
	if _, ok := t[c]; !ok {
		return false
	}
	delete(t, c)
	if len(t) == 0 {
		delete(w.tables[k], path)
	}
	if bc := w.byConn[c]; bc != nil && bc[k] != nil {
		delete(bc[k], path)
	}
	return true
}

// removeConn drops every watch of c.
func (w *watchManager) removeConn(c *conn) {
	bc := w.byConn[c]
	if bc == nil {
		return
	}
	for k := range bc {
		for path := range bc[k] {
			t := w.tables[k][path]
			delete(t, c)
			if len(t) == 0 {
				delete(w.tables[k], path)
			}
		}
	}
	delete(w.byConn, c)
}

// fire collects the connections an event notifies, removing the one-shot watches it
// triggers. Each connection is notified once per event, whatever number of its watches
// match (the client dispatches to its own watchers).
func (w *watchManager) fire(ev tree.Event, notify func(*conn, tree.Event)) {
	seen := map[*conn]struct{}{}
	take := func(k watchKind, path string, oneShot bool) {
		for c := range w.tables[k][path] {
			if _, ok := seen[c]; !ok {
				seen[c] = struct{}{}
				notify(c, ev)
			}
			if oneShot {
				w.remove(k, path, c)
			}
		}
	}
	switch ev.Type {
	case proto.EventNodeCreated, proto.EventNodeDataChanged:
		take(watchData, ev.Path, true)
	case proto.EventNodeDeleted:
		take(watchData, ev.Path, true)
		take(watchChild, ev.Path, true)
	case proto.EventNodeChildrenChanged:
		take(watchChild, ev.Path, true)
	}
	take(watchPersistent, ev.Path, false)
	if ev.Type != proto.EventNodeChildrenChanged && len(w.tables[watchRecursive]) > 0 {
		for p := ev.Path; ; p = parentPath(p) {
			take(watchRecursive, p, false)
			if p == "/" {
				break
			}
		}
	}
}

// counts returns the number of watches in each table and the number of watched paths.
func (w *watchManager) counts() (total int, paths int) {
	seen := map[string]struct{}{}
	for k := range w.tables {
		for p, t := range w.tables[k] {
			total += len(t)
			seen[p] = struct{}{}
		}
	}
	return total, len(seen)
}

func parentPath(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

package recipe

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/corral-io/corral/client"
)

// TreeEventType says what happened to a node of a TreeCache.
type TreeEventType int

// Tree cache events.
const (
	// TreeNodeAdded: a node appeared (also sent for every node of the initial load).
	TreeNodeAdded TreeEventType = iota + 1
	// TreeNodeUpdated: a node's data (or version) changed.
	TreeNodeUpdated
	// TreeNodeRemoved: a node went away.
	TreeNodeRemoved
	// TreeInitialized: the initial load is complete.
	TreeInitialized
)

func (t TreeEventType) String() string {
	switch t {
	case TreeNodeAdded:
		return "Added"
	case TreeNodeUpdated:
		return "Updated"
	case TreeNodeRemoved:
		return "Removed"
	case TreeInitialized:
		return "Initialized"
	}
	return fmt.Sprintf("TreeEventType(%d)", int(t))
}

// TreeEvent is a change seen by a TreeCache. Data and Stat are the node's new state
// (for Removed: its last known state).
type TreeEvent struct {
	Type TreeEventType
	Path string
	Data []byte
	Stat client.Stat
}

// TreeNode is a cached node.
type TreeNode struct {
	Data []byte
	Stat client.Stat
}

// TreeCache keeps a local copy of the subtree at a root, like Curator's CuratorCache:
// a persistent recursive watch (AddWatch) reports every creation, change and deletion
// below the root, and the cache reads the node again for each. After a reconnection
// it reloads the whole subtree and reports the differences, since a server may not
// replay the changes a persistent watch missed while the client was away.
//
// What can go wrong: the cache is eventually consistent — it lags the servers, and a
// node that changed twice quickly may be reported once with its latest state. After
// the session ends the cache stops (Events is closed) and Get serves the last state.
type TreeCache struct {
	conn *client.Conn
	root string

	mu     sync.Mutex
	nodes  map[string]TreeNode
	events []TreeEvent
	kick   chan struct{}
	ended  bool

	out    chan TreeEvent
	cancel context.CancelFunc
	done   chan struct{}
}

// NewTreeCache returns a cache of the subtree at root; Start fills it.
func NewTreeCache(conn *client.Conn, root string) *TreeCache {
	return &TreeCache{conn: conn, root: cleanPath(root), nodes: map[string]TreeNode{},
		kick: make(chan struct{}, 1), out: make(chan TreeEvent)}
}

// Start sets the watch, loads the subtree (reporting each node as Added, then
// Initialized) and follows changes until Close or the end of the session.
func (c *TreeCache) Start(ctx context.Context) error {
	events, remove, err := c.conn.AddWatch(ctx, c.root, client.WatchPersistentRecursive)
	if err != nil {
		return err
	}
	if err := c.reload(ctx); err != nil {
		_ = remove(context.WithoutCancel(ctx))
		return err
	}
	c.emit(TreeEvent{Type: TreeInitialized, Path: c.root})
	bg, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go c.deliver()
	go c.run(bg, events, remove)
	return nil
}

// Events returns the channel of changes. It has an unbounded buffer behind it, and is
// closed after Close or the end of the session.
func (c *TreeCache) Events() <-chan TreeEvent { return c.out }

// Get returns the cached node at path.
func (c *TreeCache) Get(path string) (TreeNode, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, ok := c.nodes[cleanPath(path)]
	return n, ok
}

// Children returns the names of the cached children of path, sorted.
func (c *TreeCache) Children(path string) []string {
	path = cleanPath(path)
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for p := range c.nodes {
		if p != path && parentOf(p) == path {
			out = append(out, base(p))
		}
	}
	slices.Sort(out)
	return out
}

// Size returns the number of cached nodes.
func (c *TreeCache) Size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.nodes)
}

// Close stops the cache and removes its watch.
func (c *TreeCache) Close() error {
	if c.cancel == nil {
		return nil
	}
	c.cancel()
	<-c.done
	return nil
}

func parentOf(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func (c *TreeCache) emit(ev TreeEvent) {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// deliver moves queued events to out, so the watcher never waits for the reader.
func (c *TreeCache) deliver() {
	defer close(c.out)
	for {
		c.mu.Lock()
		var ev TreeEvent
		have := len(c.events) > 0
		if have {
			ev = c.events[0]
			c.events = c.events[1:]
		}
		ended := c.ended
		c.mu.Unlock()
		if have {
			select {
			case c.out <- ev:
			case <-c.done:
				return
			}
			continue
		}
		if ended {
			return
		}
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
	}
}

func (c *TreeCache) run(ctx context.Context, events <-chan client.Event, remove client.RemoveFunc) {
	defer func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = remove(rctx)
		cancel()
		c.mu.Lock()
		c.ended = true
		c.mu.Unlock()
		select {
		case c.kick <- struct{}{}:
		default:
		}
		close(c.done)
	}()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	wasDown, dirty := false, false
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok || ev.Type == client.EventNone {
				return
			}
			var err error
			switch ev.Type {
			case client.EventNodeCreated, client.EventNodeDataChanged:
				err = c.refresh(ctx, ev.Path)
			case client.EventNodeDeleted:
				c.removeTree(ev.Path)
			}
			if err != nil {
				dirty = true
			}
		case <-tick.C:
			switch c.conn.State() {
			case client.StateExpired, client.StateClosed:
				return
			case client.StateConnected, client.StateConnectedReadOnly:
				if wasDown {
					dirty = true
				}
				wasDown = false
			default:
				wasDown = true
			}
			if dirty && !wasDown {
				if err := c.reload(ctx); err == nil {
					dirty = false
				}
			}
		}
	}
}

// refresh reads the node at p again and records what changed.
func (c *TreeCache) refresh(ctx context.Context, p string) error {
	data, st, err := c.conn.Get(ctx, p)
	if errors.Is(err, client.ErrNoNode) {
		c.removeTree(p)
		return nil
	}
	if err != nil {
		return err
	}
	c.set(p, data, st)
	return nil
}

func (c *TreeCache) set(p string, data []byte, st *client.Stat) {
	c.mu.Lock()
	old, had := c.nodes[p]
	if had && old.Stat.Mzxid == st.Mzxid && old.Stat.Version == st.Version {
		c.mu.Unlock()
		return
	}
	c.nodes[p] = TreeNode{Data: data, Stat: *st}
	c.mu.Unlock()
	t := TreeNodeAdded
	if had {
		t = TreeNodeUpdated
	}
	c.emit(TreeEvent{Type: t, Path: p, Data: data, Stat: *st})
}

// removeTree forgets p and its descendants, deepest first.
func (c *TreeCache) removeTree(p string) {
	c.mu.Lock()
	var gone []string
	for q := range c.nodes {
		if q == p || strings.HasPrefix(q, p+"/") || (p == "/" && q != "/") {
			gone = append(gone, q)
		}
	}
	slices.SortFunc(gone, func(a, b string) int { return strings.Compare(b, a) })
	var evs []TreeEvent
	for _, q := range gone {
		n := c.nodes[q]
		delete(c.nodes, q)
		evs = append(evs, TreeEvent{Type: TreeNodeRemoved, Path: q, Data: n.Data, Stat: n.Stat})
	}
	c.mu.Unlock()
	for _, ev := range evs {
		c.emit(ev)
	}
}

// reload reads the whole subtree and records the differences with the cache.
func (c *TreeCache) reload(ctx context.Context) error {
	type node struct {
		data []byte
		st   *client.Stat
	}
	seen := map[string]node{}
	var order []string
	var walk func(p string) error
	walk = func(p string) error {
		data, st, err := c.conn.Get(ctx, p)
		if errors.Is(err, client.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		seen[p] = node{data, st}
		order = append(order, p)
		kids, _, err := c.conn.Children(ctx, p)
		if errors.Is(err, client.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		slices.Sort(kids)
		for _, k := range kids {
			if err := walk(join(p, k)); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(c.root); err != nil {
		return err
	}
	c.mu.Lock()
	var gone []string
	for p := range c.nodes {
		if _, ok := seen[p]; !ok {
			gone = append(gone, p)
		}
	}
	c.mu.Unlock()
	slices.SortFunc(gone, func(a, b string) int { return strings.Compare(b, a) })
	for _, p := range gone {
		c.removeTree(p)
	}
	for _, p := range order {
		n := seen[p]
		c.set(p, n.data, n.st)
	}
	return nil
}

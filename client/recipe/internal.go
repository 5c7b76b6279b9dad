package recipe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/corral-io/corral/client"
)

// Errors of the recipes.
var (
	// ErrNotHeld is returned when releasing a lock, lease or membership that is not held.
	ErrNotHeld = errors.New("recipe: not held")
	// ErrNotLocked is ErrNotHeld, as Mutex.Unlock has always returned it.
	ErrNotLocked = ErrNotHeld
	// ErrLeadershipLost is returned by LeaderSelector.Lead when leadership was lost
	// while the callback ran.
	ErrLeadershipLost = errors.New("recipe: leadership lost")
	// ErrNodeVanished means the recipe's own node disappeared while it was waiting
	// (someone deleted it, or the session ended).
	ErrNodeVanished = errors.New("recipe: own node vanished")
	// ErrClosed is returned by calls on a recipe after Close.
	ErrClosed = errors.New("recipe: closed")
)

// pollInterval is how often held nodes check the connection's state.
const pollInterval = 50 * time.Millisecond

// cleanupTimeout bounds background deletions of nodes a cancelled call left behind.
const cleanupTimeout = 30 * time.Second

// naming says how a recipe names its ephemeral-sequential nodes: a prefix new for each
// attempt, then a fixed name; the server appends the sequence number.
type naming struct {
	prefix func() string
	name   string
}

// curatorNames is Curator's protected naming: "_c_<uuid>-<name>".
func curatorNames(name string) naming {
	return naming{prefix: func() string { return "_c_" + newUUID() + "-" }, name: name}
}

// kazooNames is kazoo's Lock naming: "<uuid hex>__lock__".
func kazooNames() naming {
	return naming{prefix: func() string { return strings.ReplaceAll(newUUID(), "-", "") }, name: "__lock__"}
}

// createProtected creates an ephemeral-sequential node "<dir>/<prefix><name><seq>".
// If the create's reply is lost with the connection, it looks for its own node by the
// unique prefix before trying again, so no orphan is left behind. If ctx ends after
// such a loss, a background cleanup deletes the node if it turns out to exist.
func createProtected(ctx context.Context, conn *client.Conn, dir string, nm naming, data []byte) (string, *client.Stat, error) {
	prefix := nm.prefix()
	uncertain := false
	fail := func(err error) (string, *client.Stat, error) {
		if uncertain {
			go cleanupProtected(conn, dir, prefix)
		}
		return "", nil, err
	}
	for {
		node, st, err := conn.Create2(ctx, dir+"/"+prefix+nm.name, data, client.EphemeralSequential)
		if err == nil {
			return node, st, nil
		}
		if !errors.Is(err, client.ErrConnectionLoss) {
			if ctx.Err() != nil {
				// The request may still be on the wire.
				uncertain = true
			}
			return fail(err)
		}
		uncertain = true
		node, st, err = findProtected(ctx, conn, dir, prefix)
		switch {
		case err != nil && !errors.Is(err, client.ErrConnectionLoss):
			return fail(err)
		case node != "":
			return node, st, nil
		}
	}
}

// findProtected returns the child of dir whose name starts with prefix, if any.
func findProtected(ctx context.Context, conn *client.Conn, dir, prefix string) (string, *client.Stat, error) {
	kids, _, err := conn.Children(ctx, dir)
	if err != nil {
		return "", nil, err
	}
	for _, k := range kids {
		if strings.HasPrefix(k, prefix) {
			ok, st, err := conn.Exists(ctx, dir+"/"+k)
			if err != nil {
				return "", nil, err
			}
			if ok {
				return dir + "/" + k, st, nil
			}
		}
	}
	return "", nil, nil
}

// cleanupProtected deletes the child of dir named with prefix, if it exists, trying
// for at most cleanupTimeout.
func cleanupProtected(conn *client.Conn, dir, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	for ctx.Err() == nil {
		node, _, err := findProtected(ctx, conn, dir, prefix)
		if err == nil {
			if node != "" {
				_ = conn.Delete(ctx, node, -1)
			}
			return
		}
		if !errors.Is(err, client.ErrConnectionLoss) {
			return
		}
	}
}

// deleteQuietly deletes node, ignoring ctx's end (but bounded) and a missing node.
func deleteQuietly(ctx context.Context, conn *client.Conn, node string) error {
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	err := conn.Delete(dctx, node, -1)
	if errors.Is(err, client.ErrNoNode) {
		return nil
	}
	return err
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

// seqAfter returns the sequence suffix of name following the last occurrence of one of
// markers ("0000000042", or "-2147483648" after an overflow), and whether there is one.
func seqAfter(name string, markers []string) (string, bool) {
	for _, m := range markers {
		i := strings.LastIndex(name, m)
		if i < 0 {
			continue
		}
		s := name[i+len(m):]
		d := strings.TrimPrefix(s, "-")
		if len(d) < 10 || strings.Trim(d, "0123456789") != "" {
			continue
		}
		return s, true
	}
	return "", false
}

// sortContenders returns the names that carry one of markers followed by a sequence
// number, sorted by that number as Curator and kazoo sort them (as strings: the
// numbers are zero-padded).
func sortContenders(names []string, markers []string) []string {
	type kv struct{ name, seq string }
	var l []kv
	for _, n := range names {
		if s, ok := seqAfter(n, markers); ok {
			l = append(l, kv{n, s})
		}
	}
	slices.SortStableFunc(l, func(a, b kv) int { return strings.Compare(a.seq, b.seq) })
	out := make([]string, len(l))
	for i, x := range l {
		out[i] = x.name
	}
	return out
}

// base returns the last element of a path.
func base(p string) string { return p[strings.LastIndexByte(p, '/')+1:] }

// join joins a directory and a child name.
func join(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// cleanPath drops a trailing slash.
func cleanPath(p string) string {
	if len(p) > 1 {
		return strings.TrimSuffix(p, "/")
	}
	return p
}

// newUUID returns a random (version 4) UUID in its usual text form.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// lostGrace is how long the connection may be down before a held node is declared
// lost: a quarter of the session timeout. The client notices a silent connection after
// two thirds of the timeout, so the servers cannot expire the session earlier than a
// third of it after the client noticed.
func lostGrace(conn *client.Conn) time.Duration {
	t := conn.SessionTimeout()
	if t <= 0 {
		t = client.DefaultSessionTimeout
	}
	return t / 4
}

// held is a node that carries a lock, lease, leadership or membership. A goroutine
// watches it and closes lost when it is deleted, when the session ends, or when the
// connection has been down for longer than lostGrace.
type held struct {
	conn  *client.Conn
	node  string
	token int64

	lost     chan struct{}
	lostOnce sync.Once
	stop     chan struct{}
	stopOnce sync.Once
}

// holdNode starts watching node, which must exist: it sets an exists watch and takes
// the fencing token from the node's czxid.
func holdNode(ctx context.Context, conn *client.Conn, node string) (*held, error) {
	ok, st, ch, err := conn.ExistsW(ctx, node)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNodeVanished, node)
	}
	h := &held{conn: conn, node: node, token: st.Czxid, lost: make(chan struct{}), stop: make(chan struct{})}
	go h.monitor(ch)
	return h, nil
}

func (h *held) markLost() { h.lostOnce.Do(func() { close(h.lost) }) }

// isLost reports whether lost is closed.
func (h *held) isLost() bool {
	select {
	case <-h.lost:
		return true
	default:
		return false
	}
}

func (h *held) monitor(ch <-chan client.Event) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	grace := lostGrace(h.conn)
	var downSince time.Time
	for {
		select {
		case <-h.stop:
			return
		case ev, ok := <-ch:
			if ok && ev.Type == client.EventNodeDataChanged {
				// Someone changed the node's data: it is still ours; watch again.
				ctx, cancel := context.WithTimeout(context.Background(), grace)
				exists, _, next, err := h.conn.ExistsW(ctx, h.node)
				cancel()
				if err == nil && exists {
					ch = next
					continue
				}
			}
			select {
			case <-h.stop:
				return
			default:
			}
			h.markLost()
			return
		case <-tick.C:
			switch h.conn.State() {
			case client.StateExpired, client.StateClosed:
				h.markLost()
				return
			case client.StateDisconnected, client.StateConnecting:
				if downSince.IsZero() {
					downSince = time.Now()
				} else if time.Since(downSince) >= grace {
					h.markLost()
					return
				}
			default:
				downSince = time.Time{}
			}
		}
	}
}

// release stops the watching and deletes the node (a missing node is not an error).
func (h *held) release(ctx context.Context) error {
	h.stopOnce.Do(func() { close(h.stop) })
	return deleteQuietlyCtx(ctx, h.conn, h.node)
}

// deleteQuietlyCtx deletes node within ctx, ignoring a missing node.
func deleteQuietlyCtx(ctx context.Context, conn *client.Conn, node string) error {
	err := conn.Delete(ctx, node, -1)
	if errors.Is(err, client.ErrNoNode) {
		return nil
	}
	return err
}

// lockSpec describes a lock-like recipe for acquire.
type lockSpec struct {
	dir     string
	names   naming
	markers []string // names recognised as contenders, in sorting
	data    []byte
	// mayHold reports whether the contender at index i of the sorted contenders holds,
	// or else which contender's node to watch.
	mayHold func(sorted []string, i int) (bool, string)
}

// exclusive is mayHold for a mutual exclusion lock: the first holds, the others watch
// their predecessor.
func exclusive(sorted []string, i int) (bool, string) {
	if i == 0 {
		return true, ""
	}
	return false, sorted[i-1]
}

// acquire creates a contender node and waits until it holds. On error (ctx's end
// included) it withdraws the node.
func acquire(ctx context.Context, conn *client.Conn, spec lockSpec) (*held, error) {
	if err := ensurePath(ctx, conn, spec.dir); err != nil {
		return nil, err
	}
	node, _, err := createProtected(ctx, conn, spec.dir, spec.names, spec.data)
	if err != nil {
		return nil, err
	}
	h, err := waitHold(ctx, conn, spec, node)
	if err != nil {
		_ = deleteQuietly(ctx, conn, node)
		return nil, err
	}
	return h, nil
}

func waitHold(ctx context.Context, conn *client.Conn, spec lockSpec, node string) (*held, error) {
	me := base(node)
	for {
		kids, _, err := conn.Children(ctx, spec.dir)
		if err != nil {
			return nil, err
		}
		sorted := sortContenders(kids, spec.markers)
		i := slices.Index(sorted, me)
		if i < 0 {
			return nil, fmt.Errorf("%w: %s", ErrNodeVanished, node)
		}
		ok, watch := spec.mayHold(sorted, i)
		if ok {
			return holdNode(ctx, conn, node)
		}
		exists, _, ch, err := conn.ExistsW(ctx, join(spec.dir, watch))
		if err != nil {
			return nil, err
		}
		if !exists {
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// closedChan is a closed channel, for Lost of something that is not held.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

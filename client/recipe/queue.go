package recipe

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"strings"
	"sync"

	"github.com/corral-io/corral/client"
)

const queuePrefix = "queue-"

// Curator's ItemSerializer framing of queue node data.
const (
	queueVersion = 0x00010001
	queueItemOp  = 0x01
	queueEOFOp   = 0x02
)

// Queue is a distributed FIFO queue with the layout of Curator's DistributedQueue:
// items are persistent-sequential nodes "<path>/queue-<seq>" whose data is Curator's
// item framing (so Curator consumers and producers can share the queue). Take removes
// the oldest item; two takers never get the same item (the one whose delete succeeds
// has it).
//
// What can go wrong: a Put whose reply is lost with the connection is retried by the
// caller at the risk of a duplicate (queue items are persistent, so there is no
// session to tie them to): consumers should be idempotent. Take deletes the item
// before returning it, so an item taken by a process that then dies is gone (at most
// once). Every waiting taker watches the children of the path, so a Put wakes them all.
type Queue struct {
	conn *client.Conn
	path string

	mu      sync.Mutex
	pending [][]byte // further items of a multi-item node already taken
}

// NewQueue returns a queue on path.
func NewQueue(conn *client.Conn, path string) *Queue {
	return &Queue{conn: conn, path: cleanPath(path)}
}

// Put appends an item.
func (q *Queue) Put(ctx context.Context, item []byte) error {
	if err := ensurePath(ctx, q.conn, q.path); err != nil {
		return err
	}
	_, err := q.conn.Create(ctx, join(q.path, queuePrefix), encodeItems(item), client.PersistentSequential)
	return err
}

// Take removes and returns the oldest item, waiting for one until ctx ends.
func (q *Queue) Take(ctx context.Context) ([]byte, error) {
	for {
		if it, ok := q.popPending(); ok {
			return it, nil
		}
		if err := ensurePath(ctx, q.conn, q.path); err != nil {
			return nil, err
		}
		kids, _, ch, err := q.conn.ChildrenW(ctx, q.path)
		if err != nil {
			return nil, err
		}
		kids = slices.DeleteFunc(kids, func(k string) bool { return !strings.HasPrefix(k, queuePrefix) })
		slices.Sort(kids)
		for _, k := range kids {
			p := join(q.path, k)
			data, st, err := q.conn.Get(ctx, p)
			if errors.Is(err, client.ErrNoNode) {
				continue
			}
			if err != nil {
				return nil, err
			}
			err = q.conn.Delete(ctx, p, st.Version)
			if errors.Is(err, client.ErrNoNode) || errors.Is(err, client.ErrBadVersion) {
				continue // another taker has it
			}
			if err != nil {
				return nil, err
			}
			items := decodeItems(data)
			if len(items) == 0 {
				continue
			}
			q.mu.Lock()
			q.pending = append(q.pending, items[1:]...)
			q.mu.Unlock()
			return items[0], nil
		}
		select {
		case ev := <-ch:
			if ev.Type == client.EventNone {
				return nil, ev.Err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (q *Queue) popPending() ([]byte, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.pending) == 0 {
		return nil, false
	}
	it := q.pending[0]
	q.pending = q.pending[1:]
	return it, true
}

// Len returns the number of items in the queue.
func (q *Queue) Len(ctx context.Context) (int, error) {
	kids, _, err := q.conn.Children(ctx, q.path)
	if errors.Is(err, client.ErrNoNode) {
		return 0, nil
	}
	n := 0
	for _, k := range kids {
		if strings.HasPrefix(k, queuePrefix) {
			n++
		}
	}
	return n, err
}

// encodeItems frames items as Curator's ItemSerializer does.
func encodeItems(items ...[]byte) []byte {
	var b bytes.Buffer
	_ = binary.Write(&b, binary.BigEndian, int32(queueVersion))
	for _, it := range items {
		b.WriteByte(queueItemOp)
		_ = binary.Write(&b, binary.BigEndian, int32(len(it)))
		b.Write(it)
	}
	b.WriteByte(queueEOFOp)
	return b.Bytes()
}

// decodeItems undoes encodeItems; data that is not so framed is one item as is.
func decodeItems(data []byte) [][]byte {
	if len(data) < 5 || binary.BigEndian.Uint32(data) != queueVersion {
		return [][]byte{data}
	}
	var items [][]byte
	r := data[4:]
	for len(r) > 0 {
		op := r[0]
		r = r[1:]
		if op == queueEOFOp {
			return items
		}
		if op != queueItemOp || len(r) < 4 {
			break
		}
		n := int(binary.BigEndian.Uint32(r))
		r = r[4:]
		if n < 0 || n > len(r) {
			break
		}
		items = append(items, r[:n:n])
		r = r[n:]
	}
	if items == nil {
		return [][]byte{data}
	}
	return items
}

package recipe

import (
	"context"
	"errors"
	"sync"

	"github.com/corral-io/corral/client"
)

// Group is a group membership: each member is an ephemeral node "<path>/<id>" holding
// the member's data (the layout of Curator's GroupMember). Members lists them and
// Watch follows them.
//
// What can go wrong: a membership is an ephemeral node, so it ends with its session
// (expiry, Close) — a live process can drop out of the group. Member.Lost says when
// the client knows; join again on a new Conn.
type Group struct {
	conn *client.Conn
	path string
}

// NewGroup returns the group at path.
func NewGroup(conn *client.Conn, path string) *Group {
	return &Group{conn: conn, path: cleanPath(path)}
}

// Member is this process's membership of a Group.
type Member struct {
	ID string

	mu sync.Mutex
	h  *held
	hh *held
}

// Join adds a member id with data. An existing node of that id from this session (a
// create whose reply was lost) is taken over; one of another session gives
// ErrNodeExists.
func (g *Group) Join(ctx context.Context, id string, data []byte) (*Member, error) {
	if err := ensurePath(ctx, g.conn, g.path); err != nil {
		return nil, err
	}
	p := join(g.path, id)
	for {
		_, err := g.conn.Create(ctx, p, data, client.Ephemeral)
		if errors.Is(err, client.ErrConnectionLoss) {
			continue
		}
		if errors.Is(err, client.ErrNodeExists) {
			ok, st, err2 := g.conn.Exists(ctx, p)
			if err2 != nil {
				return nil, err2
			}
			if !ok {
				continue
			}
			if st.EphemeralOwner != g.conn.SessionID() {
				return nil, err
			}
			err = nil
		}
		if err != nil {
			return nil, err
		}
		break
	}
	h, err := holdNode(ctx, g.conn, p)
	if err != nil {
		return nil, err
	}
	return &Member{ID: id, h: h, hh: h}, nil
}

// Lost returns a channel closed when the membership is known to be gone.
func (m *Member) Lost() <-chan struct{} { return m.hh.lost }

// Leave removes the member.
func (m *Member) Leave(ctx context.Context) error {
	m.mu.Lock()
	h := m.h
	m.h = nil
	m.mu.Unlock()
	if h == nil {
		return ErrNotHeld
	}
	return h.release(ctx)
}

// Members returns the members and their data.
func (g *Group) Members(ctx context.Context) (map[string][]byte, error) {
	kids, _, err := g.conn.Children(ctx, g.path)
	if errors.Is(err, client.ErrNoNode) {
		return map[string][]byte{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(kids))
	for _, k := range kids {
		data, _, err := g.conn.Get(ctx, join(g.path, k))
		if errors.Is(err, client.ErrNoNode) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if data == nil {
			data = []byte{}
		}
		out[k] = data
	}
	return out, nil
}

// Watch sends the members (as Members) at once and after every change, until ctx ends
// or the session ends; then the channel is closed. An unread set is replaced by a
// newer one.
func (g *Group) Watch(ctx context.Context) (<-chan map[string][]byte, error) {
	return watchSnapshots(ctx, g.conn, g.path, g.Members)
}

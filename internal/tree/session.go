package tree

import (
	"bytes"
	"sort"

	"github.com/corral-io/corral/proto"
)

// SessionInfo describes an open session.
type SessionInfo struct {
	ID      int64
	Timeout int32  // negotiated timeout, ms
	Passwd  []byte // the session password clients present on reconnect
	Created int64  // Time of the entry that created the session, ms since the epoch
}

type session struct {
	info       SessionInfo
	ephemerals map[string]struct{} // paths of the session's ephemerals; keys share the node keys
}

func (s *session) addEphemeral(path string) {
	if s.ephemerals == nil {
		s.ephemerals = make(map[string]struct{}, 1)
	}
	s.ephemerals[path] = struct{}{}
}

// Session returns the open session id.
func (t *Tree) Session(id int64) (SessionInfo, bool) {
	s, ok := t.sessions[id]
	if !ok {
		return SessionInfo{}, false
	}
	return s.info, true
}

// Sessions returns all open sessions, sorted by id.
func (t *Tree) Sessions() []SessionInfo {
	out := make([]SessionInfo, 0, len(t.sessions))
	for _, s := range t.sessions {
		out = append(out, s.info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Ephemerals returns the paths of the session's ephemeral znodes, sorted.
func (t *Tree) Ephemerals(sessionID int64) []string {
	s := t.sessions[sessionID]
	if s == nil {
		return nil
	}
	return sortedKeys(s.ephemerals)
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// createSession applies KindCreateSession. Creating a session that already exists
// with the same timeout and password is an idempotent no-op (ErrOK); with different
// parameters it is refused with BadArguments and nothing changes.
func (t *Tree) createSession(e *Entry) Result {
	if s, ok := t.sessions[e.SessionID]; ok {
		if s.info.Timeout == e.Timeout && bytes.Equal(s.info.Passwd, e.Passwd) {
			return Result{}
		}
		return Result{Err: proto.ErrBadArguments}
	}
	var pw []byte
	if e.Passwd != nil {
		pw = append([]byte{}, e.Passwd...)
	}
	s := &session{info: SessionInfo{ID: e.SessionID, Timeout: e.Timeout, Passwd: pw, Created: e.Time}}
	t.sessions[e.SessionID] = s
	t.digest += hashSession(s)
	return Result{}
}

// closeSession applies KindCloseSession: the session's ephemerals are deleted in
// sorted path order, each with its NodeDeleted and parent NodeChildrenChanged events,
// and the session is removed. Closing an unknown session is a no-op (ErrOK).
func (t *Tree) closeSession(zxid int64, e *Entry) Result {
	s, ok := t.sessions[e.SessionID]
	if !ok {
		return Result{}
	}
	var events []Event
	for _, p := range sortedKeys(s.ephemerals) {
		n := t.nodes.get(p)
		if n == nil || n.nchildren() > 0 {
			continue // cannot happen: ephemerals have no children
		}
		pp := parentOf(p)
		events = append(events, t.deleteChild(p, n, pp, t.nodes.get(pp), zxid)...)
	}
	t.digest -= hashSession(s)
	delete(t.sessions, e.SessionID)
	return Result{Events: events}
}

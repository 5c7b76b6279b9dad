package client

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/corral-io/corral/proto"
)

// watchKind is how a watch was set; it decides which events fire it.
type watchKind int

const (
	kindData       watchKind = iota // getData, or exists on a node that exists
	kindExist                       // exists on a node that does not exist
	kindChild                       // getChildren
	kindPersistent                  // addWatch, persistent
	kindRecursive                   // addWatch, persistent recursive
	kindExistsCall                  // exists: kindData or kindExist, depending on the reply
)

// watchReg is a watch to register when its request's reply arrives.
type watchReg struct {
	kind   watchKind
	path   string // the server's path
	once   *oneShot
	stream *stream
}

// oneShot is a one-time watch: one event, then its channel closes.
type oneShot struct{ ch chan Event }

func newOneShot() *oneShot { return &oneShot{ch: make(chan Event, 1)} }

func (o *oneShot) fire(ev Event) {
	o.ch <- ev
	close(o.ch)
}

// watchManager holds the session's watches, keyed by the server's path. Its methods
// are called by the reader goroutine (register, dispatch) and by callers.
type watchManager struct {
	clientPath func(string) string

	mu    sync.Mutex               // protects following fields
	once  [3]map[string][]*oneShot // by kindData, kindExist, kindChild
	pers  [2]map[string][]*stream  // by kindPersistent-3, kindRecursive-3
	ended error                    // set by closeAll: no more watches
}

func newWatchManager(clientPath func(string) string) *watchManager {
	m := &watchManager{clientPath: clientPath}
	for i := range m.once {
		m.once[i] = map[string][]*oneShot{}
	}
	for i := range m.pers {
		m.pers[i] = map[string][]*stream{}
	}
	return m
}

// register records w after its request's reply came back with code.
func (m *watchManager) register(w *watchReg, code proto.Code) {
	kind := w.kind
	switch {
	case kind == kindExistsCall && code == proto.ErrOK:
		kind = kindData
	case kind == kindExistsCall && code == proto.ErrNoNode:
		kind = kindExist
	case code != proto.ErrOK:
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ended != nil {
		return
	}
	if kind >= kindPersistent {
		m.pers[kind-kindPersistent][w.path] = append(m.pers[kind-kindPersistent][w.path], w.stream)
		return
	}
	m.once[kind][w.path] = append(m.once[kind][w.path], w.once)
}

// dispatch hands a notification to the watches it fires, as the Java client's
// ZKWatchManager.materialize does.
func (m *watchManager) dispatch(we proto.WatcherEvent) {
	ev := Event{Type: EventType(we.Type), Path: m.clientPath(we.Path)}
	p := we.Path
	var fired []*oneShot
	var streams []*stream
	m.mu.Lock()
	take := func(k watchKind) {
		fired = append(fired, m.once[k][p]...)
		delete(m.once[k], p)
	}
	switch ev.Type {
	case EventNodeCreated, EventNodeDataChanged:
		take(kindData)
		take(kindExist)
	case EventNodeChildrenChanged:
		take(kindChild)
	case EventNodeDeleted:
		take(kindData)
		take(kindExist)
		take(kindChild)
	}
	streams = append(streams, m.pers[0][p]...)
	// Recursive watches never report NodeChildrenChanged, even when a one-shot child
	// watch made the server send one for a descendant.
	if ev.Type != EventNodeChildrenChanged {
		for q := p; ; q = parent(q) {
			streams = append(streams, m.pers[1][q]...)
			if q == "/" {
				break
			}
		}
	}
	m.mu.Unlock()
	for _, o := range fired {
		o.fire(ev)
	}
	for _, s := range streams {
		s.push(ev)
	}
}

// parent returns the parent of an absolute path ("/" for "/" and top-level nodes).
func parent(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// setWatches returns the watches to present on a new connection, in frames of at most
// setWatchesBatch bytes of paths. The relative zxid is the last zxid the session saw,
// so the server fires at once every watch whose node changed in the meantime.
func (m *watchManager) setWatches(relZxid int64) []*proto.SetWatches {
	m.mu.Lock()
	lists := [5][]string{
		keys(m.once[kindData]), keys(m.once[kindExist]), keys(m.once[kindChild]),
		keysS(m.pers[0]), keysS(m.pers[1]),
	}
	m.mu.Unlock()
	var out []*proto.SetWatches
	cur, size := &proto.SetWatches{}, 0
	for i, l := range lists {
		for _, p := range l {
			if size+len(p) > setWatchesBatch && size > 0 {
				out = append(out, cur)
				cur, size = &proto.SetWatches{}, 0
			}
			size += len(p) + 4
			lp := [5]*[]string{&cur.DataWatches, &cur.ExistWatches, &cur.ChildWatches,
				&cur.PersistentWatches, &cur.PersistentRecursiveWatches}[i]
			*lp = append(*lp, p)
		}
	}
	if size > 0 {
		out = append(out, cur)
	}
	for _, sw := range out {
		sw.RelativeZxid = relZxid
		for _, l := range []*[]string{&sw.DataWatches, &sw.ExistWatches, &sw.ChildWatches,
			&sw.PersistentWatches, &sw.PersistentRecursiveWatches} {
			if *l == nil {
				*l = []string{}
			}
		}
	}
	return out
}

func keys(m map[string][]*oneShot) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func keysS(m map[string][]*stream) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// closeAll ends every watch with an EventNone carrying err; later registrations are
// dropped.
func (m *watchManager) closeAll(err error) {
	m.mu.Lock()
	m.ended = err
	var once []*oneShot
	var streams []*stream
	for i := range m.once {
		for _, l := range m.once[i] {
			once = append(once, l...)
		}
		m.once[i] = map[string][]*oneShot{}
	}
	for i := range m.pers {
		for _, l := range m.pers[i] {
			streams = append(streams, l...)
		}
		m.pers[i] = map[string][]*stream{}
	}
	m.mu.Unlock()
	ev := Event{Type: EventNone, Err: err}
	for _, o := range once {
		o.fire(ev)
	}
	for _, s := range streams {
		s.push(ev)
		s.end()
	}
}

// removeLocal removes the one-shot watches of typ on the server path p, firing each
// with its removal event, after the server removed them.
func (m *watchManager) removeLocal(p string, typ WatcherType) {
	type fire struct {
		o  *oneShot
		ev Event
	}
	var fired []fire
	cp := m.clientPath(p)
	m.mu.Lock()
	take := func(k watchKind, t EventType) {
		for _, o := range m.once[k][p] {
			fired = append(fired, fire{o, Event{Type: t, Path: cp}})
		}
		delete(m.once[k], p)
	}
	if typ == WatcherData || typ == WatcherAny {
		take(kindData, EventDataWatchRemoved)
		take(kindExist, EventDataWatchRemoved)
	}
	if typ == WatcherChildren || typ == WatcherAny {
		take(kindChild, EventChildWatchRemoved)
	}
	var streams []*stream
	if typ == WatcherAny {
		for i := range m.pers {
			streams = append(streams, m.pers[i][p]...)
			delete(m.pers[i], p)
		}
	}
	m.mu.Unlock()
	for _, f := range fired {
		f.o.fire(f.ev)
	}
	for _, s := range streams {
		s.push(Event{Type: EventPersistentWatchRemoved, Path: cp})
		s.end()
	}
}

// hasOneShot reports whether any one-shot or persistent watch is left on server path p.
func (m *watchManager) anyOn(p string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := range m.once {
		if len(m.once[i][p]) > 0 {
			return true
		}
	}
	for i := range m.pers {
		if len(m.pers[i][p]) > 0 {
			return true
		}
	}
	return false
}

// dropStream forgets one persistent watch; it reports whether it was still there.
func (m *watchManager) dropStream(s *stream, kind watchKind, p string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := m.pers[kind-kindPersistent][p]
	for i, x := range l {
		if x == s {
			l = append(l[:i:i], l[i+1:]...)
			if len(l) == 0 {
				delete(m.pers[kind-kindPersistent], p)
			} else {
				m.pers[kind-kindPersistent][p] = l
			}
			return true
		}
	}
	return false
}

// stream delivers the events of a persistent watch through an unbounded queue, so the
// reader never waits for a slow consumer.
type stream struct {
	out  chan Event
	kick chan struct{} // cap 1
	stop chan struct{} // closed by cancel: drop what is queued

	mu    sync.Mutex // protects following fields
	q     []Event
	ended bool
	once  sync.Once
}

func newStream() *stream {
	s := &stream{out: make(chan Event), kick: make(chan struct{}, 1), stop: make(chan struct{})}
	go s.loop()
	return s
}

func (s *stream) push(ev Event) {
	s.mu.Lock()
	if !s.ended {
		s.q = append(s.q, ev)
	}
	s.mu.Unlock()
	s.poke()
}

func (s *stream) poke() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// end closes the channel once the queued events are delivered.
func (s *stream) end() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.poke()
}

// cancel closes the channel now, dropping queued events.
func (s *stream) cancel() {
	s.once.Do(func() { close(s.stop) })
}

func (s *stream) loop() {
	defer close(s.out)
	for {
		s.mu.Lock()
		var ev Event
		have := len(s.q) > 0
		if have {
			ev = s.q[0]
			s.q = s.q[1:]
		}
		ended := s.ended
		s.mu.Unlock()
		if have {
			select {
			case s.out <- ev:
			case <-s.stop:
				return
			}
			continue
		}
		if ended {
			return
		}
		select {
		case <-s.kick:
		case <-s.stop:
			return
		}
	}
}

// RemoveFunc removes a persistent watch: its channel closes at once. It asks the server
// to drop its watch on the path unless another watch of this session remains there
// (ZooKeeper 3.8 can only remove all of a path's watches at once); a watch left on the
// server only costs events the client ignores. Calling it again does nothing.
type RemoveFunc func(ctx context.Context) error

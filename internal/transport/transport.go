package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Defaults for zero Config fields.
const (
	DefaultQueueSize    = 4096
	DefaultDialTimeout  = time.Second
	DefaultWriteTimeout = 5 * time.Second
	DefaultMinBackoff   = 20 * time.Millisecond
	DefaultMaxBackoff   = 500 * time.Millisecond
)

// Errors returned by SendApp.
var (
	ErrUnknownPeer = errors.New("transport: no address known for the member")
	ErrQueueFull   = errors.New("transport: send queue to the member is full")
	ErrStopped     = errors.New("transport: stopped")
)

// Handler is the member the transport serves (raftnode implements it). Its
// methods are called from the transport's goroutines, concurrently.
type Handler interface {
	// Process hands a message received from a peer to raft.
	Process(ctx context.Context, m raftpb.Message) error
	// ReportUnreachable tells raft that a message to id was dropped.
	ReportUnreachable(id uint64)
	// ReportSnapshot tells raft how sending a snapshot to id ended.
	ReportSnapshot(id uint64, status raft.SnapshotStatus)
	// PeerLost is called when a stream to or from id ended because the
	// peer's process is gone (EOF, reset, connection refused). It may be
	// called repeatedly while the peer stays down.
	PeerLost(id uint64, err error)
	// OpenSnapshot opens the snapshot file a MsgSnap refers to, for
	// streaming to the peer, and returns its size.
	OpenSnapshot(m raftpb.Message) (io.ReadCloser, int64, error)
	// ReceiveSnapshot durably stores the snapshot file streamed with m and
	// verifies it; it may rewrite m.Snapshot.Data to say where the file is.
	// Only when it succeeds is m processed.
	ReceiveSnapshot(m *raftpb.Message, r io.Reader, size int64) error
	// App is called for every application message received. data is the
	// handler's to keep.
	App(from uint64, kind uint8, data []byte)
}

// Config configures a Transport.
type Config struct {
	ID        uint64 // this member's id
	ClusterID string // peers with another cluster id are refused
	// ListenAddr is the peer address to listen on, unless Listener is set.
	ListenAddr string
	// Listener, if set, is used instead of listening on ListenAddr.
	Listener net.Listener
	Handler  Handler
	Logger   *slog.Logger // default slog.Default()
	// QueueSize bounds the messages queued per peer; default 4096.
	QueueSize int
	// DialTimeout bounds a dial plus handshake; default 1s.
	DialTimeout time.Duration
	// WriteTimeout bounds one flush to a peer; a peer that does not read for
	// that long gets its stream re-dialled. Default 5s.
	WriteTimeout time.Duration
	// MinBackoff and MaxBackoff bound the delay between dials to a peer
	// that cannot be reached; defaults 20ms and 500ms.
	MinBackoff, MaxBackoff time.Duration
	// Faults, if set, injects network faults (tests).
	Faults *Faults
}

// Transport is one member's side of the peer network. Create it with New,
// add peers with SetPeer, start it with Start.
type Transport struct {
	cfg Config
	lg  *slog.Logger
	ln  net.Listener
	h   Handler

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	peers   map[uint64]*peer
	inbound map[net.Conn]struct{}
	started bool
	stopped bool
	wg      sync.WaitGroup
}

// New listens on the peer address. Nothing is accepted or dialled until Start.
func New(cfg Config) (*Transport, error) {
	if cfg.ID == 0 {
		return nil, errors.New("transport: Config.ID must be non-zero")
	}
	if cfg.Handler == nil {
		return nil, errors.New("transport: Config.Handler must be set")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.ListenAddr); err != nil {
			return nil, fmt.Errorf("transport: listen on peer address %s: %w", cfg.ListenAddr, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Transport{
		cfg:     cfg,
		lg:      cfg.Logger.With("component", "transport", "member", fmt.Sprintf("%x", cfg.ID)),
		ln:      ln,
		h:       cfg.Handler,
		ctx:     ctx,
		cancel:  cancel,
		peers:   make(map[uint64]*peer),
		inbound: make(map[net.Conn]struct{}),
	}, nil
}

// Addr returns the bound peer address.
func (t *Transport) Addr() net.Addr { return t.ln.Addr() }

// Start accepts peers' streams and starts dialling the known peers.
func (t *Transport) Start() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started || t.stopped {
		return
	}
	t.started = true
	t.wg.Add(1)
	go t.acceptLoop()
	for _, p := range t.peers {
		p.start()
	}
	t.lg.Info("peer transport started", "addr", t.ln.Addr().String(), "cluster", t.cfg.ClusterID)
}

// SetPeer adds peer id at addr, or changes its address (the stream is then
// re-dialled). Setting this member's own id is ignored.
func (t *Transport) SetPeer(id uint64, addr string) {
	if id == t.cfg.ID || id == 0 || addr == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	if p, ok := t.peers[id]; ok {
		p.setAddr(addr)
		return
	}
	p := newPeer(t, id, addr)
	t.peers[id] = p
	if t.started {
		p.start()
	}
}

// RemovePeer stops sending to id and drops what is queued for it.
func (t *Transport) RemovePeer(id uint64) {
	t.mu.Lock()
	p, ok := t.peers[id]
	delete(t.peers, id)
	t.mu.Unlock()
	if ok {
		p.stop(true)
	}
}

// Peers returns the known peers and their addresses.
func (t *Transport) Peers() map[uint64]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[uint64]string, len(t.peers))
	for id, p := range t.peers {
		out[id] = p.getAddr()
	}
	return out
}

func (t *Transport) peer(id uint64) *peer {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.peers[id]
}

// Send queues raft messages for their recipients. It never blocks: a message
// that cannot be queued is dropped and reported unreachable.
func (t *Transport) Send(msgs []raftpb.Message) {
	for i := range msgs {
		m := &msgs[i]
		if m.To == t.cfg.ID {
			continue
		}
		p := t.peer(m.To)
		if p == nil {
			t.lg.Debug("dropping message to a member with no known address", "to", fmt.Sprintf("%x", m.To), "type", m.Type)
			t.dropped(*m)
			continue
		}
		if m.Type == raftpb.MsgSnap {
			p.sendSnapshot(*m)
			continue
		}
		pass, delay := t.cfg.Faults.decide(t.cfg.ID, m.To)
		if !pass {
			continue
		}
		if delay > 0 {
			t.sendLater(p, *m, delay)
			continue
		}
		if !p.enqueue(outMsg{typ: frameRaft, raft: *m}) {
			t.dropped(*m)
		}
	}
}

// sendLater queues m for p after delay (an injected fault). It is a function of its
// own so that Send's loop variables are not captured by the closure (which would
// move every message to the heap).
func (t *Transport) sendLater(p *peer, m raftpb.Message, delay time.Duration) {
	time.AfterFunc(delay, func() {
		if !p.enqueue(outMsg{typ: frameRaft, raft: m}) {
			t.dropped(m)
		}
	})
}

// dropped reports a raft message that was not sent.
func (t *Transport) dropped(m raftpb.Message) {
	if m.Type == raftpb.MsgSnap {
		t.h.ReportSnapshot(m.To, raft.SnapshotFailure)
		return
	}
	t.h.ReportUnreachable(m.To)
}

// SendApp queues an application message for member to. The data is copied.
// It fails if no address is known for to or its queue is full.
func (t *Transport) SendApp(to uint64, kind uint8, data []byte) error {
	p := t.peer(to)
	if p == nil {
		t.mu.Lock()
		stopped := t.stopped
		t.mu.Unlock()
		if stopped {
			return ErrStopped
		}
		return ErrUnknownPeer
	}
	pass, delay := t.cfg.Faults.decide(t.cfg.ID, to)
	if !pass {
		return nil
	}
	payload := make([]byte, 1+len(data))
	payload[0] = kind
	copy(payload[1:], data)
	out := outMsg{typ: frameApp, app: payload}
	if delay > 0 {
		time.AfterFunc(delay, func() { p.enqueue(out) })
		return nil
	}
	if !p.enqueue(out) {
		return ErrQueueFull
	}
	return nil
}

// Stop closes the listener and every stream, abruptly (peers see the
// streams end as if this process had died, which is what it is about to
// do), and waits for the transport's goroutines.
func (t *Transport) Stop() {
	t.mu.Lock()
	if t.stopped {
		t.mu.Unlock()
		return
	}
	t.stopped = true
	peers := make([]*peer, 0, len(t.peers))
	for _, p := range t.peers {
		peers = append(peers, p)
	}
	clear(t.peers)
	for c := range t.inbound {
		c.Close()
	}
	t.mu.Unlock()
	t.cancel()
	t.ln.Close()
	for _, p := range peers {
		p.stop(false)
	}
	t.wg.Wait()
	t.lg.Info("peer transport stopped")
}

// Package server is corral's front end: it accepts ZooKeeper client connections,
// negotiates sessions, keeps each session's requests in FIFO order, turns writes into
// raft proposals, serves reads from the local tree, keeps watches, and protects the
// member from its clients with limits on frames, connections, requests in flight and
// unsent replies.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-io/corral/internal/raftnode"
	"github.com/corral-io/corral/internal/transport"
	"github.com/corral-io/corral/internal/tree"
	"github.com/corral-io/corral/proto"
)

// Version is the server's version, reported by srvr, stat, mntr and `corral version`.
var Version = "0.1.0"

// Config is what the front end needs to know.
type Config struct {
	ID                uint64
	ClientAddr        string
	DataDir           string
	TickTime          time.Duration
	MinSessionTimeout time.Duration
	MaxSessionTimeout time.Duration
	MaxClientCnxns    int // per IP; 0 = unlimited
	MaxConnections    int // global; 0 = unlimited
	MaxBuffer         int
	MaxOutstanding    int
	MaxSendQueueBytes int
	// MaxInflightBytes bounds the bytes of requests read and not yet answered across
	// all connections (see inflightBudget); default 128 MiB.
	MaxInflightBytes       int
	ContainerCheckInterval time.Duration
	ContainerMaxPerMinute  int
	ContainerMaxNeverUsed  time.Duration
	FourLetterWords        []string
	SnapshotCount          uint64
	SnapshotRetain         int
	// Peers maps member ids to peer addresses, this member included; empty for a
	// single member. It bootstraps a new cluster; afterwards membership lives in
	// the raft log.
	Peers map[uint64]string
	// PeerAddr is where this member listens for its peers.
	PeerAddr string
	// Observers are the members of Peers that do not vote (raft learners).
	Observers []uint64
	// Join starts a member added to a running cluster.
	Join bool
	// ClusterID names the cluster.
	ClusterID string
	// MinFreeDisk is the free space under which client writes are refused
	// (QUOTAEXCEEDED); 0 disables the check.
	MinFreeDisk int64
	// ForceNewCluster recovers from a lost quorum with this member alone.
	ForceNewCluster bool
	// ReadOnlyMode lets a member cut off from the quorum serve reads to clients
	// that accept a read-only server (readonlymode.enabled).
	ReadOnlyMode bool
	// ReconfigDisabled refuses reconfig requests with ReconfigDisabled (reconfig.go).
	ReconfigDisabled bool
	// SuperDigest is the super user's digest id (user:base64(sha1(user:password))),
	// or "": a client that authenticates as it gets the super id, which passes every
	// ACL check; while it is set, reconfig needs WRITE on /zookeeper/config.
	SuperDigest string
	// PeerFaults injects network faults between members (tests only).
	PeerFaults *transport.Faults
	// EarlyConnectWindow: a new session's ConnectResponse is sent before its
	// createSession entry commits only if this member heard from its leader (the
	// leader: from a quorum) this recently; otherwise it waits for the commit.
	// 0 means 25ms; a negative value always waits (tests).
	EarlyConnectWindow time.Duration
	// ConfDump renders the conf four-letter word's output (nil: a minimal one).
	ConfDump func() string
	// OnLeadership, if set, is called at each change of the known leader with
	// whether this member is now the leader (so also when its role stays the
	// same). It is called from the raft loop and must return quickly.
	OnLeadership func(leader bool)
	Logger       *slog.Logger
}

func (c *Config) setDefaults() {
	if c.EarlyConnectWindow == 0 {
		c.EarlyConnectWindow = 25 * time.Millisecond
	}
	if c.ID == 0 {
		c.ID = 1
	}
	if c.TickTime <= 0 {
		c.TickTime = 2 * time.Second
	}
	if c.MinSessionTimeout <= 0 {
		c.MinSessionTimeout = 2 * c.TickTime
	}
	if c.MaxSessionTimeout <= 0 {
		c.MaxSessionTimeout = 20 * c.TickTime
	}
	if c.MaxBuffer <= 0 {
		c.MaxBuffer = proto.DefaultMaxBuffer
	}
	if c.MaxOutstanding <= 0 {
		c.MaxOutstanding = 1000
	}
	if c.MaxInflightBytes <= 0 {
		c.MaxInflightBytes = 128 << 20
	}
	if c.MaxSendQueueBytes <= 0 {
		c.MaxSendQueueBytes = 16 << 20
	}
	if c.ContainerCheckInterval <= 0 {
		c.ContainerCheckInterval = time.Minute
	}
	if c.ContainerMaxPerMinute <= 0 {
		c.ContainerMaxPerMinute = 10000
	}
	if c.FourLetterWords == nil {
		c.FourLetterWords = []string{"ruok", "srvr", "stat", "mntr", "conf", "isro", "dirs", "envi"}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Server is one corral member's client-facing side.
type Server struct {
	cfg  Config
	log  *slog.Logger
	node *raftnode.Node

	// mu guards the tree: Apply holds it for writing, reads and local ops for reading.
	mu      sync.RWMutex
	tree    *tree.Tree
	applied atomic.Int64 // raft index of the last applied entry: the zxid reads report
	watchMu sync.Mutex   // with mu held for reading, guards watches
	watches *watchManager

	waitMu  sync.Mutex
	waiters map[uint64]waiter
	reqID   atomic.Uint64

	connMu    sync.Mutex
	conns     map[*conn]struct{}
	perIP     map[string]int
	sessConns map[int64]*conn

	sessions *sessionTracker
	stats    *stats

	ln       net.Listener
	serving  atomic.Bool
	stopping chan struct{}
	wg       sync.WaitGroup
	stopOnce sync.Once
	nextSID  atomic.Int64
	inflight *inflightBudget
	// leaderChangedAt is when the known leader last changed (unix ns).
	leaderChangedAt atomic.Int64
	// readOnly is set while the member serves read-only clients (no quorum).
	readOnly atomic.Bool
	// lowDisk is set while writes are refused for lack of disk space.
	lowDisk atomic.Bool
	metrics *metrics
	// digests and divergence: the cross-member state check (digest.go).
	digests   *digestBook
	nodeReady atomic.Bool // s.node is set
	// wasMember says whether the membership applied last included this member (s.mu):
	// only a change from member to non-member means it was removed (configApplied).
	wasMember bool
	// digestsAgreed counts checkpoints where every member reported the same digest.
	digestsAgreed atomic.Int64
	divergence    atomic.Pointer[string]
	reconfigMu    sync.Mutex // held while a reconfig runs (reconfig.go)
}

// waiter is what a proposer waits on: a client request, or a channel for the server's
// own proposals (session creation).
type waiter struct {
	c   *conn
	req *request
	ch  chan tree.Result
}

// New opens the data dir, recovers the state, and prepares the server. Serve starts it.
func New(cfg Config) (*Server, error) {
	cfg.setDefaults()
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger,
		tree:      tree.New(),
		watches:   newWatchManager(),
		waiters:   make(map[uint64]waiter),
		conns:     make(map[*conn]struct{}),
		perIP:     make(map[string]int),
		sessConns: make(map[int64]*conn),
		stats:     newStats(),
		stopping:  make(chan struct{}),
		digests:   newDigestBook(),
	}
	s.sessions = newSessionTracker()
	s.metrics = newMetrics(s)
	s.nextSID.Store(sessionIDAt(cfg.ID, time.Now()))
	s.inflight = newInflightBudget(cfg.MaxInflightBytes)
	start := time.Now()
	node, err := raftnode.Start(raftnode.Config{
		ID:              cfg.ID,
		DataDir:         cfg.DataDir,
		SnapshotCount:   cfg.SnapshotCount,
		SnapshotRetain:  cfg.SnapshotRetain,
		MaxEntryBytes:   cfg.MaxBuffer + 64<<10,
		Logger:          cfg.Logger,
		Peers:           cfg.Peers,
		PeerAddr:        cfg.PeerAddr,
		Learners:        cfg.Observers,
		Join:            cfg.Join,
		ClusterID:       cfg.ClusterID,
		ForceNewCluster: cfg.ForceNewCluster,
		PeerFaults:      cfg.PeerFaults,
		OnLeaderChange:  s.leaderChanged,
		// 0.8–1.6 s without a leader starts an election: a frozen leader is
		// replaced within about 2 s (ZooKeeper's defaults: about 10 s).
		ElectionTicks: 8,
	}, (*stateMachine)(s))
	if err != nil {
		return nil, err
	}
	s.node = node
	s.mu.Lock()
	// A member that joins starts with no membership and then applies, while catching
	// up, the configurations from before it was added: none of them removes it.
	s.wasMember = node.Members().IsMember(cfg.ID)
	s.nodeReady.Store(true)
	s.mu.Unlock()
	node.OnApp(s.onPeerMessage)
	s.mu.RLock()
	for _, si := range s.tree.Sessions() {
		// A restarted (or new) leader gives every session a fresh full timeout.
		s.sessions.add(si.ID, time.Duration(si.Timeout)*time.Millisecond, time.Now())
	}
	nodes := s.tree.NodeCount()
	s.mu.RUnlock()
	s.log.Info("state recovered", "zxid", fmt.Sprintf("0x%x", s.applied.Load()), "znodes", nodes,
		"sessions", s.sessions.len(), "took", time.Since(start).Round(time.Millisecond))
	return s, nil
}

// Listen binds the client address. It is separate from Serve so callers learn the
// bound address (port 0) before serving.
func (s *Server) Listen() error {
	// No TCP keep-alive on client connections (as ZooKeeper's default,
	// tcpKeepAlive=false): sessions have their own timeouts and pings, and
	// keep-alive would cost four setsockopt calls per accepted connection. The
	// backlog is the kernel's somaxconn (Go reads it), so bursts of connects
	// queue instead of being dropped.
	lc := net.ListenConfig{KeepAlive: -1}
	ln, err := lc.Listen(context.Background(), "tcp", s.cfg.ClientAddr)
	if err != nil {
		return fmt.Errorf("listen on client address %s: %w", s.cfg.ClientAddr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the bound client address, once Listen has succeeded.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Serve accepts clients until Close. It returns nil after Close.
func (s *Server) Serve() error {
	if s.ln == nil {
		if err := s.Listen(); err != nil {
			return err
		}
	}
	s.serving.Store(true)
	s.wg.Add(5)
	go s.diskLoop()
	go s.expiryLoop()
	go s.reapLoop()
	go s.touchLoop()
	go s.watchdogLoop()
	s.log.Info("serving clients", "addr", s.ln.Addr().String(), "id", s.cfg.ID)
	if w := s.evenVotersWarning(); w != "" {
		s.log.Warn(w)
	}
	var tempDelay time.Duration
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			select {
			case <-s.stopping:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscallEMFILE) {
				// Out of file descriptors or a transient error: back off, keep serving.
				if tempDelay == 0 {
					tempDelay = 5 * time.Millisecond
				} else if tempDelay *= 2; tempDelay > time.Second {
					tempDelay = time.Second
				}
				s.log.Warn("accept failed; retrying", "err", err, "delay", tempDelay)
				time.Sleep(tempDelay)
				continue
			}
			return fmt.Errorf("accept: %w", err)
		}
		tempDelay = 0
		s.accept(nc)
	}
}

// Close stops serving, closes every connection and stops raft. Sessions stay open in
// the log: their clients may reconnect after a restart.
func (s *Server) Close() {
	s.stopOnce.Do(func() {
		s.serving.Store(false)
		close(s.stopping)
		if s.ln != nil {
			s.ln.Close()
		}
		s.connMu.Lock()
		cs := make([]*conn, 0, len(s.conns))
		for c := range s.conns {
			cs = append(cs, c)
		}
		s.connMu.Unlock()
		for _, c := range cs {
			c.close("server shutting down")
		}
		s.wg.Wait()
		s.node.Stop()
	})
}

// propose stamps and proposes an entry; the waiter gets the result at apply time.
func (s *Server) propose(ctx context.Context, e *tree.Entry, w waiter) error {
	e.Origin = s.cfg.ID
	e.ReqID = s.reqID.Add(1)
	if e.Time == 0 {
		e.Time = time.Now().UnixMilli()
	}
	s.waitMu.Lock()
	s.waiters[e.ReqID] = w
	s.waitMu.Unlock()
	if err := s.node.Propose(ctx, e.Marshal()); err != nil {
		s.waitMu.Lock()
		delete(s.waiters, e.ReqID)
		s.waitMu.Unlock()
		return err
	}
	return nil
}

// proposeWait proposes an entry of the server's own and waits for its result.
func (s *Server) proposeWait(ctx context.Context, e *tree.Entry) (tree.Result, error) {
	ch := make(chan tree.Result, 1)
	if err := s.propose(ctx, e, waiter{ch: ch}); err != nil {
		return tree.Result{}, err
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return tree.Result{}, ctx.Err()
	case <-s.stopping:
		return tree.Result{}, errStopping
	}
}

var errStopping = errors.New("server stopping")

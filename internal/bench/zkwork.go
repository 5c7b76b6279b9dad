package bench

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-io/corral/proto"
)

// benchRoot is the parent of every run's namespace on ZooKeeper-protocol servers.
const benchRoot = "/corral-bench"

var openACL = proto.WorldACL(proto.PermAll)

// zkBench holds what one ZooKeeper-protocol workload needs.
type zkBench struct {
	cfg   *Config
	admin *Conn  // setup and cleanup session
	dir   string // this run's namespace
	value []byte
}

func (b *zkBench) dial(i int, onWatch func(proto.WatcherEvent, int64)) (*Conn, error) {
	return Dial(b.cfg.Servers[i%len(b.cfg.Servers)], DialOptions{
		Timeout: b.cfg.OpTimeout, SessionTimeout: b.cfg.SessionTimeout, OnWatch: onWatch,
	})
}

// dialAll opens count sessions, the k-th as dial(first+k) with the watch callback
// onWatch(k) gives (onWatch nil: none). If one fails it aborts those already open.
func (b *zkBench) dialAll(first, count int, onWatch func(k int) func(proto.WatcherEvent, int64)) ([]*Conn, error) {
	return openAll(count, func(k int) (*Conn, error) {
		var cb func(proto.WatcherEvent, int64)
		if onWatch != nil {
			cb = onWatch(k)
		}
		return b.dial(first+k, cb)
	}, (*Conn).Abort)
}

// closeAll closes the sessions of conns.
func (b *zkBench) closeAll(conns []*Conn) {
	for _, c := range conns {
		_ = c.Close(b.cfg.OpTimeout)
	}
}

// create makes a persistent node, tolerating one that exists.
func (b *zkBench) create(path string, data []byte) error {
	_, err := b.admin.Call(proto.OpCreate, &proto.CreateRequest{Path: path, Data: data, ACL: openACL}, nil, b.cfg.OpTimeout)
	if errors.Is(err, proto.ErrNodeExists) {
		return nil
	}
	return err
}

// pipeline sends n requests on the admin session, at most window at a time, and waits for
// them. Replies whose code is in ok count as success; the first other error is returned.
func (b *zkBench) pipeline(n int, gen func(i int) (proto.OpCode, proto.Record), ok ...proto.Code) error {
	const window = 512
	sem := make(chan struct{}, window)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	setErr := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for i := 0; i < n; i++ {
		select {
		case sem <- struct{}{}:
		case <-time.After(b.cfg.OpTimeout):
			setErr(errTimeout)
		}
		mu.Lock()
		failed := firstErr != nil
		mu.Unlock()
		if failed {
			break
		}
		op, req := gen(i)
		wg.Add(1)
		err := b.admin.Send(op, req, func(r *Reply) {
			defer func() { <-sem; wg.Done() }()
			switch {
			case r.Err != nil:
				setErr(r.Err)
			case r.Hdr.Err != proto.ErrOK:
				for _, c := range ok {
					if r.Hdr.Err == c {
						return
					}
				}
				setErr(fmt.Errorf("%s: %w", op, r.Hdr.Err))
			}
		})
		if err != nil {
			wg.Done()
			setErr(err)
			break
		}
	}
	wg.Wait()
	return firstErr
}

// cleanup deletes the run's namespace: its children, then itself, then the shared root
// if it is empty.
func (b *zkBench) cleanup() error {
	var kids proto.GetChildrenResponse
	if _, err := b.admin.Call(proto.OpGetChildren, &proto.PathWatchRequest{Path: b.dir}, &kids, b.cfg.OpTimeout); err != nil {
		if errors.Is(err, proto.ErrNoNode) {
			return nil
		}
		return err
	}
	err := b.pipeline(len(kids.Children), func(i int) (proto.OpCode, proto.Record) {
		return proto.OpDelete, &proto.DeleteRequest{Path: b.dir + "/" + kids.Children[i], Version: -1}
	}, proto.ErrNoNode)
	if err != nil {
		return err
	}
	if _, err := b.admin.Call(proto.OpDelete, &proto.DeleteRequest{Path: b.dir, Version: -1}, nil, b.cfg.OpTimeout); err != nil && !errors.Is(err, proto.ErrNoNode) {
		return err
	}
	_, _ = b.admin.Call(proto.OpDelete, &proto.DeleteRequest{Path: benchRoot, Version: -1}, nil, b.cfg.OpTimeout)
	return nil
}

// runZK runs one workload against ZooKeeper-protocol servers.
func runZK(ctx context.Context, cfg *Config, workload string) (*Result, error) {
	admin, err := Dial(cfg.Servers[0], DialOptions{Timeout: cfg.OpTimeout, SessionTimeout: cfg.SessionTimeout})
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", cfg.Servers[0], err)
	}
	defer admin.Close(cfg.OpTimeout)
	b := &zkBench{cfg: cfg, admin: admin, dir: benchRoot + "/" + workload + "-" + runID(), value: randomValue(cfg.ValueSize)}
	if err := b.create(benchRoot, nil); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	if err := b.create(b.dir, nil); err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	res := &Result{
		Workload: workload, Target: "zookeeper-protocol", Servers: cfg.Servers,
		Sessions: cfg.Sessions, Inflight: cfg.Inflight, ValueSize: cfg.ValueSize, Unit: "requests",
		Label: cfg.Label,
	}
	var runErr error
	switch workload {
	case WorkloadGet, WorkloadSet, WorkloadMixed:
		runErr = b.keyValue(ctx, workload, res)
	case WorkloadCreate:
		runErr = b.createSeq(ctx, res)
	case WorkloadSessionChurn:
		runErr = b.sessionChurn(ctx, res)
	case WorkloadWatch:
		runErr = b.watch(ctx, res)
	case WorkloadLock:
		runErr = b.lock(ctx, res)
	default:
		runErr = fmt.Errorf("unknown workload %q", workload)
	}
	if err := b.cleanup(); err != nil && runErr == nil {
		keepDespiteCleanup(cfg, res, b.dir, err)
	}
	if runErr != nil {
		return nil, runErr
	}
	return res, nil
}

// closedLoop runs cfg.Sessions sessions, each keeping cfg.Inflight requests from gen in
// flight until the meter stops, and fills res.
func (b *zkBench) closedLoop(ctx context.Context, res *Result, gen func() (proto.OpCode, proto.Record)) error {
	conns, err := b.dialAll(0, b.cfg.Sessions, nil)
	if err != nil {
		return err
	}
	m := newMeter(ctx, b.cfg, res.Workload)
	loops := make([]*zkLoop, len(conns))
	recs := make([]*recorder, len(conns))
	for i, c := range conns {
		l := &zkLoop{m: m, c: c, rec: newRecorder(), gen: gen, done: make(chan struct{})}
		l.cb = l.onReply
		l.live.Store(int32(b.cfg.Inflight))
		loops[i], recs[i] = l, l.rec
	}
	for _, l := range loops {
		for k := 0; k < b.cfg.Inflight; k++ {
			l.issue()
		}
	}
	waitLoops(ctx, m, b.cfg.OpTimeout, loops)
	secs := m.finish()
	b.closeAll(conns)
	fill(res, secs, recs)
	return nil
}

// waitLoops waits for every loop to finish. Loops still running OpTimeout after the
// deadline (or when ctx ends) are aborted and counted as timed out.
func waitLoops(ctx context.Context, m *meter, grace time.Duration, loops []*zkLoop) {
	var expire <-chan time.Time
	if m.deadline > 0 {
		t := time.NewTimer(time.Duration(m.deadline-nowNanos()) + grace)
		defer t.Stop()
		expire = t.C
	}
	for i, l := range loops {
		select {
		case <-l.done:
			continue
		case <-expire:
		case <-ctx.Done():
		}
		m.stop()
		for _, l := range loops[i:] {
			select {
			case <-l.done:
			default:
				l.rec.fail("timeout")
				l.c.Abort()
				<-l.done
			}
		}
		return
	}
}

// zkLoop is one session of a closed loop: every reply issues the next request.
type zkLoop struct {
	m    *meter
	c    *Conn
	rec  *recorder
	gen  func() (proto.OpCode, proto.Record)
	cb   Callback
	live atomic.Int32
	done chan struct{}
}

func (l *zkLoop) slotDone() {
	if l.live.Add(-1) == 0 {
		close(l.done)
	}
}

func (l *zkLoop) issue() {
	if ok, _ := l.m.next(); !ok {
		l.slotDone()
		return
	}
	op, req := l.gen()
	if err := l.c.Send(op, req, l.cb); err != nil {
		l.rec.fail("connection")
		l.slotDone()
	}
}

func (l *zkLoop) onReply(r *Reply) {
	if r.Err != nil {
		if !errors.Is(r.Err, ErrConnClosed) {
			l.rec.fail("connection")
		}
		l.slotDone()
		return
	}
	measured := l.m.isMeasured(r.Start)
	l.m.done(r.End, measured)
	if measured {
		if r.Hdr.Err != proto.ErrOK {
			l.rec.fail(r.Hdr.Err.String())
		} else {
			l.rec.hist.Record(r.End - r.Start)
		}
	}
	l.issue()
}

// keyValue runs get, set or mixed over cfg.Keys pre-created nodes.
func (b *zkBench) keyValue(ctx context.Context, workload string, res *Result) error {
	n := b.cfg.Keys
	gets := make([]proto.Record, n)
	sets := make([]proto.Record, n)
	for i := range n {
		p := fmt.Sprintf("%s/k-%06d", b.dir, i)
		gets[i] = &proto.PathWatchRequest{Path: p}
		sets[i] = &proto.SetDataRequest{Path: p, Data: b.value, Version: -1}
	}
	err := b.pipeline(n, func(i int) (proto.OpCode, proto.Record) {
		return proto.OpCreate, &proto.CreateRequest{Path: gets[i].(*proto.PathWatchRequest).Path, Data: b.value, ACL: openACL}
	}, proto.ErrNodeExists)
	if err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	ratio := 1.0
	switch workload {
	case WorkloadSet:
		ratio = 0
	case WorkloadMixed:
		ratio = b.cfg.ReadRatio
		res.ReadRatio = ratio
	}
	return b.closedLoop(ctx, res, func() (proto.OpCode, proto.Record) {
		i := mrand.IntN(n)
		if ratio >= 1 || ratio > 0 && mrand.Float64() < ratio {
			return proto.OpGetData, gets[i]
		}
		return proto.OpSetData, sets[i]
	})
}

// createSeq runs persistent-sequential creates under one parent.
func (b *zkBench) createSeq(ctx context.Context, res *Result) error {
	req := &proto.CreateRequest{Path: b.dir + "/n-", Data: b.value, ACL: openACL, Flags: proto.ModePersistentSequential}
	return b.closedLoop(ctx, res, func() (proto.OpCode, proto.Record) { return proto.OpCreate, req })
}

// sessionChurn opens a session, creates an ephemeral node, and closes the session, over
// and over, in cfg.Sessions concurrent loops.
func (b *zkBench) sessionChurn(ctx context.Context, res *Result) error {
	res.Unit, res.Inflight = "sessions", 1
	res.Note = "latency is connect latency (TCP connect + session handshake); extra 'session' is the whole open/create/close cycle, " +
		"'tcp' the TCP connect, 'handshake' the session handshake (ConnectRequest to ConnectResponse), 'create' the ephemeral create, 'close' the closeSession"
	m := newMeter(ctx, b.cfg, res.Workload)
	recs := make([]*recorder, b.cfg.Sessions)
	var wg sync.WaitGroup
	for i := range recs {
		rec := newRecorder("session", "tcp", "handshake", "create", "close")
		recs[i] = rec
		wg.Add(1)
		go func() {
			defer wg.Done()
			ch := newChurner(b.cfg.OpTimeout, b.cfg.SessionTimeout,
				&proto.CreateRequest{Path: b.dir + "/e-", Data: b.value, ACL: openACL, Flags: proto.ModeEphemeralSequential})
			addr := b.cfg.Servers[i%len(b.cfg.Servers)]
			for {
				ok, _ := m.next()
				if !ok {
					return
				}
				t, err := ch.cycle(addr)
				end := max(t.start, t.tcp, t.connected, t.created, t.closed)
				measured := m.isMeasured(t.start)
				var step *churnStepError
				if errors.As(err, &step) && step.step == "connect" {
					var ne interface{ Timeout() bool }
					if errors.As(err, &ne) && ne.Timeout() {
						rec.fail("connect timeout")
					} else {
						rec.fail("connect failed")
					}
					m.done(end, false)
					time.Sleep(10 * time.Millisecond)
					continue
				}
				m.done(end, measured)
				if !measured {
					continue
				}
				if err != nil {
					rec.fail(step.step + ": " + errKind(step.err))
					continue
				}
				rec.hist.Record(t.connected - t.start)
				rec.extra["session"].Record(t.closed - t.start)
				rec.extra["tcp"].Record(t.tcp - t.start)
				rec.extra["handshake"].Record(t.connected - t.tcp)
				rec.extra["create"].Record(t.created - t.connected)
				rec.extra["close"].Record(t.closed - t.created)
			}
		}()
	}
	wg.Wait()
	fill(res, m.finish(), recs)
	return nil
}

// errKind names an error for the error table.
func errKind(err error) string {
	var code proto.Code
	switch {
	case errors.As(err, &code):
		return code.String()
	case errors.Is(err, errTimeout):
		return "timeout"
	default:
		return "connection"
	}
}

// watchRound is one write and the events it should cause.
type watchRound struct {
	at        []atomic.Int64 // per watcher, arrival time of the event (0 = not yet)
	remaining atomic.Int32
	all       chan struct{}
}

// watch runs cfg.Sessions watcher sessions, each with a data watch on one node, and a
// writer per server that, in turn, changes the node once every watcher has re-armed its
// watch.
func (b *zkBench) watch(ctx context.Context, res *Result) error {
	res.Unit, res.Inflight = "events", 1
	res.Note = "one-shot data watches re-armed (getData, watch=true) before each write; one writer per server, in turn; latency from the write's acknowledgement to each event (0 if the event came first); extra 'from_send' from the write's send"
	node := b.dir + "/w"
	if err := b.create(node, b.value); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	var cur atomic.Pointer[watchRound]
	n := b.cfg.Sessions
	conns, err := b.dialAll(0, n, func(i int) func(proto.WatcherEvent, int64) {
		return func(ev proto.WatcherEvent, at int64) {
			r := cur.Load()
			if r == nil || ev.Type != proto.EventNodeDataChanged || ev.Path != node || !r.at[i].CompareAndSwap(0, at) {
				return
			}
			if r.remaining.Add(-1) == 0 {
				close(r.all)
			}
		}
	})
	if err != nil {
		return err
	}
	defer b.closeAll(conns)
	// One writer per server, taking turns: a write's events reach the watchers on
	// other members one commit notification later than those on the member that
	// answers it, so which member answers (the leader or a follower) moves the
	// figures; every server takes its share of the writes, whichever was elected.
	writers, err := b.dialAll(n, len(b.cfg.Servers), nil)
	if err != nil {
		return err
	}
	defer b.closeAll(writers)

	rec := newRecorder("from_send", "write")
	m := newMeter(ctx, b.cfg, res.Workload)
	arm := &proto.PathWatchRequest{Path: node, Watch: true}
	set := &proto.SetDataRequest{Path: node, Data: b.value, Version: -1}
	writes, round := int64(0), 0
	for {
		ok, _ := m.next()
		if !ok {
			break
		}
		// Re-arm every watcher, all at once, and wait for all of them.
		var wg sync.WaitGroup
		var armErrs atomic.Int32
		for _, c := range conns {
			wg.Add(1)
			if err := c.Send(proto.OpGetData, arm, func(r *Reply) {
				if r.Err != nil || r.Hdr.Err != proto.ErrOK {
					armErrs.Add(1)
				}
				wg.Done()
			}); err != nil {
				armErrs.Add(1)
				wg.Done()
			}
		}
		wg.Wait()
		if armErrs.Load() > 0 {
			rec.fail("arm watch")
			m.stop()
			break
		}
		r := &watchRound{at: make([]atomic.Int64, n), all: make(chan struct{})}
		r.remaining.Store(int32(n))
		cur.Store(r)
		sent := nowNanos()
		writer := writers[round%len(writers)]
		round++
		_, err := writer.Call(proto.OpSetData, set, nil, b.cfg.OpTimeout)
		ack := nowNanos()
		if err != nil {
			rec.fail("write: " + errKind(err))
			m.stop()
			break
		}
		timeout := time.NewTimer(b.cfg.OpTimeout)
		select {
		case <-r.all:
		case <-timeout.C:
		}
		timeout.Stop()
		cur.Store(nil)
		measured := m.isMeasured(sent)
		last := ack
		for i := range r.at {
			at := r.at[i].Load()
			if at == 0 {
				if measured {
					rec.fail("event timeout")
				}
				continue
			}
			last = max(last, at)
			if measured {
				rec.hist.Record(at - ack)
				rec.extra["from_send"].Record(at - sent)
			}
		}
		if measured {
			rec.extra["write"].Record(ack - sent)
			writes++
		}
		m.doneN(last, measured, int64(n))
	}
	secs := m.finish()
	fill(res, secs, []*recorder{rec})
	if secs > 0 {
		res.Rates = map[string]float64{"writes": float64(writes) / secs}
	}
	return nil
}

// lockHolders detects a broken lock: more than one holder at a time.
type lockHolders struct{ n atomic.Int32 }

// lock runs cfg.Sessions contenders on one lock with the Curator/kazoo recipe: create an
// ephemeral-sequential child, and if it is not the lowest, watch the next lower child
// (exists with a watch) and wait for its deletion.
func (b *zkBench) lock(ctx context.Context, res *Result) error {
	res.Unit, res.Inflight = "acquisitions", 1
	res.Note = "Curator layout (_c_<uuid>-lock-<seq>); latency is the wait from the create to the acquisition"
	m := newMeter(ctx, b.cfg, res.Workload)
	recs := make([]*recorder, b.cfg.Sessions)
	var holders lockHolders
	var wg sync.WaitGroup
	errc := make(chan error, len(recs))
	for i := range recs {
		rec := newRecorder()
		recs[i] = rec
		events := make(chan string, 16)
		c, err := b.dial(i, func(ev proto.WatcherEvent, _ int64) {
			select {
			case events <- ev.Path:
			default:
			}
		})
		if err != nil {
			m.stop()
			errc <- fmt.Errorf("connect: %w", err)
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close(b.cfg.OpTimeout)
			for {
				ok, _ := m.next()
				if !ok {
					return
				}
				t0 := nowNanos()
				t1, err := b.lockOnce(c, events, &holders, rec)
				if err != nil {
					rec.fail(errKind(err))
					m.done(nowNanos(), false)
					if !errors.Is(err, errTimeout) {
						return
					}
					continue
				}
				measured := m.isMeasured(t0)
				if measured {
					rec.hist.Record(t1 - t0)
				}
				m.done(nowNanos(), measured)
			}
		}()
	}
	wg.Wait()
	secs := m.finish()
	select {
	case err := <-errc:
		return err
	default:
	}
	fill(res, secs, recs)
	return nil
}

// lockOnce acquires the lock, holds it for cfg.Hold, and releases it. It returns the
// acquisition time (nowNanos when the wait ended, before the hold and the release), so
// that the latency recorded is the wait for the lock alone, as etcd's Mutex.Lock is
// measured.
func (b *zkBench) lockOnce(c *Conn, events chan string, holders *lockHolders, rec *recorder) (int64, error) {
	to := b.cfg.OpTimeout
	var id [16]byte
	_, _ = rand.Read(id[:])
	var created proto.CreateResponse
	prefix := b.dir + "/_c_" + hex.EncodeToString(id[:]) + "-lock-"
	req := &proto.CreateRequest{Path: prefix, ACL: openACL, Flags: proto.ModeEphemeralSequential}
	if _, err := c.Call(proto.OpCreate, req, &created, to); err != nil {
		return 0, err
	}
	mine := created.Path[len(b.dir)+1:]
	release := func() error {
		_, err := c.Call(proto.OpDelete, &proto.DeleteRequest{Path: created.Path, Version: -1}, nil, to)
		return err
	}
	if err := b.waitTurn(c, events, mine, time.Now().Add(to)); err != nil {
		_ = release()
		return 0, err
	}
	acquired := nowNanos()
	if holders.n.Add(1) != 1 {
		rec.fail("mutual exclusion violated")
	}
	if b.cfg.Hold > 0 {
		time.Sleep(b.cfg.Hold)
	}
	holders.n.Add(-1)
	return acquired, release()
}

// waitTurn returns once mine is the lowest lock node.
func (b *zkBench) waitTurn(c *Conn, events chan string, mine string, deadline time.Time) error {
	to := b.cfg.OpTimeout
	for {
		var kids proto.GetChildrenResponse
		if _, err := c.Call(proto.OpGetChildren, &proto.PathWatchRequest{Path: b.dir}, &kids, to); err != nil {
			return err
		}
		ours := lockChildren(kids.Children)
		idx := sort.SearchStrings(ours.seqs, seqOf(mine))
		if idx >= len(ours.seqs) || ours.names[idx] != mine {
			return fmt.Errorf("lock node %s vanished", mine)
		}
		if idx == 0 {
			return nil
		}
		pred := b.dir + "/" + ours.names[idx-1]
		_, err := c.Call(proto.OpExists, &proto.PathWatchRequest{Path: pred, Watch: true}, nil, to)
		if errors.Is(err, proto.ErrNoNode) {
			continue
		}
		if err != nil {
			return err
		}
		if err := waitFor(events, pred, deadline); err != nil {
			return err
		}
	}
}

// waitFor waits for a watch event on path, ignoring stale events of other paths.
func waitFor(events chan string, path string, deadline time.Time) error {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		select {
		case p := <-events:
			if p == path {
				return nil
			}
		case <-t.C:
			return errTimeout
		}
	}
}

type lockSet struct{ names, seqs []string }

func (s lockSet) Len() int           { return len(s.names) }
func (s lockSet) Less(i, j int) bool { return s.seqs[i] < s.seqs[j] }
func (s lockSet) Swap(i, j int) {
	s.names[i], s.names[j] = s.names[j], s.names[i]
	s.seqs[i], s.seqs[j] = s.seqs[j], s.seqs[i]
}

// lockChildren keeps the lock nodes among children, sorted by sequence number.
func lockChildren(children []string) lockSet {
	var s lockSet
	for _, c := range children {
		if strings.Contains(c, "-lock-") {
			s.names = append(s.names, c)
			s.seqs = append(s.seqs, seqOf(c))
		}
	}
	sort.Sort(s)
	return s
}

// seqOf returns the 10-digit sequence suffix of a sequential node's name.
func seqOf(name string) string {
	if len(name) < 10 {
		return name
	}
	return name[len(name)-10:]
}

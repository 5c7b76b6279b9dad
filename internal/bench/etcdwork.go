package bench

import (
	"context"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// etcdBench holds what one etcd workload needs.
type etcdBench struct {
	cfg   *Config
	admin *clientv3.Client
	dir   string // key prefix of this run
	value string
}

func (b *etcdBench) client(i int) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints:   []string{b.cfg.Etcd[i%len(b.cfg.Etcd)]},
		DialTimeout: b.cfg.OpTimeout,
		Logger:      zap.NewNop(),
	})
}

// ctx returns a context bounded by OpTimeout.
func (b *etcdBench) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), b.cfg.OpTimeout)
}

// runEtcd runs one workload against etcd.
func runEtcd(ctx context.Context, cfg *Config, workload string) (*Result, error) {
	b := &etcdBench{cfg: cfg, dir: benchRoot + "/" + workload + "-" + runID(), value: string(randomValue(cfg.ValueSize))}
	admin, err := b.client(0)
	if err != nil {
		return nil, fmt.Errorf("connect %s: %w", cfg.Etcd[0], err)
	}
	defer admin.Close()
	b.admin = admin
	res := &Result{
		Workload: workload, Target: "etcd", Servers: cfg.Etcd,
		Sessions: cfg.Sessions, Inflight: cfg.Inflight, ValueSize: cfg.ValueSize, Unit: "requests",
		Label: cfg.Label,
	}
	var runErr error
	switch workload {
	case WorkloadGet, WorkloadSet, WorkloadMixed:
		runErr = b.keyValue(ctx, workload, res)
	case WorkloadCreate:
		runErr = b.create(ctx, res)
	case WorkloadSessionChurn:
		runErr = b.sessionChurn(ctx, res)
	case WorkloadWatch:
		runErr = b.watch(ctx, res)
	case WorkloadLock:
		runErr = b.lock(ctx, res)
	default:
		runErr = fmt.Errorf("unknown workload %q", workload)
	}
	// etcd refuses requests for a while when its apply falls behind (too many
	// requests): the cleanup retries those until 2×OpTimeout have passed.
	deadline := time.Now().Add(2 * cfg.OpTimeout)
	for {
		c, cancel := context.WithDeadline(context.Background(), deadline)
		_, err = admin.Delete(c, b.dir+"/", clientv3.WithPrefix())
		cancel()
		if err == nil || !etcdBusy(err) || time.Until(deadline) < 200*time.Millisecond {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if runErr != nil {
		return nil, runErr
	}
	if err != nil {
		keepDespiteCleanup(cfg, res, b.dir, err)
	}
	return res, nil
}

// etcdBusy reports whether err is etcd turning a request away for now (too many
// requests, no leader, unavailable), so that it is worth retrying.
func etcdBusy(err error) bool {
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		return ee.Code() == codes.ResourceExhausted || ee.Code() == codes.Unavailable
	}
	switch status.Code(err) {
	case codes.ResourceExhausted, codes.Unavailable:
		return true
	}
	return false
}

// etcdErrKind names an etcd error for the error table.
func etcdErrKind(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout"
	}
	s := err.Error()
	if len(s) > 60 {
		s = s[:60]
	}
	return s
}

// clients opens cfg.Sessions clients.
func (b *etcdBench) clients() ([]*clientv3.Client, error) {
	return openAll(b.cfg.Sessions, b.client, func(c *clientv3.Client) { c.Close() })
}

// closeClients closes cs.
func closeClients(cs []*clientv3.Client) {
	for _, c := range cs {
		c.Close()
	}
}

// closedLoop runs cfg.Inflight goroutines per client, each doing op back to back.
func (b *etcdBench) closedLoop(ctx context.Context, res *Result, op func(c *clientv3.Client, ctx context.Context) error) error {
	cs, err := b.clients()
	if err != nil {
		return err
	}
	defer closeClients(cs)
	m := newMeter(ctx, b.cfg, res.Workload)
	var recs []*recorder
	var wg sync.WaitGroup
	for _, c := range cs {
		for range b.cfg.Inflight {
			rec := newRecorder()
			recs = append(recs, rec)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					if ok, _ := m.next(); !ok {
						return
					}
					cctx, cancel := b.ctx()
					t0 := nowNanos()
					err := op(c, cctx)
					t1 := nowNanos()
					cancel()
					measured := m.isMeasured(t0)
					m.done(t1, measured)
					if !measured {
						continue
					}
					if err != nil {
						rec.fail(etcdErrKind(err))
					} else {
						rec.hist.Record(t1 - t0)
					}
				}
			}()
		}
	}
	wg.Wait()
	fill(res, m.finish(), recs)
	return nil
}

// parallel runs f(i) for i < n on 64 goroutines and returns the first error.
func parallel(n int, f func(i int) error) error {
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for range min(n, 64) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

func (b *etcdBench) keyValue(ctx context.Context, workload string, res *Result) error {
	n := b.cfg.Keys
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s/k-%06d", b.dir, i)
	}
	err := parallel(n, func(i int) error {
		c, cancel := b.ctx()
		defer cancel()
		_, err := b.admin.Put(c, keys[i], b.value)
		return err
	})
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
	var getOpts []clientv3.OpOption
	if b.cfg.EtcdLinearizable {
		res.Note = "linearizable reads"
	} else {
		getOpts = append(getOpts, clientv3.WithSerializable())
		res.Note = "serializable reads (served by the member, as ZooKeeper's getData)"
	}
	if ratio == 0 {
		res.Note = ""
	}
	return b.closedLoop(ctx, res, func(c *clientv3.Client, cctx context.Context) error {
		k := keys[mrand.IntN(n)]
		if ratio >= 1 || ratio > 0 && mrand.Float64() < ratio {
			_, err := c.Get(cctx, k, getOpts...)
			return err
		}
		_, err := c.Put(cctx, k, b.value)
		return err
	})
}

// create writes new keys with a create-if-absent transaction, ZooKeeper's create.
func (b *etcdBench) create(ctx context.Context, res *Result) error {
	res.Note = "txn: if create_revision(key) == 0 then put(key), on a fresh key each time"
	var seq atomic.Int64
	return b.closedLoop(ctx, res, func(c *clientv3.Client, cctx context.Context) error {
		k := fmt.Sprintf("%s/n-%010d", b.dir, seq.Add(1))
		r, err := c.Txn(cctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
			Then(clientv3.OpPut(k, b.value)).Commit()
		if err == nil && !r.Succeeded {
			err = errors.New("key exists")
		}
		return err
	})
}

// sessionChurn opens a client, grants a lease (etcd's session), puts a key under it,
// revokes the lease and closes the client, over and over.
func (b *etcdBench) sessionChurn(ctx context.Context, res *Result) error {
	res.Unit, res.Inflight = "sessions", 1
	res.Note = "session = new client + lease grant; latency is connect + grant; extra 'session' the whole cycle (grant, put with lease, revoke, close)"
	m := newMeter(ctx, b.cfg, res.Workload)
	recs := make([]*recorder, b.cfg.Sessions)
	var seq atomic.Int64
	var wg sync.WaitGroup
	ttl := max(int64(b.cfg.SessionTimeout/time.Second), 1)
	for i := range recs {
		rec := newRecorder("session")
		recs[i] = rec
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if ok, _ := m.next(); !ok {
					return
				}
				t0 := nowNanos()
				measured := m.isMeasured(t0)
				err := func() error {
					c, err := b.client(i)
					if err != nil {
						return err
					}
					defer c.Close()
					cctx, cancel := b.ctx()
					defer cancel()
					lease, err := c.Grant(cctx, ttl)
					if err != nil {
						return err
					}
					t1 := nowNanos()
					k := fmt.Sprintf("%s/e-%010d", b.dir, seq.Add(1))
					if _, err := c.Put(cctx, k, b.value, clientv3.WithLease(lease.ID)); err != nil {
						return err
					}
					if _, err := c.Revoke(cctx, lease.ID); err != nil {
						return err
					}
					if measured {
						rec.hist.Record(t1 - t0)
					}
					return nil
				}()
				t2 := nowNanos()
				m.done(t2, measured && err == nil)
				if !measured {
					continue
				}
				if err != nil {
					rec.fail(etcdErrKind(err))
				} else {
					rec.extra["session"].Record(t2 - t0)
				}
			}
		}()
	}
	wg.Wait()
	fill(res, m.finish(), recs)
	return nil
}

// watch runs cfg.Sessions watcher clients on one key and one writer that puts it once
// every watcher has seen the previous put.
func (b *etcdBench) watch(ctx context.Context, res *Result) error {
	res.Unit, res.Inflight = "events", 1
	res.Note = "persistent watches; latency from the put's acknowledgement to each event (0 if the event came first); extra 'from_send' from the put's send"
	key := b.dir + "/w"
	cs, err := b.clients()
	if err != nil {
		return err
	}
	wctx, stopWatch := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() {
		stopWatch()
		wg.Wait()
		closeClients(cs)
	}()
	var cur atomic.Pointer[watchRound]
	for i, c := range cs {
		wch := c.Watch(clientv3.WithRequireLeader(wctx), key, clientv3.WithCreatedNotify())
		select {
		case r, ok := <-wch:
			if !ok || !r.Created {
				return fmt.Errorf("watch not created: %v", r.Err())
			}
		case <-time.After(b.cfg.OpTimeout):
			return errors.New("watch not created in time")
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for wr := range wch {
				at := nowNanos()
				if len(wr.Events) == 0 {
					continue
				}
				r := cur.Load()
				if r == nil || !r.at[i].CompareAndSwap(0, at) {
					continue
				}
				if r.remaining.Add(-1) == 0 {
					close(r.all)
				}
			}
		}()
	}
	rec := newRecorder("from_send", "write")
	m := newMeter(ctx, b.cfg, res.Workload)
	writes := int64(0)
	for {
		if ok, _ := m.next(); !ok {
			break
		}
		r := &watchRound{at: make([]atomic.Int64, len(cs)), all: make(chan struct{})}
		r.remaining.Store(int32(len(cs)))
		cur.Store(r)
		cctx, cancel := b.ctx()
		sent := nowNanos()
		_, err := b.admin.Put(cctx, key, b.value)
		ack := nowNanos()
		cancel()
		if err != nil {
			rec.fail("write: " + etcdErrKind(err))
			m.stop()
			break
		}
		t := time.NewTimer(b.cfg.OpTimeout)
		select {
		case <-r.all:
		case <-t.C:
		}
		t.Stop()
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
		m.doneN(last, measured, int64(len(cs)))
	}
	secs := m.finish()
	fill(res, secs, []*recorder{rec})
	if secs > 0 {
		res.Rates = map[string]float64{"writes": float64(writes) / secs}
	}
	return nil
}

// lock runs cfg.Sessions contenders on one concurrency.Mutex.
func (b *etcdBench) lock(ctx context.Context, res *Result) error {
	res.Unit, res.Inflight = "acquisitions", 1
	res.Note = "concurrency.Mutex, one session (lease) per contender; latency is the wait in Lock"
	cs, err := b.clients()
	if err != nil {
		return err
	}
	defer closeClients(cs)
	ttl := max(int(b.cfg.SessionTimeout/time.Second), 1)
	sessions := make([]*concurrency.Session, len(cs))
	for i, c := range cs {
		s, err := concurrency.NewSession(c, concurrency.WithTTL(ttl))
		if err != nil {
			return fmt.Errorf("session: %w", err)
		}
		defer s.Close()
		sessions[i] = s
	}
	m := newMeter(ctx, b.cfg, res.Workload)
	recs := make([]*recorder, len(cs))
	var holders atomic.Int32
	var wg sync.WaitGroup
	for i, s := range sessions {
		rec := newRecorder()
		recs[i] = rec
		mu := concurrency.NewMutex(s, b.dir+"/lock")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				if ok, _ := m.next(); !ok {
					return
				}
				cctx, cancel := b.ctx()
				t0 := nowNanos()
				err := mu.Lock(cctx)
				t1 := nowNanos()
				measured := m.isMeasured(t0)
				if err != nil {
					cancel()
					rec.fail(etcdErrKind(err))
					m.done(t1, false)
					continue
				}
				if holders.Add(1) != 1 {
					rec.fail("mutual exclusion violated")
				}
				if b.cfg.Hold > 0 {
					time.Sleep(b.cfg.Hold)
				}
				holders.Add(-1)
				err = mu.Unlock(cctx)
				cancel()
				if err != nil {
					rec.fail("unlock: " + etcdErrKind(err))
				}
				if measured {
					rec.hist.Record(t1 - t0)
				}
				m.done(t1, measured)
			}
		}()
	}
	wg.Wait()
	fill(res, m.finish(), recs)
	return nil
}

package recipe_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/client/recipe"
)

func TestRWMutex(t *testing.T) {
	forServers(t, func(t *testing.T, addr string) {
		ctx := ctxT(t)
		path := uniq("rw")
		var readers, writers atomic.Int32
		var maxReaders atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			rw := recipe.NewRWMutex(connect(t, addr), path, nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 4; j++ {
					write := (i+j)%3 == 0
					var l *recipe.Lock
					var err error
					if write {
						l, err = rw.Lock(ctx)
					} else {
						l, err = rw.RLock(ctx)
					}
					if err != nil {
						t.Error(err)
						return
					}
					if write {
						if w, r := writers.Add(1), readers.Load(); w != 1 || r != 0 {
							t.Errorf("writer with %d writers, %d readers", w, r)
						}
					} else {
						r := readers.Add(1)
						if writers.Load() != 0 {
							t.Errorf("reader with a writer")
						}
						for m := maxReaders.Load(); r > m && !maxReaders.CompareAndSwap(m, r); m = maxReaders.Load() {
						}
					}
					time.Sleep(20 * time.Millisecond)
					if write {
						writers.Add(-1)
					} else {
						readers.Add(-1)
					}
					if err := l.Unlock(ctx); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		t.Logf("at most %d readers at once", maxReaders.Load())
		// Two readers share; a writer waits for both.
		c1, c2 := connect(t, addr), connect(t, addr)
		r1, err := recipe.NewRWMutex(c1, path, nil).RLock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := recipe.NewRWMutex(c2, path, nil).RLock(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan *recipe.Lock, 1)
		go func() {
			w, err := recipe.NewRWMutex(connect(t, addr), path, nil).Lock(ctx)
			if err != nil {
				t.Error(err)
			}
			got <- w
		}()
		time.Sleep(200 * time.Millisecond)
		_ = r1.Unlock(ctx)
		select {
		case <-got:
			t.Fatal("writer in with a reader")
		case <-time.After(200 * time.Millisecond):
		}
		c2.Close() // the other reader's session ends
		waitClosed(t, r2.Lost(), 5*time.Second, "reader's Lost")
		select {
		case w := <-got:
			if w == nil || w.FencingToken() <= r2.FencingToken() {
				t.Fatal("writer token")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("writer not in")
		}
	})
}

func TestSemaphore(t *testing.T) {
	forServers(t, func(t *testing.T, addr string) {
		ctx := ctxT(t)
		path := uniq("sem")
		var in, peak atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			s := recipe.NewSemaphore(connect(t, addr), path, 2, nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 3; j++ {
					l, err := s.Acquire(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					n := in.Add(1)
					if n > 2 {
						t.Errorf("%d leases held", n)
					}
					for m := peak.Load(); n > m && !peak.CompareAndSwap(m, n); m = peak.Load() {
					}
					time.Sleep(20 * time.Millisecond)
					in.Add(-1)
					if err := l.Release(ctx); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if peak.Load() != 2 {
			t.Errorf("peak %d leases, want 2", peak.Load())
		}
		// A holder's session ends: its lease goes and a waiter gets one.
		c1 := connect(t, addr)
		l1, err := recipe.NewSemaphore(c1, path, 1, nil).Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan error, 1)
		go func() {
			_, err := recipe.NewSemaphore(connect(t, addr), path, 1, nil).Acquire(ctx)
			got <- err
		}()
		time.Sleep(200 * time.Millisecond)
		c1.Close()
		waitClosed(t, l1.Lost(), 5*time.Second, "lease Lost")
		if err := <-got; err != nil {
			t.Fatal(err)
		}
	})
}

func TestLeaderLatch(t *testing.T) {
	forServers(t, func(t *testing.T, addr string) {
		ctx := ctxT(t)
		path := uniq("latch")
		var latches []*recipe.LeaderLatch
		var conns []*client.Conn
		for i := 0; i < 3; i++ {
			c := connect(t, addr)
			l := recipe.NewLeaderLatch(c, path, fmt.Sprintf("p%d", i))
			if err := l.Start(ctx); err != nil {
				t.Fatal(err)
			}
			latches, conns = append(latches, l), append(conns, c)
		}
		if err := latches[0].Await(ctx); err != nil {
			t.Fatal(err)
		}
		leaders := func() (n int) {
			for _, l := range latches {
				if l.IsLeader() {
					n++
				}
			}
			return n
		}
		if n := leaders(); n != 1 {
			t.Fatalf("%d leaders", n)
		}
		if id, _ := latches[1].Leader(ctx); id != "p0" {
			t.Fatalf("leader %q", id)
		}
		tok := latches[0].FencingToken()
		// The leader's session ends: it learns of it, and p1 leads.
		lost := latches[0].Lost()
		conns[0].Close()
		waitClosed(t, lost, 5*time.Second, "leader's Lost")
		if err := latches[1].Await(ctx); err != nil {
			t.Fatal(err)
		}
		if latches[1].FencingToken() <= tok {
			t.Fatal("token did not grow")
		}
		if latches[0].IsLeader() || latches[2].IsLeader() {
			t.Fatal("two leaders")
		}
		if err := latches[0].Await(ctx); err == nil {
			t.Fatal("Await on a dead Conn succeeded")
		}
		// Close hands over to p2.
		if err := latches[1].Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := latches[2].Await(ctx); err != nil {
			t.Fatal(err)
		}
		ids, err := latches[2].Participants(ctx)
		if err != nil || !slices.Equal(ids, []string{"p2"}) {
			t.Fatalf("participants %v %v", ids, err)
		}
		// Someone deletes the leader's node: Lost, and the latch joins again.
		kids, _, _ := conns[2].Children(ctx, path)
		lost = latches[2].Lost()
		if err := conns[1].Delete(ctx, path+"/"+kids[0], -1); err != nil && !errors.Is(err, client.ErrClosed) {
			_ = connect(t, addr).Delete(ctx, path+"/"+kids[0], -1)
		}
		waitClosed(t, lost, 5*time.Second, "Lost after delete")
		if err := latches[2].Await(ctx); err != nil {
			t.Fatal(err)
		}
		_ = latches[2].Close(ctx)
	})
}

func TestLeaderSelector(t *testing.T) {
	forServers(t, func(t *testing.T, addr string) {
		ctx := ctxT(t)
		path := uniq("selector")
		var leading atomic.Int32
		var mu sync.Mutex
		var led []string
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			id := fmt.Sprintf("s%d", i)
			s := recipe.NewLeaderSelector(connect(t, addr), path, []byte(id), func(ctx context.Context) error {
				if n := leading.Add(1); n != 1 {
					t.Errorf("%d leaders", n)
				}
				mu.Lock()
				led = append(led, id)
				mu.Unlock()
				time.Sleep(30 * time.Millisecond)
				leading.Add(-1)
				return nil
			})
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := s.Lead(ctx); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if len(led) != 3 {
			t.Fatalf("led: %v", led)
		}
		// The leader's session ends while it leads: its ctx is cancelled, Lead says
		// so, and the next one leads.
		c := connect(t, addr)
		started := make(chan struct{})
		s := recipe.NewLeaderSelector(c, path, []byte("doomed"), func(ctx context.Context) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		})
		res := make(chan error, 1)
		go func() { res <- s.Lead(ctx) }()
		<-started
		if !s.IsLeader() || s.FencingToken() == 0 {
			t.Fatal("not leader")
		}
		next := make(chan struct{})
		go recipe.NewLeaderSelector(connect(t, addr), path, []byte("next"), func(ctx context.Context) error {
			close(next)
			return nil
		}).Lead(ctx)
		time.Sleep(100 * time.Millisecond)
		c.Close()
		select {
		case err := <-res:
			if !errors.Is(err, recipe.ErrLeadershipLost) {
				t.Fatalf("Lead: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("callback not cancelled")
		}
		waitClosed(t, next, 5*time.Second, "next leader")
	})
}

func TestServiceDiscovery(t *testing.T) {
	ctx := ctxT(t)
	addr := corralAddr
	sd := recipe.NewServiceDiscovery(connect(t, addr), uniq("services"))
	watch, err := sd.Watch(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	if l := <-watch; len(l) != 0 {
		t.Fatalf("initial %v", l)
	}
	c1 := connect(t, addr)
	sd1 := recipe.NewServiceDiscovery(c1, sd.Base())
	port := 8080
	r1, err := sd1.Register(ctx, recipe.ServiceInstance{Name: "api", ID: "a", Address: "10.0.0.1", Port: &port})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recipe.NewServiceDiscovery(connect(t, addr), sd.Base()).Register(ctx, recipe.ServiceInstance{Name: "api", ID: "b", Address: "10.0.0.2", Port: &port}); err != nil {
		t.Fatal(err)
	}
	waitFor := func(want ...string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case l, ok := <-watch:
				if !ok {
					t.Fatal("watch closed")
				}
				var ids []string
				for _, in := range l {
					ids = append(ids, in.ID)
				}
				if slices.Equal(ids, want) {
					return
				}
			case <-deadline:
				t.Fatalf("never saw %v", want)
			}
		}
	}
	waitFor("a", "b")
	l, err := sd.List(ctx, "api")
	if err != nil || len(l) != 2 || l[0].Address != "10.0.0.1" || *l[0].Port != 8080 || l[0].ServiceType != "DYNAMIC" {
		t.Fatalf("list %+v %v", l, err)
	}
	c1.Close()
	waitClosed(t, r1.Lost(), 5*time.Second, "registration Lost")
	waitFor("b")
	if s, _ := sd.Services(ctx); !slices.Equal(s, []string{"api"}) {
		t.Fatalf("services %v", s)
	}
}

func TestBarrier(t *testing.T) {
	ctx := ctxT(t)
	path := uniq("barrier")
	b := recipe.NewBarrier(connect(t, corralAddr), path)
	if err := b.Set(ctx); err != nil {
		t.Fatal(err)
	}
	var passed atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		w := recipe.NewBarrier(connect(t, corralAddr), path)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Wait(ctx); err != nil {
				t.Error(err)
			}
			passed.Add(1)
		}()
	}
	time.Sleep(200 * time.Millisecond)
	if passed.Load() != 0 {
		t.Fatal("passed a raised barrier")
	}
	if err := b.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

func TestDoubleBarrier(t *testing.T) {
	forServers(t, func(t *testing.T, addr string) {
		ctx := ctxT(t)
		path := uniq("dbarrier")
		const n = 3
		var entered, left atomic.Int32
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			b := recipe.NewDoubleBarrier(connect(t, addr), path, n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				time.Sleep(time.Duration(i) * 100 * time.Millisecond)
				if err := b.Enter(ctx); err != nil {
					t.Error(err)
					return
				}
				if entered.Add(1); false {
				}
				time.Sleep(50 * time.Millisecond)
				if entered.Load() != n {
					t.Errorf("entered with %d of %d", entered.Load(), n)
				}
				time.Sleep(time.Duration(i) * 100 * time.Millisecond)
				left.Add(1)
				if err := b.Leave(ctx); err != nil {
					t.Error(err)
					return
				}
				if left.Load() != n {
					t.Errorf("left with %d of %d gone", left.Load(), n)
				}
			}()
		}
		wg.Wait()
		kids, _, err := connect(t, addr).Children(ctx, path)
		if err != nil || len(kids) != 0 {
			t.Fatalf("left behind %v %v", kids, err)
		}
	})
}

func TestQueue(t *testing.T) {
	forServers(t, func(t *testing.T, addr string) {
		ctx := ctxT(t)
		path := uniq("queue")
		const producers, per = 3, 10
		var wg sync.WaitGroup
		var mu sync.Mutex
		got := map[string]int{}
		tctx, cancel := context.WithCancel(ctx)
		defer cancel()
		for i := 0; i < 3; i++ {
			q := recipe.NewQueue(connect(t, addr), path)
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					item, err := q.Take(tctx)
					if err != nil {
						return
					}
					mu.Lock()
					got[string(item)]++
					mu.Unlock()
				}
			}()
		}
		for p := 0; p < producers; p++ {
			q := recipe.NewQueue(connect(t, addr), path)
			for j := 0; j < per; j++ {
				if err := q.Put(ctx, []byte(fmt.Sprintf("%d-%d", p, j))); err != nil {
					t.Fatal(err)
				}
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(got)
			mu.Unlock()
			if n == producers*per || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		wg.Wait()
		if len(got) != producers*per {
			t.Fatalf("got %d distinct items", len(got))
		}
		for k, v := range got {
			if v != 1 {
				t.Fatalf("item %s taken %d times", k, v)
			}
		}
		// FIFO for a single producer and consumer.
		q := recipe.NewQueue(connect(t, addr), path+"-fifo")
		for _, s := range []string{"x", "y", "z"} {
			_ = q.Put(ctx, []byte(s))
		}
		for _, s := range []string{"x", "y", "z"} {
			if it, err := q.Take(ctx); err != nil || string(it) != s {
				t.Fatalf("take %q %v, want %q", it, err, s)
			}
		}
	})
}

func TestCounters(t *testing.T) {
	forServers(t, func(t *testing.T, addr string) {
		ctx := ctxT(t)
		path := uniq("count")
		var wg sync.WaitGroup
		for i := 0; i < 3; i++ {
			c := connect(t, addr)
			sc := recipe.NewSharedCount(c, path+"/shared", 100)
			al := recipe.NewAtomicLong(c, path+"/long")
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 10; j++ {
					if _, err := sc.Add(ctx, 1); err != nil {
						t.Error(err)
					}
					if _, _, err := al.Add(ctx, 1<<33); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		c := connect(t, addr)
		v, _, err := recipe.NewSharedCount(c, path+"/shared", 0).Get(ctx)
		if err != nil || v != 130 {
			t.Fatalf("shared count %d %v", v, err)
		}
		data, _, _ := c.Get(ctx, path+"/shared")
		if len(data) != 4 {
			t.Fatalf("shared count data %x", data)
		}
		al := recipe.NewAtomicLong(c, path+"/long")
		if v, err := al.Get(ctx); err != nil || v != 30<<33 {
			t.Fatalf("atomic long %d %v", v, err)
		}
		if ok, err := al.CompareAndSet(ctx, 30<<33, -1); !ok || err != nil {
			t.Fatalf("cas %v %v", ok, err)
		}
		if ok, _ := al.CompareAndSet(ctx, 5, 6); ok {
			t.Fatal("cas with a wrong value")
		}
		data, _, _ = c.Get(ctx, path+"/long")
		if fmt.Sprintf("%x", data) != "ffffffffffffffff" {
			t.Fatalf("atomic long data %x", data)
		}
	})
}

func TestGroup(t *testing.T) {
	ctx := ctxT(t)
	path := uniq("group")
	g := recipe.NewGroup(connect(t, corralAddr), path)
	w, err := g.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	<-w
	c1 := connect(t, corralAddr)
	m1, err := recipe.NewGroup(c1, path).Join(ctx, "m1", []byte("one"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := recipe.NewGroup(connect(t, corralAddr), path).Join(ctx, "m1", nil); !errors.Is(err, client.ErrNodeExists) {
		t.Fatalf("second m1: %v", err)
	}
	if _, err := recipe.NewGroup(connect(t, corralAddr), path).Join(ctx, "m2", []byte("two")); err != nil {
		t.Fatal(err)
	}
	waitMembers := func(want ...string) {
		t.Helper()
		deadline := time.After(5 * time.Second)
		for {
			select {
			case m := <-w:
				var ids []string
				for k := range m {
					ids = append(ids, k)
				}
				slices.Sort(ids)
				if slices.Equal(ids, want) {
					return
				}
			case <-deadline:
				t.Fatalf("never saw %v", want)
			}
		}
	}
	waitMembers("m1", "m2")
	if m, _ := g.Members(ctx); string(m["m2"]) != "two" {
		t.Fatalf("members %q", m)
	}
	c1.Close()
	waitClosed(t, m1.Lost(), 5*time.Second, "member Lost")
	waitMembers("m2")
}

func TestTreeCache(t *testing.T) {
	forServers(t, func(t *testing.T, addr string) {
		ctx := ctxT(t)
		root := uniq("tree")
		c := connect(t, addr)
		for _, p := range []string{root, root + "/a", root + "/a/b"} {
			if _, err := c.Create(ctx, p, []byte(p), client.Persistent); err != nil {
				t.Fatal(err)
			}
		}
		tc := recipe.NewTreeCache(connect(t, addr), root)
		if err := tc.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer tc.Close()
		next := func() recipe.TreeEvent {
			t.Helper()
			select {
			case ev := <-tc.Events():
				return ev
			case <-time.After(5 * time.Second):
				t.Fatal("no event")
			}
			return recipe.TreeEvent{}
		}
		expect := func(typ recipe.TreeEventType, path string) recipe.TreeEvent {
			t.Helper()
			ev := next()
			if ev.Type != typ || ev.Path != path {
				t.Fatalf("event %v %s, want %v %s", ev.Type, ev.Path, typ, path)
			}
			return ev
		}
		expect(recipe.TreeNodeAdded, root)
		expect(recipe.TreeNodeAdded, root+"/a")
		expect(recipe.TreeNodeAdded, root+"/a/b")
		expect(recipe.TreeInitialized, root)
		_, _ = c.Create(ctx, root+"/a/c", []byte("c"), client.Persistent)
		if ev := expect(recipe.TreeNodeAdded, root+"/a/c"); string(ev.Data) != "c" {
			t.Fatalf("data %q", ev.Data)
		}
		_, _ = c.Set(ctx, root+"/a/b", []byte("new"), -1)
		expect(recipe.TreeNodeUpdated, root+"/a/b")
		if n, ok := tc.Get(root + "/a/b"); !ok || string(n.Data) != "new" {
			t.Fatalf("get %q %v", n.Data, ok)
		}
		if kids := tc.Children(root + "/a"); !slices.Equal(kids, []string{"b", "c"}) {
			t.Fatalf("children %v", kids)
		}
		_ = c.Delete(ctx, root+"/a/c", -1)
		expect(recipe.TreeNodeRemoved, root+"/a/c")
		if _, ok := tc.Get(root + "/a/c"); ok {
			t.Fatal("removed node still cached")
		}
		if tc.Size() != 3 {
			t.Fatalf("size %d", tc.Size())
		}
	})
}

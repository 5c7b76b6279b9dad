package recipe_test

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/client/recipe"
	"github.com/corral-io/corral/internal/testutil/tcpproxy"
)

func TestMutex(t *testing.T) {
	forServers(t, func(t *testing.T, addr string) {
		t.Run("contention", func(t *testing.T) { testMutexContention(t, addr) })
		t.Run("closed", func(t *testing.T) { testMutexClosed(t, addr) })
		t.Run("expired", func(t *testing.T) { testMutexExpired(t, addr) })
		t.Run("cancel", func(t *testing.T) { testMutexCancel(t, addr) })
		t.Run("kazoo_names", func(t *testing.T) { testMutexKazooNames(t, addr) })
	})
}

// testMutexContention: three clients, each with its own session, take the lock in
// turns; never two at once, fencing tokens grow, and the nodes use Curator's layout.
func testMutexContention(t *testing.T, addr string) {
	ctx := ctxT(t)
	path := uniq("mutex")
	layout := regexp.MustCompile(`^` + path + `/_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-lock-\d{10}$`)
	var inside atomic.Int32
	var mu sync.Mutex
	var lastToken int64
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		conn := connect(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := recipe.NewMutex(conn, path, []byte("127.0.0.1"))
			for j := 0; j < 5; j++ {
				if err := m.Lock(ctx); err != nil {
					t.Error(err)
					return
				}
				if n := inside.Add(1); n != 1 {
					t.Errorf("%d holders at once", n)
				}
				if !layout.MatchString(m.Node()) {
					t.Errorf("lock node %q", m.Node())
				}
				mu.Lock()
				if tok := m.FencingToken(); tok <= lastToken {
					t.Errorf("fencing token %d after %d", tok, lastToken)
				} else {
					lastToken = tok
				}
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
				inside.Add(-1)
				if err := m.Unlock(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	kids, _, err := connect(t, addr).Children(ctx, path)
	if err != nil || len(kids) != 0 {
		t.Fatalf("left behind: %v %v", kids, err)
	}
}

// testMutexClosed: the holder's Conn is closed; Lost closes and the waiter gets the
// lock with a larger token.
func testMutexClosed(t *testing.T, addr string) {
	ctx := ctxT(t)
	path := uniq("mutex-closed")
	holderConn := connect(t, addr)
	holder := recipe.NewMutex(holderConn, path, nil)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	tok := holder.FencingToken()
	waiter := recipe.NewMutex(connect(t, addr), path, nil)
	got := make(chan error, 1)
	go func() { got <- waiter.Lock(ctx) }()
	select {
	case err := <-got:
		t.Fatalf("waiter got the lock while held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	lost := holder.Lost()
	holderConn.Close()
	waitClosed(t, lost, 10*time.Second, "holder's Lost")
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if waiter.FencingToken() <= tok {
		t.Fatalf("token %d after %d", waiter.FencingToken(), tok)
	}
	if isClosed(waiter.Lost()) {
		t.Fatal("waiter's Lost closed")
	}
}

// testMutexExpired: the holder is cut off from the server; its Lost closes (a quarter
// of the session timeout after the client notices), the server expires the session,
// and the waiter gets the lock. Back in touch, the holder's Conn is expired.
func testMutexExpired(t *testing.T, addr string) {
	ctx := ctxT(t)
	path := uniq("mutex-expired")
	px := tcpproxy.New(t, addr)
	holderConn := connect(t, px.Addr(), client.WithSessionTimeout(2*time.Second))
	holder := recipe.NewMutex(holderConn, path, nil)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	waiter := recipe.NewMutex(connect(t, addr), path, nil)
	got := make(chan error, 1)
	go func() { got <- waiter.Lock(ctx) }()
	lost := holder.Lost()
	start := time.Now()
	px.Isolate()
	waitClosed(t, lost, 10*time.Second, "holder's Lost")
	lostAfter := time.Since(start)
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("waiter did not get the lock after the holder's session expired")
	}
	gotAfter := time.Since(start)
	if lostAfter >= gotAfter {
		t.Errorf("holder learnt of the loss (%v) after the waiter took the lock (%v)", lostAfter, gotAfter)
	}
	t.Logf("holder lost after %v, waiter locked after %v", lostAfter, gotAfter)
	px.Heal()
	deadline := time.Now().Add(10 * time.Second)
	for holderConn.State() != client.StateExpired && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if holderConn.State() != client.StateExpired {
		t.Fatalf("holder state %v", holderConn.State())
	}
	if err := holder.Unlock(ctx); err == nil || !strings.Contains(err.Error(), "expired") {
		t.Logf("unlock after expiry: %v", err)
	}
}

// testMutexCancel: a waiter whose ctx ends withdraws its node.
func testMutexCancel(t *testing.T, addr string) {
	ctx := ctxT(t)
	path := uniq("mutex-cancel")
	c := connect(t, addr)
	holder := recipe.NewMutex(c, path, nil)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if err := recipe.NewMutex(connect(t, addr), path, nil).Lock(wctx); err != context.DeadlineExceeded {
		t.Fatalf("lock with expired ctx: %v", err)
	}
	kids, _, err := c.Children(ctx, path)
	if err != nil || len(kids) != 1 {
		t.Fatalf("children %v %v", kids, err)
	}
	if err := holder.Unlock(ctx); err != nil {
		t.Fatal(err)
	}
	if err := holder.Unlock(ctx); err != recipe.ErrNotLocked {
		t.Fatalf("second unlock: %v", err)
	}
}

// testMutexKazooNames: kazoo-named and Curator-named contenders exclude each other.
func testMutexKazooNames(t *testing.T, addr string) {
	ctx := ctxT(t)
	path := uniq("mutex-kazoo")
	a := recipe.NewMutex(connect(t, addr), path, nil, recipe.WithKazooNames())
	if err := a.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`/[0-9a-f]{32}__lock__\d{10}$`).MatchString(a.Node()) {
		t.Fatalf("kazoo-style node %q", a.Node())
	}
	b := recipe.NewMutex(connect(t, addr), path, nil)
	got := make(chan error, 1)
	go func() { got <- b.Lock(ctx) }()
	select {
	case <-got:
		t.Fatal("both held")
	case <-time.After(300 * time.Millisecond):
	}
	_ = a.Unlock(ctx)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	_ = b.Unlock(ctx)
}

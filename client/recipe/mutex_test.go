package recipe_test

import (
	"context"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/client/recipe"
	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/refzk"
)

func TestMutex(t *testing.T) {
	servers := []struct {
		name  string
		start func(t *testing.T) string
	}{
		{"corral", func(t *testing.T) string { return corralproc.Start(t).Addr() }},
		{"zookeeper", func(t *testing.T) string { return refzk.Start(t).Addr() }},
	}
	for _, srv := range servers {
		t.Run(srv.name, func(t *testing.T) {
			addr := srv.start(t)
			t.Run("contention", func(t *testing.T) { testContention(t, addr) })
			t.Run("lost", func(t *testing.T) { testLost(t, addr) })
		})
	}
}

func connect(t *testing.T, addr string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// testContention: three clients, each with its own session, take the lock in turns;
// never two at once, fencing tokens grow, and the nodes use Curator's layout.
func testContention(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	layout := regexp.MustCompile(`^/locks/a/_c_[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}-lock-\d{10}$`)
	var inside atomic.Int32
	var mu sync.Mutex
	var lastToken int64
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		conn := connect(t, addr)
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := recipe.NewMutex(conn, "/locks/a", []byte("127.0.0.1"))
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
	kids, _, err := connect(t, addr).Children(ctx, "/locks/a")
	if err != nil || len(kids) != 0 {
		t.Fatalf("left behind: %v %v", kids, err)
	}
}

// testLost: the holder's session ends; Lost closes and the waiter gets the lock.
func testLost(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	holderConn := connect(t, addr)
	holder := recipe.NewMutex(holderConn, "/locks/b", nil)
	if err := holder.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	waiter := recipe.NewMutex(connect(t, addr), "/locks/b", nil)
	got := make(chan error, 1)
	go func() { got <- waiter.Lock(ctx) }()
	select {
	case err := <-got:
		t.Fatalf("waiter got the lock while held: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	lost := holder.Lost()
	holderConn.Close()
	select {
	case <-lost:
	case <-time.After(10 * time.Second):
		t.Fatal("Lost not closed after the session ended")
	}
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	if waiter.FencingToken() <= 0 {
		t.Fatalf("token %d", waiter.FencingToken())
	}
}

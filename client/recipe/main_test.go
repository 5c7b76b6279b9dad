package recipe_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/internal/testutil/testmain"
)

// The servers every test of the package shares, started once by TestMain: a corral
// server and Debian's ZooKeeper, both with a tick of 500ms so sessions can be as short
// as 1s (the expiry tests need that).
var (
	corralAddr string
	refzkAddr  string
	// serverAddr is the server the examples talk to (the corral one).
	serverAddr string
)

func TestMain(m *testing.M) {
	testmain.Run(m, "corral-recipe-test-", func(s testmain.Servers) {
		corralAddr, refzkAddr = s.Corral, s.RefZK
		serverAddr = corralAddr
	})
}

// forServers runs fn against corral and against the reference ZooKeeper.
func forServers(t *testing.T, fn func(t *testing.T, addr string)) {
	for _, s := range []struct{ name, addr string }{{"corral", corralAddr}, {"zookeeper", refzkAddr}} {
		t.Run(s.name, func(t *testing.T) { fn(t, s.addr) })
	}
}

// ctxT returns a context that ends with the test or after 30s.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect makes a new session (closed at the end of the test).
func connect(t testing.TB, addr string, opts ...client.Option) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var pathSeq struct {
	sync.Mutex
	n int
}

// uniq returns a fresh path for a test.
func uniq(name string) string {
	pathSeq.Lock()
	defer pathSeq.Unlock()
	pathSeq.n++
	return fmt.Sprintf("/t/%s-%d-%d", name, time.Now().UnixNano()%1e6, pathSeq.n)
}

// waitClosed fails the test unless ch closes within d.
func waitClosed(t testing.TB, ch <-chan struct{}, d time.Duration, what string) {
	t.Helper()
	if ch == nil {
		t.Fatalf("%s: nil channel", what)
	}
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("%s: not closed after %v", what, d)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

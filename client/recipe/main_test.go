package recipe_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/refzk"
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
	tb := &mainTB{}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		corralAddr = corralproc.Start(tb, "--tick-time", "500ms").Addr()
	}()
	go func() {
		defer wg.Done()
		refzkAddr = refzk.Start(tb, refzk.WithConfig("tickTime", "500")).Addr()
	}()
	wg.Wait()
	serverAddr = corralAddr
	code := m.Run()
	tb.cleanup()
	os.Exit(code)
}

// mainTB lets TestMain use the test helpers that start servers.
type mainTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
}

func (*mainTB) Helper() {}

func (m *mainTB) Cleanup(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleanups = append(m.cleanups, f)
}

func (m *mainTB) TempDir() string {
	d, err := os.MkdirTemp("", "corral-recipe-test-")
	if err != nil {
		m.Fatalf("%v", err)
	}
	m.Cleanup(func() { os.RemoveAll(d) })
	return d
}

func (m *mainTB) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

func (m *mainTB) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "TestMain: "+format+"\n", args...)
	m.cleanup()
	os.Exit(1)
}

func (m *mainTB) cleanup() {
	m.mu.Lock()
	fs := m.cleanups
	m.cleanups = nil
	m.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
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

// proxy forwards TCP connections to a server, and can cut them and refuse new ones,
// to make a client lose its connection without touching the server.
type proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	conns   []net.Conn
	blocked bool
}

func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go p.accept()
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		blocked := p.blocked
		p.mu.Unlock()
		if blocked {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { io.Copy(s, c); s.Close(); c.Close() }()
		go func() { io.Copy(c, s); s.Close(); c.Close() }()
	}
}

// cut closes every forwarded connection.
func (p *proxy) cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// isolate cuts the client off: new connections are refused, live ones closed.
func (p *proxy) isolate() {
	p.mu.Lock()
	p.blocked = true
	p.mu.Unlock()
	p.cut()
}

// heal lets the client connect again.
func (p *proxy) heal() {
	p.mu.Lock()
	p.blocked = false
	p.mu.Unlock()
}

package client_test

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/refzk"
)

// The servers every test of the package shares, started once by TestMain: a corral
// server and Debian's ZooKeeper, both with a tick of 500ms so that sessions can be as
// short as 1s (the expiry tests need that).
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

// mainTB lets TestMain use the test helpers that start servers: it implements the
// few testing.TB methods they call (the embedded nil TB panics on any other).
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
	d, err := os.MkdirTemp("", "corral-client-test-")
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

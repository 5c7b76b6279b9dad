// Package testmain runs a test package's TestMain against a pair of shared servers: a
// corral server (corralproc) and the reference ZooKeeper (refzk). It is imported only
// by tests.
package testmain

import (
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/refzk"
)

// Servers holds the client addresses of the servers a package's tests share.
type Servers struct {
	// Corral is the corral server's address.
	Corral string
	// RefZK is the reference ZooKeeper's address.
	RefZK string
}

// Run starts, in parallel, a corral server and Debian's ZooKeeper, both with a tick of
// 500ms so that sessions can be as short as 1s (expiry tests need that); passes their
// addresses to setup; runs the package's tests; stops the servers; and exits with the
// tests' status. tempPrefix names the temporary directories the servers use. A server
// that does not start ends the process with status 1. Call it from TestMain.
func Run(m *testing.M, tempPrefix string, setup func(Servers)) {
	tb := NewTB(tempPrefix)
	setup(StartServers(tb))
	code := m.Run()
	tb.RunCleanups()
	os.Exit(code)
}

// StartServers starts, in parallel, a corral server with --tick-time 500ms and the
// reference ZooKeeper with tickTime=500, and returns their addresses. Both stop at tb's
// cleanup.
func StartServers(tb testing.TB) Servers {
	tb.Helper()
	var s Servers
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		s.Corral = corralproc.Start(tb, "--tick-time", "500ms").Addr()
	}()
	go func() {
		defer wg.Done()
		s.RefZK = refzk.Start(tb, refzk.WithConfig("tickTime", "500")).Addr()
	}()
	wg.Wait()
	return s
}

// TB lets TestMain use the test helpers that start servers: it implements the few
// testing.TB methods they call (Helper, Cleanup, TempDir, Logf, Fatalf); the embedded nil
// testing.TB panics on any other. Its methods are safe for concurrent use.
type TB struct {
	testing.TB
	tempPrefix string
	mu         sync.Mutex
	cleanups   []func()
}

// NewTB returns a TB whose TempDir names its directories with tempPrefix.
func NewTB(tempPrefix string) *TB { return &TB{tempPrefix: tempPrefix} }

// Helper does nothing.
func (*TB) Helper() {}

// Cleanup registers f to run, in last-in first-out order, at RunCleanups or Fatalf.
func (m *TB) Cleanup(f func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cleanups = append(m.cleanups, f)
}

// TempDir creates a new temporary directory, removed at cleanup.
func (m *TB) TempDir() string {
	d, err := os.MkdirTemp("", m.tempPrefix)
	if err != nil {
		m.Fatalf("%v", err)
	}
	m.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// Logf writes a line to standard error.
func (m *TB) Logf(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }

// Fatalf writes a line to standard error, runs the cleanups and exits with status 1.
func (m *TB) Fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "TestMain: "+format+"\n", args...)
	m.RunCleanups()
	os.Exit(1)
}

// RunCleanups runs the registered cleanups, last registered first, and forgets them.
func (m *TB) RunCleanups() {
	m.mu.Lock()
	fs := m.cleanups
	m.cleanups = nil
	m.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

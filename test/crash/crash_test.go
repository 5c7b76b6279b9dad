// Package crash kills the corral binary with SIGKILL in the middle of a write load and
// checks, after a restart, that every write it acknowledged is there.
package crash

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/corral-io/corral/internal/testutil/corralproc"
)

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func dialZK(t *testing.T, addr string) *zk.Conn {
	t.Helper()
	c, ev, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}),
		zk.WithMaxBufferSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-deadline:
			c.Close()
			t.Fatalf("no session with %s", addr)
		}
	}
	return c
}

// TestKillDuringWritesLosesNothingAcknowledged runs several kill/restart rounds. In
// each, writers create and update nodes as fast as they can; the process is killed
// with SIGKILL while they run; after the restart every acknowledged create must exist
// and every node must hold at least the last acknowledged version.
func TestKillDuringWritesLosesNothingAcknowledged(t *testing.T) {
	p := corralproc.Start(t, "--snapshot-count", "500")
	setup := dialZK(t, p.Addr())
	if _, err := setup.Create("/crash", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	setup.Close()

	acked := map[string]int32{} // path -> last acknowledged version
	var mu sync.Mutex
	for round := 0; round < 3; round++ {
		c := dialZK(t, p.Addr())
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					path := fmt.Sprintf("/crash/r%d-w%d-%d", round, w, i)
					if _, err := c.Create(path, []byte("v0"), 0, zk.WorldACL(zk.PermAll)); err != nil {
						return // the kill: unknown outcome, not acknowledged
					}
					mu.Lock()
					acked[path] = 0
					mu.Unlock()
					st, err := c.Set(path, []byte("v1"), 0)
					if err != nil {
						return
					}
					mu.Lock()
					acked[path] = st.Version
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(700+300*round) * time.Millisecond)
		p.Kill()
		close(stop)
		wg.Wait()
		c.Close()
		p.Restart()

		check := dialZK(t, p.Addr())
		mu.Lock()
		n := len(acked)
		for path, ver := range acked {
			data, st, err := check.Get(path)
			if errors.Is(err, zk.ErrNoNode) {
				t.Fatalf("round %d: acknowledged create of %s lost after kill -9", round, path)
			}
			if err != nil {
				t.Fatalf("round %d: get %s: %v", round, path, err)
			}
			if st.Version < ver {
				t.Fatalf("round %d: %s at version %d, acknowledged %d (data %q)", round, path, st.Version, ver, data)
			}
		}
		mu.Unlock()
		check.Close()
		if n == 0 {
			t.Fatalf("round %d: no write was acknowledged before the kill", round)
		}
		t.Logf("round %d: %d acknowledged nodes all present after kill -9", round, n)
	}
}

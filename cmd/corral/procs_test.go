package main

import (
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/config"
)

func TestShareProcs(t *testing.T) {
	for _, c := range []struct{ cpus, local, follower, leader int }{
		{2, 0, 2, 2}, {2, 1, 2, 2}, // alone on the host: all of it
		{2, 3, 1, 2}, {2, 5, 1, 2}, {1, 3, 1, 1},
		{4, 3, 1, 2}, {8, 3, 2, 4}, {16, 3, 4, 8}, {6, 2, 2, 4},
	} {
		f, l := shareProcs(c.cpus, c.local)
		if f != c.follower || l != c.leader {
			t.Errorf("shareProcs(%d, %d) = %d, %d; want %d, %d", c.cpus, c.local, f, l, c.follower, c.leader)
		}
	}
}

// TestProcShareFollowsLeadership: the last role reported sets GOMAXPROCS, however
// the goroutines that make the change are scheduled.
func TestProcShareFollowsLeadership(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	p := &procShare{follower: 1, leader: 3, log: slog.New(slog.DiscardHandler)}
	for i := 0; i < 50; i++ {
		p.leadership(i%2 == 0)
	}
	p.leadership(true)
	waitProcs(t, 3)
	p.leadership(false)
	waitProcs(t, 1)
}

func waitProcs(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.GOMAXPROCS(0) != want {
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS = %d, want %d", runtime.GOMAXPROCS(0), want)
		}
		time.Sleep(time.Millisecond)
	}
	// and it stays there: no change made on behalf of an earlier role comes after
	time.Sleep(20 * time.Millisecond)
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Fatalf("GOMAXPROCS moved to %d after reaching %d", got, want)
	}
}

func TestLocalMembers(t *testing.T) {
	peers := []config.Peer{
		{ID: 1, Addr: "127.0.0.1:2888"},
		{ID: 2, Addr: "[::1]:2888"},
		{ID: 3, Addr: "localhost:2888"},
		{ID: 4, Addr: "192.0.2.10:2888"}, // TEST-NET-1: never this host
		{ID: 5, Addr: "corral5:2888"},    // a name: not looked up
	}
	if got := localMembers(peers); got != 3 {
		t.Fatalf("localMembers = %d, want 3 (loopback v4, v6 and localhost)", got)
	}
}

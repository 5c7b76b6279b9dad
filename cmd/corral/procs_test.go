package main

import (
	"testing"

	"github.com/corral-io/corral/internal/config"
)

func TestSplitProcs(t *testing.T) {
	for _, c := range []struct{ cpus, local, want int }{
		{2, 0, 2}, {2, 1, 2}, {2, 2, 2}, {2, 3, 2}, {2, 5, 2},
		{8, 3, 2}, {16, 3, 5}, {1, 3, 1}, {4, 3, 2}, {6, 2, 3},
	} {
		if got := splitProcs(c.cpus, c.local); got != c.want {
			t.Errorf("splitProcs(%d, %d) = %d, want %d", c.cpus, c.local, got, c.want)
		}
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

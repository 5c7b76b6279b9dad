package raftnode

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
	"golang.org/x/sys/unix"
)

func testConfState() raftpb.ConfState { return raftpb.ConfState{Voters: []uint64{1}} }

// TestFatalWALError replaces the WAL's file descriptor with a read-only one,
// so the next Save fails, and checks the exit hook is called and the node
// stops without applying the entry.
func TestFatalWALError(t *testing.T) {
	var code atomic.Int32
	code.Store(-1)
	exit = func(c int) { code.Store(int32(c)) }
	t.Cleanup(func() { exit = os.Exit })

	dir := t.TempDir()
	sm := &fakeSM{}
	n := mustStart(t, testConfig(t, dir), sm)
	proposeSeq(t, n, sm, 0, 3, 10)
	applied := n.AppliedIndex()

	fd := walFD(t, filepath.Join(dir, "wal"))
	ro, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := unix.Dup2(int(ro.Fd()), fd); err != nil {
		t.Fatal(err)
	}

	if err := n.Propose(ctxT(t), []byte("doomed")); err != nil && !errors.Is(err, ErrStopped) {
		t.Fatalf("Propose = %v", err)
	}
	select {
	case <-n.done:
	case <-time.After(10 * time.Second):
		t.Fatal("node did not stop after a WAL write error")
	}
	if c := code.Load(); c != 1 {
		t.Fatalf("exit hook called with %d, want 1", c)
	}
	if n.AppliedIndex() != applied || sm.count() != 3 {
		t.Fatalf("applied moved to %d (%d entries) after a failed WAL save", n.AppliedIndex(), sm.count())
	}
	if err := n.Propose(ctxT(t), []byte("x")); !errors.Is(err, ErrStopped) {
		t.Fatalf("Propose after fatal error = %v", err)
	}
	n.Stop()
	n.Stop()
}

// walFD finds this process's descriptor for the newest .wal file in dir.
func walFD(t *testing.T, dir string) int {
	t.Helper()
	tail := lastWAL(t, filepath.Dir(dir))
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	for _, de := range des {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", de.Name()))
		if err == nil && strings.TrimSuffix(target, " (deleted)") == tail {
			var fd int
			for _, c := range de.Name() {
				fd = fd*10 + int(c-'0')
			}
			return fd
		}
	}
	t.Fatalf("no open descriptor for %s", tail)
	return -1
}

package raftnode

import (
	"bytes"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// gatedSM is a fakeSM that implements SnapshotCapturer: the capture serialises the
// state at once (the state at the snapshot index), and the write waits for the
// test to open the gate, half-way through.
type gatedSM struct {
	fakeSM
	gate     chan struct{}
	captures int
	capMu    sync.Mutex
	writing  chan struct{} // receives when a write reached the gate
}

func newGatedSM() *gatedSM {
	return &gatedSM{gate: make(chan struct{}), writing: make(chan struct{}, 16)}
}

func (s *gatedSM) CaptureSnapshot() func(io.Writer) error {
	s.capMu.Lock()
	s.captures++
	s.capMu.Unlock()
	var buf bytes.Buffer
	err := s.fakeSM.WriteSnapshot(&buf)
	return func(w io.Writer) error {
		if err != nil {
			return err
		}
		b := buf.Bytes()
		if _, err := w.Write(b[:len(b)/2]); err != nil {
			return err
		}
		s.writing <- struct{}{}
		<-s.gate
		_, err := w.Write(b[len(b)/2:])
		return err
	}
}

// TestBackgroundSnapshot: while a snapshot is being written, entries go on being
// applied (the loop is not blocked) and no second snapshot starts; once written,
// it is recorded, and a restart restores it and replays only what came after.
func TestBackgroundSnapshot(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapshotCount = 50
	sm := newGatedSM()
	n := mustStart(t, cfg, sm)
	proposeSeq(t, n, &sm.fakeSM, 0, 60, 100)
	select {
	case <-sm.writing:
	case <-time.After(20 * time.Second):
		t.Fatal("no snapshot started after SnapshotCount entries")
	}
	// The writer is parked at the gate: applying goes on, well past another
	// SnapshotCount entries, without a second snapshot.
	proposeSeq(t, n, &sm.fakeSM, 60, 200, 100)
	sm.capMu.Lock()
	caps := sm.captures
	sm.capMu.Unlock()
	if caps != 1 {
		t.Fatalf("%d captures while one snapshot was in flight", caps)
	}
	snaps, _ := listSnaps(filepath.Join(dir, "snap"))
	if len(snaps) != 0 {
		t.Fatalf("snapshot file visible before it was written: %v", snaps)
	}
	close(sm.gate) // later snapshots pass straight through
	deadline := time.Now().Add(20 * time.Second)
	for {
		snaps, _ = listSnaps(filepath.Join(dir, "snap"))
		if len(snaps) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("snapshot never written")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The next snapshot starts once the first is done.
	proposeSeq(t, n, &sm.fakeSM, 200, 260, 100)
	before := sm.state()
	n.Stop()
	snaps, _ = listSnaps(filepath.Join(dir, "snap"))
	if len(snaps) < 2 {
		t.Fatalf("snapshots %v: the second one never started", snaps)
	}
	t.Logf("snapshots %v", snaps)

	sm2 := &fakeSM{}
	n2 := mustStart(t, cfg, sm2)
	after := sm2.state()
	applies, restores := sm2.calls()
	n2.Stop()
	if restores != 1 {
		t.Fatalf("%d restores, want 1", restores)
	}
	if after.n != before.n || after.hash == [32]byte{} {
		t.Fatalf("after restart %+v, before %+v", after, before)
	}
	if want := int(before.applied-snaps[0].index) + 1; applies != want {
		t.Fatalf("restart applied %d entries, want %d (the tail after snapshot %d)", applies, want, snaps[0].index)
	}
	if err := sm2.orderErr(); err != nil {
		t.Fatal(err)
	}
}

// TestStopDuringBackgroundSnapshot: a graceful stop while a snapshot is being
// written waits for it; a restart restores it and loses nothing.
func TestStopDuringBackgroundSnapshot(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapshotCount = 30
	sm := newGatedSM()
	n := mustStart(t, cfg, sm)
	proposeSeq(t, n, &sm.fakeSM, 0, 40, 100)
	select {
	case <-sm.writing:
	case <-time.After(20 * time.Second):
		t.Fatal("no snapshot started")
	}
	before := sm.state()
	stopped := make(chan struct{})
	go func() { n.Stop(); close(stopped) }()
	select {
	case <-stopped:
		t.Fatal("Stop returned with a snapshot still being written")
	case <-time.After(50 * time.Millisecond):
	}
	close(sm.gate)
	select {
	case <-stopped:
	case <-time.After(20 * time.Second):
		t.Fatal("Stop hangs on the snapshot in flight")
	}
	sm2 := &fakeSM{}
	n2 := mustStart(t, cfg, sm2)
	after := sm2.state()
	_, restores := sm2.calls()
	n2.Stop()
	if restores != 1 {
		t.Fatalf("%d restores: the snapshot finished during Stop was not used", restores)
	}
	if after.n != before.n {
		t.Fatalf("after restart %+v, before %+v", after, before)
	}
}

package raftnode

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/trash"
	"go.etcd.io/etcd/server/v3/storage/wal"
)

func testConfig(t testing.TB, dir string) Config {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return Config{
		ID:      1,
		DataDir: dir,
		Logger:  slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: level})),
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// smallSegments makes WAL segments small for the duration of a test.
func smallSegments(t testing.TB, size int64) {
	old := wal.SegmentSizeBytes
	wal.SegmentSizeBytes = size
	t.Cleanup(func() { wal.SegmentSizeBytes = old })
}

func mustStart(t testing.TB, cfg Config, sm StateMachine) *Node {
	t.Helper()
	n, err := Start(cfg, sm)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return n
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// waitCount waits until the state machine holds want entries.
func waitCount(t testing.TB, sm *fakeSM, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for sm.count() < want {
		if time.Now().After(deadline) {
			t.Fatalf("state machine has %d entries, want %d", sm.count(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// proposeSeq proposes entries [from, to) one at a time, waiting for each to apply.
func proposeSeq(t testing.TB, n *Node, sm *fakeSM, from, to int, size int) {
	t.Helper()
	for i := from; i < to; i++ {
		want := sm.count() + 1
		if err := n.Propose(ctxT(t), payload(i, size)); err != nil {
			t.Fatalf("Propose %d: %v", i, err)
		}
		waitCount(t, sm, want)
	}
}

func payload(i, size int) []byte {
	p := fmt.Appendf(nil, "payload-%06d-", i)
	for len(p) < size {
		p = append(p, byte('a'+(i+len(p))%26))
	}
	return p
}

func TestStartFastAndLeader(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Now()
	n := mustStart(t, testConfig(t, dir), &fakeSM{})
	defer n.Stop()
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("start took %v", d)
	}
	t.Logf("fresh start took %v", time.Since(t0))
	if !n.IsLeader() {
		t.Fatal("single node is not leader after Start")
	}
	if n.AppliedIndex() < 2 { // conf change + leader's empty entry
		t.Fatalf("applied %d after start", n.AppliedIndex())
	}
	for _, sub := range []string{"wal", "snap", "LOCK"} {
		if _, err := os.Stat(filepath.Join(dir, sub)); err != nil {
			t.Error(err)
		}
	}
	// A second process (or Node) on the same data dir is refused.
	if _, err := Start(testConfig(t, dir), &fakeSM{}); err == nil {
		t.Fatal("second Start on a data dir in use succeeded")
	}
}

func TestConcurrentProposeRestart(t *testing.T) {
	dir := t.TempDir()
	sm := &fakeSM{}
	n := mustStart(t, testConfig(t, dir), sm)
	const workers, per = 8, 250
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				if err := n.Propose(ctxT(t), payload(w*per+i, 64)); err != nil {
					t.Errorf("Propose: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	waitCount(t, sm, workers*per)
	if err := n.WaitApplied(ctxT(t), n.AppliedIndex()); err != nil {
		t.Fatal(err)
	}
	before := sm.state()
	n.Stop()
	if err := sm.orderErr(); err != nil {
		t.Fatal(err)
	}

	sm2 := &fakeSM{}
	n2 := mustStart(t, testConfig(t, dir), sm2)
	after := sm2.state()
	n2.Stop()
	// The restarted node applies everything that was applied before, plus
	// the new leader's empty entry.
	if after.n != before.n || after.applied != before.applied+1 {
		t.Fatalf("after restart: %d entries applied %d; before: %d entries applied %d", after.n, after.applied, before.n, before.applied)
	}
	for i := range before.n {
		if !bytes.Equal(sm.entry(i), sm2.entry(i)) {
			t.Fatalf("entry %d differs after restart", i)
		}
	}
	if err := sm2.orderErr(); err != nil {
		t.Fatal(err)
	}
}

// lastWAL returns the path of the newest WAL segment in dir/wal.
func lastWAL(t *testing.T, dir string) string {
	t.Helper()
	segs, err := listWALSegments(filepath.Join(dir, "wal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("no WAL segments: %v", err)
	}
	return filepath.Join(dir, "wal", segs[len(segs)-1].name)
}

func TestTornTailRepaired(t *testing.T) {
	dir := t.TempDir()
	sm := &fakeSM{}
	n := mustStart(t, testConfig(t, dir), sm)
	proposeSeq(t, n, sm, 0, 40, 100)
	n.Stop()

	// Cut the last few bytes of the last record, as a crash in mid-write would.
	p := lastWAL(t, dir)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	end := len(bytes.TrimRight(b, "\x00"))
	if err := os.Truncate(p, int64(end-3)); err != nil {
		t.Fatal(err)
	}

	sm2 := &fakeSM{}
	n2 := mustStart(t, testConfig(t, dir), sm2)
	// The torn record is at most the last entry (or a HardState after it).
	waitCount(t, sm2, 39)
	for i := range 39 {
		if !bytes.Equal(sm2.entry(i), payload(i, 100)) {
			t.Fatalf("entry %d = %q", i, sm2.entry(i))
		}
	}
	// The repaired WAL takes new writes and survives another restart.
	base := sm2.count()
	proposeSeq(t, n2, sm2, 1000, 1010, 100)
	st := sm2.state()
	n2.Stop()
	if _, err := os.Stat(p + ".broken"); err != nil {
		t.Errorf("no .broken copy of the repaired segment: %v", err)
	}
	sm3 := &fakeSM{}
	n3 := mustStart(t, testConfig(t, dir), sm3)
	defer n3.Stop()
	if got := sm3.state(); got.n != base+10 || got.hash != st.hash && got.applied == st.applied {
		t.Fatalf("after second restart: %+v, want %d entries", got, base+10)
	}
	if err := sm3.orderErr(); err != nil {
		t.Fatal(err)
	}
}

func TestMidLogCorruptionFailsStart(t *testing.T) {
	dir := t.TempDir()
	sm := &fakeSM{}
	n := mustStart(t, testConfig(t, dir), sm)
	proposeSeq(t, n, sm, 0, 50, 100)
	n.Stop()

	p := lastWAL(t, dir)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, payload(10, 100))
	if i < 0 {
		t.Fatal("payload not found in WAL")
	}
	b[i+50] ^= 0x01
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}

	_, err = Start(testConfig(t, dir), &fakeSM{})
	if err == nil {
		t.Fatal("Start succeeded on a WAL with a corrupted record")
	}
	t.Logf("Start error: %v", err)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), filepath.Base(p)) {
		t.Fatalf("error %q does not wrap ErrCorrupt and name %s", err, filepath.Base(p))
	}
	if !strings.Contains(err.Error(), "position") {
		t.Errorf("error %q does not give the offset", err)
	}
}

func TestSnapshotCompactionRestart(t *testing.T) {
	smallSegments(t, 64<<10)
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.SnapshotCount = 100
	cfg.SnapshotRetain = 2
	// Purged files stay in the trash bin during this first run: after one step
	// of 1 KiB each waits an hour.
	cfg.trash = trash.Options{Step: 1 << 10, Pause: time.Hour}
	sm := &fakeSM{}
	n := mustStart(t, cfg, sm)
	// Bursts of 300 from 4 proposers, each applied before the next: raft takes
	// a burst in one batch when it can, and several snapshots are wanted here.
	const total, burst = 3000, 300
	for base := 0; base < total; base += burst {
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := base + w; i < base+burst; i += 4 {
					if err := n.Propose(ctxT(t), payload(i, 200)); err != nil {
						t.Errorf("Propose: %v", err)
						return
					}
				}
			}()
		}
		wg.Wait()
		waitCount(t, sm, base+burst)
	}
	// Snapshots are written in the background, one at a time, so they can fall
	// behind a burst of entries; once the burst is over they catch up to within
	// SnapshotCount of the applied index.
	deadline := time.Now().Add(20 * time.Second)
	for {
		snaps, _ := listSnaps(filepath.Join(dir, "snap"))
		if len(snaps) >= 2 && snaps[0].index+100 > n.AppliedIndex() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshots %v never caught up with applied index %d", snaps, n.AppliedIndex())
		}
		time.Sleep(time.Millisecond)
	}
	before := sm.state()
	inBin, err := os.ReadDir(filepath.Join(dir, "trash"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inBin) == 0 {
		t.Fatal("nothing purged went through the trash bin")
	}
	n.Stop()

	snaps, err := listSnaps(filepath.Join(dir, "snap"))
	if err != nil {
		t.Fatal(err)
	}
	if len(snaps) != 2 {
		t.Fatalf("%d snapshot files kept, want 2: %v", len(snaps), snaps)
	}
	segs, err := listWALSegments(filepath.Join(dir, "wal"))
	if err != nil {
		t.Fatal(err)
	}
	// Exactly the segments from the one holding the oldest kept snapshot on remain.
	if segs[0].index > snaps[1].index || len(segs) > 1 && segs[1].index <= snaps[1].index {
		t.Fatalf("WAL segments not purged to the oldest kept snapshot %d: %+v", snaps[1].index, segs)
	}
	t.Logf("kept snapshots %v, %d WAL segments from %s", snaps, len(segs), segs[0].name)

	// Restart replays only the tail after the newest snapshot.
	sm2 := &fakeSM{}
	cfg.trash = trash.Options{Pause: -1}
	n2 := mustStart(t, cfg, sm2)
	after := sm2.state()
	applyCalls, restores := sm2.calls()
	// What the first run left in the trash bin is removed by the second.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		des, err := os.ReadDir(filepath.Join(dir, "trash"))
		if err != nil {
			t.Fatal(err)
		}
		if len(des) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d files still in the trash bin", len(des))
		}
	}
	n2.Stop()
	if restores != 1 {
		t.Fatalf("%d snapshot restores, want 1", restores)
	}
	tail := int(before.applied - snaps[0].index)
	if applyCalls != tail+1 {
		t.Fatalf("restart applied %d entries, want the tail %d + the leader's empty entry", applyCalls, tail)
	}
	if applyCalls > 100+50 {
		t.Fatalf("restart replayed %d entries; want at most about SnapshotCount", applyCalls)
	}
	if after.n != before.n || after.applied != before.applied+1 {
		t.Fatalf("after restart %+v, before %+v", after, before)
	}
	for i := range before.n {
		if !bytes.Equal(sm.entry(i), sm2.entry(i)) {
			t.Fatalf("entry %d differs", i)
		}
	}

	// A damaged newest snapshot is skipped in favour of the older one. The restart
	// above may have written a snapshot of its own at its graceful stop (and purged
	// the oldest), so the files are listed again.
	if snaps, err = listSnaps(filepath.Join(dir, "snap")); err != nil || len(snaps) < 2 {
		t.Fatalf("snapshots after the restart: %v (%v)", snaps, err)
	}
	newest := filepath.Join(dir, "snap", snaps[0].name)
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(newest, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sm3 := &fakeSM{}
	n3 := mustStart(t, cfg, sm3)
	got := sm3.state()
	applyCalls, _ = sm3.calls()
	proposeSeq(t, n3, sm3, total, total+1, 10)
	n3.Stop()
	if got.n != before.n || got.applied != before.applied+2 {
		t.Fatalf("after fallback restart %+v, before %+v", got, before)
	}
	if want := int(before.applied-snaps[1].index) + 2; applyCalls != want {
		t.Fatalf("fallback restart applied %d entries, want %d", applyCalls, want)
	}
	if _, err := os.Stat(newest + ".broken"); err != nil {
		t.Errorf("damaged snapshot not set aside: %v", err)
	}
	if err := sm3.orderErr(); err != nil {
		t.Fatal(err)
	}
}

func TestTornSnapshotFile(t *testing.T) {
	dir := t.TempDir()
	sm := &fakeSM{}
	sm.Apply(1, []byte("x"))
	name, size, err := writeSnapshotFile(dir, 1, 1, testConfState(), snapMeta{Addrs: map[uint64]string{1: "a:1"}}, sm, os.Remove)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if _, err := verifySnapshotFile(p); err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int64{1, snapTrailerLen, size / 2, size - 1} {
		if err := os.Truncate(p, size-cut); err != nil {
			t.Fatal(err)
		}
		if _, err := verifySnapshotFile(p); err == nil {
			t.Fatalf("snapshot truncated by %d bytes verified", cut)
		}
	}
}

func TestReadIndex(t *testing.T) {
	dir := t.TempDir()
	sm := &fakeSM{}
	n := mustStart(t, testConfig(t, dir), sm)
	defer n.Stop()
	proposeSeq(t, n, sm, 0, 5, 10)
	applied := n.AppliedIndex()
	idx, err := n.ReadIndex(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if idx < applied {
		t.Fatalf("ReadIndex %d < applied %d", idx, applied)
	}
	if err := n.WaitApplied(ctxT(t), idx); err != nil {
		t.Fatal(err)
	}
	// Many concurrent reads while writing.
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Propose(ctxT(t), payload(100+i, 10)); err != nil {
				t.Error(err)
			}
			a := n.AppliedIndex()
			idx, err := n.ReadIndex(ctxT(t))
			if err != nil || idx < a {
				t.Errorf("ReadIndex = %d, %v; applied before %d", idx, err, a)
			}
		}()
	}
	wg.Wait()
}

func TestProposeErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.MaxEntryBytes = 1000
	n := mustStart(t, cfg, &fakeSM{})
	if err := n.Propose(ctxT(t), make([]byte, 1001)); !errors.Is(err, ErrEntryTooLarge) {
		t.Fatalf("Propose(1001 bytes) = %v, want ErrEntryTooLarge", err)
	}
	if err := n.Propose(ctxT(t), make([]byte, 1000)); err != nil {
		t.Fatalf("Propose(1000 bytes) = %v", err)
	}
	if err := n.Propose(ctxT(t), nil); !errors.Is(err, ErrEmptyEntry) {
		t.Fatalf("Propose(nil) = %v, want ErrEmptyEntry", err)
	}
	// Stop is idempotent and safe concurrently.
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); n.Stop() }()
	}
	wg.Wait()
	n.Stop()
	if err := n.Propose(ctxT(t), []byte("x")); !errors.Is(err, ErrStopped) {
		t.Fatalf("Propose after Stop = %v", err)
	}
	if _, err := n.ReadIndex(ctxT(t)); !errors.Is(err, ErrStopped) {
		t.Fatalf("ReadIndex after Stop = %v", err)
	}
	if err := n.WaitApplied(ctxT(t), n.AppliedIndex()+1); !errors.Is(err, ErrStopped) {
		t.Fatalf("WaitApplied after Stop = %v", err)
	}
	if err := n.WaitApplied(ctxT(t), n.AppliedIndex()); err != nil {
		t.Fatalf("WaitApplied(applied) after Stop = %v", err)
	}
}

func TestWaitAppliedContext(t *testing.T) {
	n := mustStart(t, testConfig(t, t.TempDir()), &fakeSM{})
	defer n.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := n.WaitApplied(ctx, n.AppliedIndex()+100); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitApplied = %v", err)
	}
}

func TestWrongMemberID(t *testing.T) {
	dir := t.TempDir()
	n := mustStart(t, testConfig(t, dir), &fakeSM{})
	n.Stop()
	cfg := testConfig(t, dir)
	cfg.ID = 2
	if _, err := Start(cfg, &fakeSM{}); err == nil || !strings.Contains(err.Error(), "belongs to member") {
		t.Fatalf("Start with another ID = %v", err)
	}
}

package transport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// fakeHandler records what a transport hands it.
type fakeHandler struct {
	mu          sync.Mutex
	msgs        []raftpb.Message
	apps        []string
	unreachable map[uint64]int
	snapStatus  []raft.SnapshotStatus
	lost        map[uint64]int
	snapFile    []byte // what OpenSnapshot serves
	received    []byte // what ReceiveSnapshot stored
	recvErr     error
	block       chan struct{} // if set, Process blocks on it
}

func newFakeHandler() *fakeHandler {
	return &fakeHandler{unreachable: map[uint64]int{}, lost: map[uint64]int{}}
}

func (h *fakeHandler) Process(ctx context.Context, m raftpb.Message) error {
	if h.block != nil {
		select {
		case <-h.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs = append(h.msgs, m)
	return nil
}

func (h *fakeHandler) ReportUnreachable(id uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unreachable[id]++
}

func (h *fakeHandler) ReportSnapshot(id uint64, s raft.SnapshotStatus) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.snapStatus = append(h.snapStatus, s)
}

func (h *fakeHandler) PeerLost(id uint64, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.lost[id]++
}

func (h *fakeHandler) OpenSnapshot(m raftpb.Message) (io.ReadCloser, int64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return io.NopCloser(bytes.NewReader(h.snapFile)), int64(len(h.snapFile)), nil
}

func (h *fakeHandler) ReceiveSnapshot(m *raftpb.Message, r io.Reader, size int64) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.recvErr != nil {
		return h.recvErr
	}
	h.received = b
	m.Snapshot.Data = []byte("stored")
	return nil
}

func (h *fakeHandler) App(from uint64, kind uint8, data []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.apps = append(h.apps, fmt.Sprintf("%d:%d:%s", from, kind, data))
}

func (h *fakeHandler) with(f func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f()
}

type logBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newT(t *testing.T, id uint64, cluster string, h Handler, logs io.Writer, f *Faults) *Transport {
	t.Helper()
	if logs == nil {
		logs = io.Discard
	}
	tr, err := New(Config{ID: id, ClusterID: cluster, ListenAddr: "127.0.0.1:0", Handler: h, Faults: f,
		Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Stop)
	return tr
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// pair returns two started transports (ids 1 and 2) that know each other.
func pair(t *testing.T, f *Faults) (*Transport, *fakeHandler, *Transport, *fakeHandler) {
	h1, h2 := newFakeHandler(), newFakeHandler()
	t1 := newT(t, 1, "c", h1, nil, f)
	t2 := newT(t, 2, "c", h2, nil, f)
	t1.SetPeer(2, t2.Addr().String())
	t2.SetPeer(1, t1.Addr().String())
	t1.Start()
	t2.Start()
	return t1, h1, t2, h2
}

func TestMessagesAndAppInOrder(t *testing.T) {
	t1, _, _, h2 := pair(t, nil)
	for i := range 1000 {
		t1.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 2, Index: uint64(i),
			Entries: []raftpb.Entry{{Index: uint64(i), Data: bytes.Repeat([]byte{'x'}, i)}}}})
		if i%100 == 0 {
			if err := t1.SendApp(2, 5, fmt.Appendf(nil, "app%d", i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "all messages", func() bool {
		var n int
		h2.with(func() { n = len(h2.msgs) })
		return n == 1000
	})
	h2.with(func() {
		for i, m := range h2.msgs {
			if m.Index != uint64(i) || m.From != 1 || len(m.Entries) != 1 || len(m.Entries[0].Data) != i {
				t.Fatalf("message %d: %+v", i, m)
			}
		}
		if len(h2.apps) != 10 || h2.apps[0] != "1:5:app0" || h2.apps[9] != "1:5:app900" {
			t.Fatalf("apps %v", h2.apps)
		}
	})
	if err := t1.SendApp(9, 1, nil); !errors.Is(err, ErrUnknownPeer) {
		t.Fatalf("SendApp to unknown = %v", err)
	}
}

func TestClusterIDMismatchRefused(t *testing.T) {
	var l1, l2 logBuf
	h1, h2 := newFakeHandler(), newFakeHandler()
	t1 := newT(t, 1, "alpha", h1, &l1, nil)
	t2 := newT(t, 2, "beta", h2, &l2, nil)
	t1.SetPeer(2, t2.Addr().String())
	t1.Start()
	t2.Start()
	t1.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2}})
	waitFor(t, "refusal logged on both sides", func() bool {
		return strings.Contains(l2.String(), `cluster id mismatch: member 1 belongs to cluster \"alpha\", this member (2) to \"beta\"`) &&
			strings.Contains(l1.String(), "peer refused our stream")
	})
	h2.with(func() {
		if len(h2.msgs) != 0 {
			t.Fatal("message from another cluster delivered")
		}
	})
	h1.with(func() {
		if h1.lost[2] != 0 {
			t.Fatal("a refusal was reported as a lost peer")
		}
	})
}

func TestWrongMemberRefused(t *testing.T) {
	var l2 logBuf
	h1, h2 := newFakeHandler(), newFakeHandler()
	t1 := newT(t, 1, "c", h1, nil, nil)
	t2 := newT(t, 2, "c", h2, &l2, nil)
	t1.SetPeer(3, t2.Addr().String()) // 1 thinks member 3 lives at 2's address
	t1.Start()
	t2.Start()
	waitFor(t, "refusal", func() bool { return strings.Contains(l2.String(), "expecting member 3, but this is member 2") })
}

// TestPeerLost: a stopped peer is reported lost on both streams; a removed
// one (goodbye) is not.
func TestPeerLost(t *testing.T) {
	t1, h1, t2, h2 := pair(t, nil)
	// Wait until both streams are up.
	t1.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2}})
	t2.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 2, To: 1}})
	waitFor(t, "streams", func() bool {
		var a, b int
		h1.with(func() { a = len(h1.msgs) })
		h2.with(func() { b = len(h2.msgs) })
		return a == 1 && b == 1
	})
	// Removing a peer says goodbye: not a death.
	t2.RemovePeer(1)
	time.Sleep(50 * time.Millisecond) // a report, if any, would come at once
	h1.with(func() {
		if h1.lost[2] != 0 {
			t.Fatalf("goodbye reported as lost peer (%d)", h1.lost[2])
		}
	})
	t2.Stop()
	waitFor(t, "peer 2 reported lost", func() bool {
		var n int
		h1.with(func() { n = h1.lost[2] })
		return n > 0
	})
	h2.with(func() {
		if h2.lost[1] != 0 {
			t.Fatal("the stopping side reported its peer lost")
		}
	})
}

func TestQueueOverflowReportsUnreachable(t *testing.T) {
	h1 := newFakeHandler()
	t1, err := New(Config{ID: 1, ClusterID: "c", ListenAddr: "127.0.0.1:0", Handler: h1, QueueSize: 4,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer t1.Stop()
	// A peer that accepts but never answers the handshake: nothing drains.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	t1.SetPeer(2, ln.Addr().String())
	t1.Start()
	for range 10 {
		t1.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 2}})
	}
	h1.with(func() {
		if h1.unreachable[2] < 6 {
			t.Fatalf("unreachable reported %d times for 10 messages into a queue of 4", h1.unreachable[2])
		}
	})
	if err := t1.SendApp(2, 1, []byte("x")); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("SendApp on a full queue = %v", err)
	}
	// Messages to an unknown member are reported too.
	t1.Send([]raftpb.Message{{Type: raftpb.MsgApp, From: 1, To: 7}})
	h1.with(func() {
		if h1.unreachable[7] != 1 {
			t.Fatal("message to unknown member not reported")
		}
	})
}

func TestSnapshotStream(t *testing.T) {
	t1, h1, _, h2 := pair(t, nil)
	file := bytes.Repeat([]byte("snapshot-bytes-"), 100000)
	h1.with(func() { h1.snapFile = file })
	snap := raftpb.Snapshot{Metadata: raftpb.SnapshotMetadata{Index: 10, Term: 2}, Data: []byte("name.snap")}
	t1.Send([]raftpb.Message{{Type: raftpb.MsgSnap, From: 1, To: 2, Snapshot: &snap}})
	waitFor(t, "snapshot reported", func() bool {
		var n int
		h1.with(func() { n = len(h1.snapStatus) })
		return n == 1
	})
	h1.with(func() {
		if h1.snapStatus[0] != raft.SnapshotFinish {
			t.Fatalf("status %v", h1.snapStatus)
		}
	})
	h2.with(func() {
		if !bytes.Equal(h2.received, file) {
			t.Fatalf("received %d bytes, want %d", len(h2.received), len(file))
		}
		if len(h2.msgs) != 1 || h2.msgs[0].Type != raftpb.MsgSnap || string(h2.msgs[0].Snapshot.Data) != "stored" {
			t.Fatalf("stepped %+v", h2.msgs)
		}
	})
	// A receiver that cannot store it: failure reported, nothing stepped.
	h2.with(func() { h2.recvErr = errors.New("disk full") })
	t1.Send([]raftpb.Message{{Type: raftpb.MsgSnap, From: 1, To: 2, Snapshot: &snap}})
	waitFor(t, "failure reported", func() bool {
		var n int
		h1.with(func() { n = len(h1.snapStatus) })
		return n == 2
	})
	h1.with(func() {
		if h1.snapStatus[1] != raft.SnapshotFailure {
			t.Fatalf("status %v", h1.snapStatus)
		}
	})
	h2.with(func() {
		if len(h2.msgs) != 1 {
			t.Fatal("a snapshot that failed to store was stepped")
		}
	})
}

func TestFaultsPartitionAndHeal(t *testing.T) {
	f := NewFaults()
	t1, _, _, h2 := pair(t, f)
	f.Cut(1, 2)
	for range 10 {
		t1.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2}})
	}
	if err := t1.SendApp(2, 1, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if f.Dropped() != 11 {
		t.Fatalf("dropped %d", f.Dropped())
	}
	f.Heal()
	f.SetDelay(20*time.Millisecond, 0)
	t0 := time.Now()
	t1.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2, Commit: 42}})
	waitFor(t, "delayed message", func() bool {
		var n int
		h2.with(func() { n = len(h2.msgs) })
		return n == 1
	})
	if d := time.Since(t0); d < 20*time.Millisecond {
		t.Fatalf("delivered after %v", d)
	}
	h2.with(func() {
		if h2.msgs[0].Commit != 42 {
			t.Fatal("a dropped message was delivered")
		}
	})
}

// TestAddressChangeRedials: SetPeer with a new address moves the stream.
func TestAddressChangeRedials(t *testing.T) {
	h1, h2, h3 := newFakeHandler(), newFakeHandler(), newFakeHandler()
	t1 := newT(t, 1, "c", h1, nil, nil)
	t2 := newT(t, 2, "c", h2, nil, nil)
	t2b := newT(t, 2, "c", h3, nil, nil) // member 2 "moved"
	t1.SetPeer(2, t2.Addr().String())
	t1.Start()
	t2.Start()
	t2b.Start()
	t1.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2}})
	waitFor(t, "first delivery", func() bool { var n int; h2.with(func() { n = len(h2.msgs) }); return n == 1 })
	t1.SetPeer(2, t2b.Addr().String())
	waitFor(t, "delivery at the new address", func() bool {
		t1.Send([]raftpb.Message{{Type: raftpb.MsgHeartbeat, From: 1, To: 2}})
		var n int
		h3.with(func() { n = len(h3.msgs) })
		return n > 0
	})
	if got := t1.Peers()[2]; got != t2b.Addr().String() {
		t.Fatalf("peer address %q", got)
	}
}

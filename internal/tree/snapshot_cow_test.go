package tree

import (
	"bytes"
	"fmt"
	"math/rand"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/corral-io/corral/proto"
)

// frozenCheck is a frozen view being written on another goroutine, and what the tree
// looked like when it was frozen.
type frozenCheck struct {
	f      *Frozen
	digest uint64
	state  string
	done   chan struct{}
	buf    bytes.Buffer
	err    error
}

func startFrozen(tr *Tree) *frozenCheck {
	fc := &frozenCheck{f: tr.Freeze(), digest: tr.Digest(), state: dump(tr), done: make(chan struct{})}
	if fc.f.Digest() != fc.digest || fc.f.LastZxid() != tr.LastZxid() {
		panic("frozen view does not describe the tree")
	}
	go func() {
		defer close(fc.done)
		fc.err = fc.f.WriteSnapshot(&fc.buf)
		fc.f.Release()
	}()
	return fc
}

func (fc *frozenCheck) check(t *testing.T, what string) {
	t.Helper()
	<-fc.done
	if fc.err != nil {
		t.Fatalf("%s: writing the frozen view: %v", what, fc.err)
	}
	t2, err := ReadSnapshot(&fc.buf)
	if err != nil {
		t.Fatalf("%s: restoring the frozen view: %v", what, err)
	}
	if t2.Digest() != fc.digest {
		t.Fatalf("%s: restored digest %x, digest at the freeze %x", what, t2.Digest(), fc.digest)
	}
	if got := dump(t2); got != fc.state {
		t.Fatalf("%s: restored state differs from the state at the freeze", what)
	}
	checkInvariants(t, t2)
}

// TestFreezeConcurrentApply freezes the tree at random points of a random history
// and writes each view on its own goroutine while entries keep being applied (up to
// three views at once); every snapshot must restore to exactly the frozen state.
// Run it with -race: the writers read only what Apply no longer changes.
func TestFreezeConcurrentApply(t *testing.T) {
	for seed := int64(1); seed <= 6; seed++ {
		g := &gen{r: rand.New(rand.NewSource(seed)), now: testTime}
		tr := New()
		var open []*frozenCheck
		for zxid := int64(1); zxid <= 3000; zxid++ {
			tr.Apply(zxid, g.entry())
			if g.r.Intn(40) == 0 && len(open) < 3 {
				open = append(open, startFrozen(tr))
			}
			if len(open) > 0 && g.r.Intn(30) == 0 {
				open[0].check(t, fmt.Sprintf("seed %d zxid %d", seed, zxid))
				open = open[1:]
			}
			if zxid%100 == 0 {
				checkInvariants(t, tr)
			}
		}
		for _, fc := range open {
			fc.check(t, fmt.Sprintf("seed %d end", seed))
		}
		if tr.nodes.views.Load() != 0 {
			t.Fatalf("views still held: %d", tr.nodes.views.Load())
		}
		checkInvariants(t, tr)
		// The live tree still round-trips.
		var buf bytes.Buffer
		if err := tr.WriteSnapshot(&buf); err != nil {
			t.Fatal(err)
		}
		t2, err := ReadSnapshot(&buf)
		if err != nil || dump(t2) != dump(tr) || t2.Digest() != tr.Digest() {
			t.Fatalf("seed %d: live round trip differs (%v)", seed, err)
		}
	}
}

// TestFreezeManyChildren freezes a tree with many children under one parent (the
// create workload's shape) and then creates, deletes, sets and closes sessions
// under it while the view is written; rolled-back multis included.
func TestFreezeManyChildren(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/p", 0)
	h.apply(&Entry{Kind: KindCreateSession, SessionID: 7, Timeout: 6000})
	for i := 0; i < 5000; i++ {
		h.mustCreate("/p/n", 2)
	}
	for round := 0; round < 3; round++ {
		fc := startFrozen(h.tree)
		for i := 0; i < 2000; i++ {
			p := fmt.Sprintf("/p/n%010d", (i*7+round*13)%5000)
			switch i % 5 {
			case 0:
				h.write(proto.OpSetData, &proto.SetDataRequest{Path: p, Data: []byte{byte(i)}, Version: -1})
			case 1:
				h.write(proto.OpDelete, &proto.DeleteRequest{Path: p, Version: -1})
			case 2:
				h.mustCreate("/p/n", 2)
			case 3:
				// A multi that changes the parent, then fails: rolled back.
				h.write(proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
					{Type: proto.OpCreate, Create: proto.CreateRequest{Path: "/p/m", ACL: openACL}},
					{Type: proto.OpSetData, SetData: proto.SetDataRequest{Path: "/p", Data: []byte("x"), Version: -1}},
					{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: "/nonexistent", Version: -1}},
				}})
			case 4:
				h.write(proto.OpCreate, &proto.CreateRequest{Path: fmt.Sprintf("/p/e%d-%d", round, i), ACL: openACL, Flags: proto.ModeEphemeral})
			}
		}
		h.apply(&Entry{Kind: KindCloseSession, SessionID: h.sess})
		h.apply(&Entry{Kind: KindCreateSession, SessionID: h.sess, Timeout: 6000})
		fc.check(t, fmt.Sprintf("round %d", round))
		checkInvariants(t, h.tree)
	}
}

// TestFreezeReleasedStopsCopying: with no view held, changes are made in place.
func TestFreezeReleasedStopsCopying(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/a", 0)
	f := h.tree.Freeze()
	before := h.tree.nodes.get("/a")
	h.write(proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte("1"), Version: -1})
	if h.tree.nodes.get("/a") == before {
		t.Fatal("a node shared with a view was changed in place")
	}
	if string(before.data()) == "1" {
		t.Fatal("the frozen node changed")
	}
	f.Release()
	f.Release() // idempotent
	if err := f.WriteSnapshot(&bytes.Buffer{}); err == nil {
		t.Fatal("a released view wrote a snapshot")
	}
	cur := h.tree.nodes.get("/a")
	h.write(proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte("2"), Version: -1})
	if h.tree.nodes.get("/a") != cur {
		t.Fatal("copied although no view is held")
	}
}

// BenchmarkSnapshotPause1M measures what a snapshot of a 1M-znode tree costs the
// apply path: the Freeze itself (ns/op), and the longest and 99th-percentile Apply
// (setData of random nodes, creates) while the view is written on another goroutine.
// The full write time is reported for comparison: it is what the apply path used to
// wait. go test -run XXX -bench SnapshotPause1M -benchtime 3x ./internal/tree
func BenchmarkSnapshotPause1M(b *testing.B) {
	tr := buildTree(b, 1_000_000)
	zxid := tr.LastZxid()
	r := rand.New(rand.NewSource(1))
	var freeze, write, maxPause time.Duration
	var pauses []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		f := tr.Freeze()
		freeze += time.Since(t0)
		var wg sync.WaitGroup
		var werr error
		var wdur time.Duration
		wg.Add(1)
		go func() {
			defer wg.Done()
			t1 := time.Now()
			werr = f.WriteSnapshot(discard{})
			wdur = time.Since(t1)
			f.Release()
		}()
		done := make(chan struct{})
		go func() { wg.Wait(); close(done) }()
	loop:
		for {
			select {
			case <-done:
				break loop
			default:
			}
			zxid++
			j := r.Intn(1_000_000)
			var e *Entry
			if zxid%4 == 0 {
				e = &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpCreate, Time: zxid,
					Body: proto.Marshal(&proto.CreateRequest{Path: fmt.Sprintf("/b%06d/x%d", j/1000, zxid), Data: benchData, ACL: openACL})}
			} else {
				e = &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpSetData, Time: zxid,
					Body: proto.Marshal(&proto.SetDataRequest{Path: fmt.Sprintf("/b%06d/node%010d", j/1000, j), Data: benchData, Version: -1})}
			}
			t1 := time.Now()
			if res := tr.Apply(zxid, e); res.Err != 0 {
				b.Fatal(res.Err)
			}
			d := time.Since(t1)
			pauses = append(pauses, d)
			maxPause = max(maxPause, d)
		}
		if werr != nil {
			b.Fatal(werr)
		}
		write += wdur
	}
	b.StopTimer()
	sort.Slice(pauses, func(i, j int) bool { return pauses[i] < pauses[j] })
	b.ReportMetric(float64(freeze.Microseconds())/float64(b.N), "freeze-µs")
	b.ReportMetric(float64(write.Milliseconds())/float64(b.N), "write-ms")
	b.ReportMetric(float64(maxPause.Microseconds()), "max-apply-µs")
	if len(pauses) > 0 {
		b.ReportMetric(float64(pauses[len(pauses)*99/100].Microseconds()), "p99-apply-µs")
		b.ReportMetric(float64(len(pauses))/float64(b.N), "applies/snapshot")
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

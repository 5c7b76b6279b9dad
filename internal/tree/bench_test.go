package tree

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/corral-io/corral/proto"
)

var benchData = bytes.Repeat([]byte("x"), 128)

// buildTree makes n znodes of 128 bytes, 1000 per parent.
func buildTree(b testing.TB, n int) *Tree {
	tr := New()
	tr.Apply(1, &Entry{Kind: KindCreateSession, SessionID: 1})
	zxid := int64(1)
	for i := 0; i < n; i++ {
		if i%1000 == 0 {
			zxid++
			tr.Apply(zxid, &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpCreate, Time: zxid,
				Body: proto.Marshal(&proto.CreateRequest{Path: fmt.Sprintf("/b%06d", i/1000), ACL: openACL})})
		}
		zxid++
		r := tr.Apply(zxid, &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpCreate, Time: zxid,
			Body: proto.Marshal(&proto.CreateRequest{Path: fmt.Sprintf("/b%06d/node%010d", i/1000, i), Data: benchData, ACL: openACL})})
		if r.Err != 0 {
			b.Fatal(r.Err)
		}
	}
	return tr
}

func BenchmarkApplyCreate(b *testing.B) {
	tr := New()
	tr.Apply(1, &Entry{Kind: KindCreateSession, SessionID: 1})
	bodies := make([][]byte, b.N)
	for i := range bodies {
		if i%1000 == 0 {
			tr.Apply(int64(i+2), &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpCreate,
				Body: proto.Marshal(&proto.CreateRequest{Path: fmt.Sprintf("/p%d", i/1000), ACL: openACL})})
		}
		bodies[i] = proto.Marshal(&proto.CreateRequest{Path: fmt.Sprintf("/p%d/n%d", i/1000, i), Data: benchData, ACL: openACL})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := tr.Apply(int64(b.N+i+2), &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpCreate, Body: bodies[i], Time: 1}); r.Err != 0 {
			b.Fatal(r.Err)
		}
	}
}

func BenchmarkApplySetData(b *testing.B) {
	tr := buildTree(b, 10000)
	body := proto.Marshal(&proto.SetDataRequest{Path: "/b000005/node0000005000", Data: benchData, Version: -1})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := tr.Apply(int64(100000+i), &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpSetData, Body: body, Time: 1}); r.Err != 0 {
			b.Fatal(r.Err)
		}
	}
}

func BenchmarkReadGetData(b *testing.B) {
	tr := buildTree(b, 10000)
	body := proto.Marshal(&proto.PathWatchRequest{Path: "/b000005/node0000005000"})
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if r := tr.Read(1, ipAuth, proto.OpGetData, body); r.Err != 0 {
			b.Fatal(r.Err)
		}
	}
}

func BenchmarkSnapshot100k(b *testing.B) {
	tr := buildTree(b, 100000)
	var buf bytes.Buffer
	if err := tr.WriteSnapshot(&buf); err != nil {
		b.Fatal(err)
	}
	b.Logf("snapshot of %d nodes: %d bytes", tr.NodeCount(), buf.Len())
	b.Run("write", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			var w bytes.Buffer
			w.Grow(buf.Len())
			if err := tr.WriteSnapshot(&w); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := ReadSnapshot(bytes.NewReader(buf.Bytes())); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMemory1M reports the heap used by 1M znodes of 128 bytes (run with -memtest).
func TestMemory1M(t *testing.T) {
	if !*memFlag {
		t.Skip("run with -memtest")
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	tr := buildTree(t, 1_000_000)
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("1M nodes: heap in use %d MB (%d B/node)", (after.HeapInuse-before.HeapInuse)>>20, (after.HeapInuse-before.HeapInuse)/uint64(tr.NodeCount()))
	var buf bytes.Buffer
	tr.WriteSnapshot(&buf)
	runtime.KeepAlive(tr)
}

func BenchmarkHashMeta(b *testing.B) {
	n := newNode("/bench/some/path-0000000001", []byte("x"), kindPersistent)
	n.acl = &aclEntry{hash: 1}
	b.ReportAllocs()
	for b.Loop() {
		hashMeta("/bench/some/path-0000000001", n)
	}
}

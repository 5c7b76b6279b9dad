package tree

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"runtime"
	"testing"

	"github.com/corral-io/corral/proto"
)

// TestDeterminism applies the same entries to two trees (one restored from a snapshot
// midway) and expects identical results, digests and states throughout.
func TestDeterminism(t *testing.T) {
	g := &gen{r: rand.New(rand.NewSource(42)), now: testTime}
	var entries []*Entry
	for i := 0; i < 2000; i++ {
		entries = append(entries, g.entry())
	}
	a, b := New(), New()
	if a.Digest() != b.Digest() {
		t.Fatal("fresh trees differ")
	}
	for i, e := range entries {
		zxid := int64(i + 1)
		ra, rb := a.Apply(zxid, e), b.Apply(zxid, e)
		if !sameResult(ra, rb) || a.Digest() != b.Digest() {
			t.Fatalf("step %d: trees diverge", zxid)
		}
		if i == 1000 {
			var buf bytes.Buffer
			if err := b.WriteSnapshot(&buf); err != nil {
				t.Fatal(err)
			}
			var err error
			if b, err = ReadSnapshot(&buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	if dump(a) != dump(b) {
		t.Fatal("states differ")
	}
	// A different state has a different digest.
	before := a.Digest()
	a.Apply(a.LastZxid(), &Entry{Kind: KindCreateSession, SessionID: 999, Timeout: 1})
	if a.Digest() == before {
		t.Error("digest ignores sessions")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	h := newHarness(t)
	h.apply(&Entry{Kind: KindCreateSession, SessionID: 5, Timeout: 6000, Passwd: nil})
	h.mustCreate("/a", 0)
	h.mustCreate("/a/s", 2)
	h.mustCreate("/a/s", 2)
	h.write(proto.OpDelete, &proto.DeleteRequest{Path: "/a/s0000000000", Version: -1})
	h.mustCreate("/a/e", 1)
	h.write(proto.OpCreateTTL, &proto.CreateRequest{Path: "/t", ACL: openACL, Flags: 5, TTL: 100})
	h.write(proto.OpCreateContainer, &proto.CreateRequest{Path: "/c", ACL: openACL})
	h.write(proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: []proto.ACL{{Perms: 1, ID: proto.ID{Scheme: "digest", ID: "u:x"}}}})
	var buf bytes.Buffer
	if err := h.tree.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	snap := buf.Bytes()
	t2, err := ReadSnapshot(bytes.NewReader(snap))
	if err != nil {
		t.Fatal(err)
	}
	if t2.Digest() != h.tree.Digest() || dump(t2) != dump(h.tree) {
		t.Fatalf("round trip differs:\n%s\n%s", dump(h.tree), dump(t2))
	}
	checkInvariants(t, t2)
	// Same subsequent behaviour: sequential counter, sessions, ephemerals.
	h2 := &harness{t: t, tree: t2, zxid: h.zxid, now: h.now, sess: 1, auth: ipAuth}
	for _, x := range []*harness{h, h2} {
		if p := x.mustCreate("/a/s", 2); p != "/a/s0000000003" {
			t.Errorf("sequential after restore: %s", p)
		}
		r := x.apply(&Entry{Kind: KindCloseSession, SessionID: 1})
		if len(r.Events) != 2 {
			t.Errorf("close after restore: %v", r.Events)
		}
	}
	if h.tree.Digest() != t2.Digest() {
		t.Error("diverged after restore")
	}
	// Corruption is detected, never a panic.
	for i := 0; i < len(snap); i += 1 + i/7 {
		bad := append([]byte(nil), snap...)
		bad[i] ^= 0x41
		if _, err := ReadSnapshot(bytes.NewReader(bad)); err == nil {
			t.Errorf("corrupt byte %d accepted", i)
		} else if !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("byte %d: %v", i, err)
		}
	}
	for i := 0; i < len(snap); i += 13 {
		if _, err := ReadSnapshot(bytes.NewReader(snap[:i])); err == nil {
			t.Errorf("truncated snapshot (%d bytes) accepted", i)
		}
	}
}

func FuzzUnmarshalEntry(f *testing.F) {
	f.Add((&Entry{Kind: KindRequest, Op: proto.OpCreate, Body: []byte{1, 2}, Auth: ipAuth}).Marshal())
	f.Add((&Entry{Kind: KindCreateSession, Passwd: []byte("x")}).Marshal())
	f.Add((&Entry{Kind: KindSessionRequest, Op: proto.OpCreate, Body: []byte{1}, Auth: ipAuth, Timeout: 4000, Passwd: []byte("x")}).Marshal())
	f.Add((&Entry{Kind: KindDeleteContainer, Path: "/c", MaxNeverUsed: 5}).Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := UnmarshalEntry(b)
		if err != nil {
			return
		}
		e2, err := UnmarshalEntry(e.Marshal())
		if err != nil || fmt.Sprint(e) != fmt.Sprint(e2) {
			t.Fatalf("re-encoding differs: %v %+v %+v", err, e, e2)
		}
		New().Apply(1, e)
	})
}

// FuzzApply feeds arbitrary bodies to every op: Apply and Read must never panic and
// the tree must stay consistent.
func FuzzApply(f *testing.F) {
	f.Add(int32(proto.OpCreate), proto.Marshal(&proto.CreateRequest{Path: "/a", ACL: openACL}))
	f.Add(int32(proto.OpMulti), proto.Marshal(&proto.MultiRequest{Ops: []proto.MultiOp{mcreate(proto.OpCreate, "/a", 0, 0)}}))
	f.Add(int32(proto.OpSetACL), proto.Marshal(&proto.SetACLRequest{Path: "/", ACL: openACL, Version: -1}))
	f.Add(int32(proto.OpMultiRead), proto.Marshal(&proto.MultiRequest{Ops: []proto.MultiOp{{Type: proto.OpGetData, Read: proto.PathWatchRequest{Path: "/"}}}}))
	f.Fuzz(func(t *testing.T, op int32, body []byte) {
		tr := New()
		tr.Apply(1, &Entry{Kind: KindCreateSession, SessionID: 1})
		tr.Apply(2, &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpCreate, Body: proto.Marshal(&proto.CreateRequest{Path: "/a", ACL: openACL})})
		tr.Apply(3, &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpCode(op), Body: body, Auth: ipAuth})
		tr.Read(1, ipAuth, proto.OpCode(op), body)
		tr.Apply(4, &Entry{Kind: KindCloseSession, SessionID: 1})
		checkInvariants(t, tr)
	})
}

// TestSnapshotV1 loads a version 1 snapshot (written before snapshots had chunks).
func TestSnapshotV1(t *testing.T) {
	b, err := os.ReadFile("testdata/snapshot-v1.bin")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/snapshot-v1.dump")
	if err != nil {
		t.Fatal(err)
	}
	tr, err := ReadSnapshot(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got := dump(tr); got != string(want) {
		t.Fatalf("v1 snapshot loads as\n%s\nwant\n%s", got, want)
	}
	checkInvariants(t, tr)
	for i := 0; i < len(b); i += 3 {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x41
		if _, err := ReadSnapshot(bytes.NewReader(bad)); err == nil {
			t.Errorf("corrupt byte %d accepted", i)
		}
	}
}

// TestSnapshotChunks round-trips a tree large enough for several chunks, on one
// worker and on several, and checks that damage inside a chunk is detected.
func TestSnapshotChunks(t *testing.T) {
	tr := buildTree(t, 30000)
	tr.Apply(tr.LastZxid()+1, &Entry{Kind: KindRequest, SessionID: 1, Op: proto.OpCreate, Time: 1,
		Body: proto.Marshal(&proto.CreateRequest{Path: "/e", ACL: openACL, Flags: proto.ModeEphemeral})})
	var buf bytes.Buffer
	if err := tr.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() < 3*snapChunkTarget {
		t.Fatalf("snapshot of %d bytes: too small for several chunks", buf.Len())
	}
	for _, procs := range []int{1, 3} {
		old := runtime.GOMAXPROCS(procs)
		t2, err := ReadSnapshot(bytes.NewReader(buf.Bytes()))
		runtime.GOMAXPROCS(old)
		if err != nil {
			t.Fatal(err)
		}
		if t2.Digest() != tr.Digest() || dump(t2) != dump(tr) {
			t.Fatalf("GOMAXPROCS %d: round trip differs", procs)
		}
		checkInvariants(t, t2)
	}
	snap := buf.Bytes()
	for _, i := range []int{len(snap) / 3, len(snap) / 2, len(snap) - 20} {
		bad := append([]byte(nil), snap...)
		bad[i] ^= 0x41
		if _, err := ReadSnapshot(bytes.NewReader(bad)); !errors.Is(err, ErrBadSnapshot) {
			t.Errorf("corrupt byte %d: %v", i, err)
		}
	}
	if _, err := ReadSnapshot(bytes.NewReader(snap[:len(snap)/2])); !errors.Is(err, ErrBadSnapshot) {
		t.Errorf("truncated: %v", err)
	}
}

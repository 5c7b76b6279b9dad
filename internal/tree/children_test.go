package tree

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"unsafe"

	"github.com/corral-io/corral/proto"
)

// TestChildSetLargeDirectory takes one directory past maxChildList (slice to map)
// and back down, through creates, deletes, a failed multi and a snapshot.
func TestChildSetLargeDirectory(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/big", 0)
	n := maxChildList + 100
	var want []string
	for i := range n {
		h.mustCreate(fmt.Sprintf("/big/c%05d", i), 0)
		want = append(want, fmt.Sprintf("c%05d", i))
	}
	children := func() []string {
		r := h.read(proto.OpGetChildren, &proto.PathWatchRequest{Path: "/big"})
		if r.Err != 0 {
			t.Fatal(r.Err)
		}
		return r.Resp.(*proto.GetChildrenResponse).Children
	}
	if got := children(); !slices.Equal(got, want) {
		t.Fatalf("%d children listed, want %d in order", len(got), len(want))
	}
	if c := h.tree.nodes.get("/big").children(); c.m == nil || c.len() != n {
		t.Fatalf("a set of %d names is not a map", n)
	}
	// A multi that deletes a child then fails rolls the delete back.
	r := h.write(proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: "/big/c00007", Version: -1}},
		{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: "/big/none", Version: -1}},
	}})
	if r.Err == 0 {
		t.Fatal("multi deleting a missing node succeeded")
	}
	for i := 0; i < n; i += 2 {
		if r := h.write(proto.OpDelete, &proto.DeleteRequest{Path: fmt.Sprintf("/big/c%05d", i), Version: -1}); r.Err != 0 {
			t.Fatal(r.Err)
		}
	}
	var odd []string
	for i := 1; i < n; i += 2 {
		odd = append(odd, fmt.Sprintf("c%05d", i))
	}
	if got := children(); !slices.Equal(got, odd) {
		t.Fatalf("after deletes: %d children, want %d", len(got), len(odd))
	}
	checkInvariants(t, h.tree)
	var buf bytes.Buffer
	if err := h.tree.WriteSnapshot(&buf); err != nil {
		t.Fatal(err)
	}
	t2, err := ReadSnapshot(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if c := t2.nodes.get("/big").children(); c.m != nil || c.len() != len(odd) {
		t.Fatalf("restored set of %d names is a map", len(odd))
	}
	checkInvariants(t, t2)
	if dump(t2) != dump(h.tree) {
		t.Fatal("restored tree differs")
	}
	// Small sets: down to none and up again.
	h.mustCreate("/small", 0)
	h.mustCreate("/small/a", 0)
	h.mustCreate("/small/b", 0)
	for _, p := range []string{"/small/a", "/small/b"} {
		h.write(proto.OpDelete, &proto.DeleteRequest{Path: p, Version: -1})
	}
	if d := h.tree.nodes.get("/small").ext; d == nil || d.names.list != nil || d.names.m != nil {
		t.Fatal("an empty set is kept")
	}
	h.mustCreate("/small/c", 0)
	checkInvariants(t, h.tree)
}

// TestNodeSize guards the size of node: a million znodes take a million of them, and
// 80 bytes is a Go size class (the next one is 96).
func TestNodeSize(t *testing.T) {
	if s := unsafe.Sizeof(node{}); s > 80 {
		t.Fatalf("node is %d bytes, want at most 80 (a Go size class; 96 is the next)", s)
	}
}

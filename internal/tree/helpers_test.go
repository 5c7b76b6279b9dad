package tree

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/corral-io/corral/proto"
)

var (
	ipAuth   = []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}}
	openACL  = proto.WorldACL(proto.PermAll)
	testTime = int64(1_700_000_000_000)
)

// harness drives a tree with one session (id 1) and an advancing zxid and clock.
type harness struct {
	t    testing.TB
	tree *Tree
	zxid int64
	now  int64
	sess int64
	auth []proto.ID
}

func newHarness(t testing.TB) *harness {
	h := &harness{t: t, tree: New(), now: testTime, sess: 1, auth: ipAuth}
	h.apply(&Entry{Kind: KindCreateSession, SessionID: 1, Timeout: 30000, Passwd: []byte("pw")})
	return h
}

func (h *harness) apply(e *Entry) Result {
	h.zxid++
	h.now += 10
	if e.Time == 0 {
		e.Time = h.now
	}
	// Every entry goes through its encoding, as it would through raft.
	e2, err := UnmarshalEntry(e.Marshal())
	if err != nil {
		h.t.Fatalf("entry round trip: %v", err)
	}
	return h.tree.Apply(h.zxid, e2)
}

func (h *harness) write(op proto.OpCode, req proto.Record) Result {
	return h.apply(&Entry{Kind: KindRequest, SessionID: h.sess, Op: op, Body: encodeReq(op, req), Auth: h.auth})
}

func (h *harness) read(op proto.OpCode, req proto.Record) Result {
	return h.tree.Read(h.sess, h.auth, op, encodeReq(op, req))
}

func encodeReq(op proto.OpCode, req proto.Record) []byte {
	if cr, ok := req.(*proto.CreateRequest); ok && op == proto.OpCreateTTL {
		e := proto.NewEncoder(nil)
		cr.EncodeTTL(e)
		return e.Bytes()
	}
	return proto.Marshal(req)
}

func (h *harness) create(path string, data []byte, flags int32) Result {
	return h.write(proto.OpCreate, &proto.CreateRequest{Path: path, Data: data, ACL: openACL, Flags: flags})
}

func (h *harness) mustCreate(path string, flags int32) string {
	h.t.Helper()
	r := h.create(path, []byte("d"), flags)
	if r.Err != 0 {
		h.t.Fatalf("create %s: %v", path, r.Err)
	}
	return r.Resp.(*proto.CreateResponse).Path
}

func (h *harness) stat(path string) proto.Stat {
	h.t.Helper()
	r := h.read(proto.OpExists, &proto.PathWatchRequest{Path: path})
	if r.Err != 0 {
		h.t.Fatalf("exists %s: %v", path, r.Err)
	}
	return r.Resp.(*proto.StatResponse).Stat
}

func (h *harness) exists(path string) bool {
	return h.read(proto.OpExists, &proto.PathWatchRequest{Path: path}).Err == 0
}

// dump renders the whole observable state, sorted, for comparisons.
func dump(t *Tree) string {
	var b strings.Builder
	paths := make([]string, 0, t.nodes.len())
	for n := range t.nodes.all() {
		paths = append(paths, n.path())
	}
	sort.Strings(paths)
	fmt.Fprintf(&b, "zxid %d\n", t.lastZxid)
	for _, p := range paths {
		n := t.nodes.get(p)
		fmt.Fprintf(&b, "%s %q %+v acl=%v kind=%d owner=%d ic=%d\n", p, n.data(), n.stat(), n.acl.acl, n.kind(), n.owner(), n.cversion())
	}
	for _, s := range t.Sessions() {
		fmt.Fprintf(&b, "session %d %d %q %d %v\n", s.ID, s.Timeout, s.Passwd, s.Created, t.Ephemerals(s.ID))
	}
	return b.String()
}

// fullDigest recomputes the digest from scratch, to check the incremental one.
func fullDigest(t *Tree) uint64 {
	var sum uint64
	for n := range t.nodes.all() {
		sum += hashData(n.path(), n.data()) + hashMeta(n.path(), n)
	}
	for _, s := range t.sessions {
		sum += hashSession(s)
	}
	return mix64(sum ^ mix64(uint64(t.lastZxid)+0x9e3779b97f4a7c15))
}

// checkInvariants verifies the tree's indexes against its nodes.
func checkInvariants(t testing.TB, tr *Tree) {
	t.Helper()
	if got, want := tr.Digest(), fullDigest(tr); got != want {
		t.Fatalf("incremental digest %x != full digest %x", got, want)
	}
	eph, size, count := 0, int64(0), 0
	for range tr.nodes.all() {
		count++
	}
	if count != tr.nodes.len() {
		t.Fatalf("node map counts %d, holds %d", tr.nodes.len(), count)
	}
	refs := map[*aclEntry]int{}
	for n := range tr.nodes.all() {
		p := n.path()
		size += int64(len(p) + len(n.data()))
		refs[n.acl]++
		if p != rootPath {
			parent := tr.nodes.get(parentOf(p))
			if parent == nil {
				t.Fatalf("%s has no parent", p)
			}
			if !parent.children().has(childName(p)) {
				t.Fatalf("%s missing from its parent's children", p)
			}
		}
		if int(n.nchildren()) != n.children().len() {
			t.Fatalf("%s: nchildren %d, %d children", p, n.nchildren(), n.children().len())
		}
		if n.gen() == 0 || n.gen() > tr.nodes.gen {
			t.Fatalf("%s: generation %d, tree at %d", p, n.gen(), tr.nodes.gen)
		}
		if tr.nodes.views.Load() == 0 && p != rootPath {
			// No view: nothing may be left shared between two paths.
			if tr.nodes.get(p) != n {
				t.Fatalf("%s: iteration and lookup disagree", p)
			}
		}
		for c := range n.children().all() {
			cp := p + "/" + c
			if p == rootPath {
				cp = "/" + c
			}
			if tr.nodes.get(cp) == nil {
				t.Fatalf("child %s of %s does not exist", c, p)
			}
		}
		switch n.kind() {
		case kindEphemeral:
			eph++
			if _, ok := tr.sessions[n.owner()].ephemerals[p]; !ok {
				t.Fatalf("ephemeral %s not in its session", p)
			}
		case kindContainer:
			if _, ok := tr.containers[p]; !ok {
				t.Fatalf("container %s not indexed", p)
			}
		case kindTTL:
			if _, ok := tr.ttls[p]; !ok {
				t.Fatalf("ttl %s not indexed", p)
			}
		}
	}
	if eph != tr.ephemerals || size != tr.dataSize {
		t.Fatalf("counters: ephemerals %d/%d size %d/%d", eph, tr.ephemerals, size, tr.dataSize)
	}
	if len(refs) != len(tr.acls) {
		t.Fatalf("acl table has %d entries, nodes use %d", len(tr.acls), len(refs))
	}
	for a, n := range refs {
		if a.refs != n || tr.acls[a.key] != a {
			t.Fatalf("acl %v refs %d, want %d", a.acl, a.refs, n)
		}
	}
	for id, s := range tr.sessions {
		for p := range s.ephemerals {
			if n := tr.nodes.get(p); n == nil || n.kind() != kindEphemeral || n.owner() != id {
				t.Fatalf("session %d lists %s", id, p)
			}
		}
	}
	for p := range tr.containers {
		if n := tr.nodes.get(p); n == nil || n.kind() != kindContainer {
			t.Fatalf("container index lists %s", p)
		}
	}
	for p := range tr.ttls {
		if n := tr.nodes.get(p); n == nil || n.kind() != kindTTL {
			t.Fatalf("ttl index lists %s", p)
		}
	}
}

func respBytes(r Result) []byte {
	if r.Resp == nil {
		return nil
	}
	return proto.Marshal(r.Resp)
}

func sameResult(a, b Result) bool {
	if a.Err != b.Err || !bytes.Equal(respBytes(a), respBytes(b)) || len(a.Events) != len(b.Events) {
		return false
	}
	for i := range a.Events {
		if a.Events[i].Type != b.Events[i].Type || a.Events[i].Path != b.Events[i].Path {
			return false
		}
	}
	return true
}

// eventsEqual compares events by type and path (the ACL is the server's business).
func eventsEqual(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || a[i].Path != b[i].Path {
			return false
		}
	}
	return true
}

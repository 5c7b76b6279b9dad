package tree

import (
	"reflect"
	"testing"

	"github.com/corral-io/corral/proto"
)

func TestSessions(t *testing.T) {
	h := newHarness(t)
	if r := h.apply(&Entry{Kind: KindCreateSession, SessionID: 1, Timeout: 30000, Passwd: []byte("pw")}); r.Err != 0 {
		t.Errorf("idempotent create session: %v", r.Err)
	}
	if r := h.apply(&Entry{Kind: KindCreateSession, SessionID: 1, Timeout: 1, Passwd: []byte("pw")}); r.Err != proto.ErrBadArguments {
		t.Errorf("conflicting create session: %v", r.Err)
	}
	h.apply(&Entry{Kind: KindCreateSession, SessionID: 7, Timeout: 4000, Passwd: []byte("p7")})
	if got := h.tree.Sessions(); len(got) != 2 || got[0].ID != 1 || got[1].ID != 7 || got[1].Timeout != 4000 {
		t.Errorf("sessions %+v", got)
	}
	h.mustCreate("/b", 0)
	h.mustCreate("/b/e2", 1)
	h.mustCreate("/a", 1)
	h.sess = 7
	h.mustCreate("/b/other", 1)
	h.sess = 1
	r := h.apply(&Entry{Kind: KindCloseSession, SessionID: 1})
	want := []Event{
		{Type: proto.EventNodeDeleted, Path: "/a"}, {Type: proto.EventNodeChildrenChanged, Path: "/"},
		{Type: proto.EventNodeDeleted, Path: "/b/e2"}, {Type: proto.EventNodeChildrenChanged, Path: "/b"},
	}
	if r.Err != 0 || !eventsEqual(r.Events, want) {
		t.Errorf("close: %v %v", r.Err, r.Events)
	}
	if st := h.stat("/b"); st.Pzxid != h.zxid || st.Cversion != 3 {
		t.Errorf("/b after close %+v", st)
	}
	if _, ok := h.tree.Session(1); ok || h.exists("/a") || !h.exists("/b/other") || h.tree.EphemeralCount() != 1 {
		t.Errorf("session 1 not closed cleanly")
	}
	if r := h.create("/z", nil, 0); r.Err != proto.ErrSessionExpired {
		t.Errorf("write from closed session: %v", r.Err)
	}
	if r := h.apply(&Entry{Kind: KindCloseSession, SessionID: 1}); r.Err != 0 || r.Events != nil {
		t.Errorf("closing unknown session: %+v", r)
	}
	if r := h.tree.Apply(100, &Entry{Kind: Kind(99)}); r.Err != proto.ErrBadArguments {
		t.Errorf("unknown kind: %v", r.Err)
	}
	checkInvariants(t, h.tree)
}

func TestReaping(t *testing.T) {
	h := newHarness(t)
	mk := func(op proto.OpCode, path string, flags int32, ttl int64) {
		if r := h.write(op, &proto.CreateRequest{Path: path, ACL: openACL, Flags: flags, TTL: ttl}); r.Err != 0 {
			t.Fatalf("%s: %v", path, r.Err)
		}
	}
	mk(proto.OpCreateContainer, "/used", 0, 0)
	mk(proto.OpCreateContainer, "/never", 0, 0)
	mk(proto.OpCreateContainer, "/busy", 0, 0)
	mk(proto.OpCreateTTL, "/ttl", 5, 1000)
	mk(proto.OpCreateTTL, "/ttlbusy", 5, 1)
	h.mustCreate("/plain", 0)
	h.mustCreate("/used/k", 0)
	h.mustCreate("/busy/k", 1)
	h.mustCreate("/ttlbusy/k", 0)
	h.write(proto.OpDelete, &proto.DeleteRequest{Path: "/used/k", Version: -1})
	ttlM := h.tree.nodes.get("/ttl").mtime
	neverM := h.tree.nodes.get("/never").mtime
	if got := h.tree.ReapCandidates(ttlM+1000, 0, 0); !reflect.DeepEqual(got, []string{"/used"}) {
		t.Errorf("at ttl boundary: %v", got)
	}
	if got := h.tree.ReapCandidates(ttlM+1001, neverM, 0); !reflect.DeepEqual(got, []string{"/ttl", "/used"}) {
		t.Errorf("after ttl: %v", got)
	}
	if got := h.tree.ReapCandidates(ttlM+1001, 100, 0); !reflect.DeepEqual(got, []string{"/never", "/ttl", "/used"}) {
		t.Errorf("with maxNeverUsed: %v", got)
	}
	if got := h.tree.ReapCandidates(ttlM+1001, 100, 2); len(got) != 2 {
		t.Errorf("limit: %v", got)
	}
	del := func(path string, now, maxNever int64) Result {
		return h.apply(&Entry{Kind: KindDeleteContainer, Path: path, Time: now, MaxNeverUsed: maxNever})
	}
	// A setData refreshes a TTL node's mtime: no longer due at apply time.
	h.write(proto.OpSetData, &proto.SetDataRequest{Path: "/ttl", Version: -1})
	if r := del("/ttl", ttlM+1001, 0); r.Err != proto.ErrBadVersion {
		t.Errorf("refreshed ttl: %v", r.Err)
	}
	for _, c := range []struct {
		path string
		max  int64
		want proto.Code
	}{
		{"/nope", 0, proto.ErrNoNode},
		{"/plain", 0, proto.ErrBadVersion},
		{"/busy", 0, proto.ErrNotEmpty},
		{"/ttlbusy", 0, proto.ErrNotEmpty},
		{"/never", 0, proto.ErrBadVersion},
		{"/never", 1, proto.ErrOK},
		{"/used", 0, proto.ErrOK},
	} {
		r := del(c.path, ttlM+5000, c.max)
		if r.Err != c.want {
			t.Errorf("deleteContainer %s: %v, want %v", c.path, r.Err, c.want)
		}
		if r.Err == 0 && !eventsEqual(r.Events, []Event{{Type: proto.EventNodeDeleted, Path: c.path}, {Type: proto.EventNodeChildrenChanged, Path: "/"}}) {
			t.Errorf("events %v", r.Events)
		}
	}
	// Closing the session that owns the busy container's only child makes it due.
	h.apply(&Entry{Kind: KindCloseSession, SessionID: 1})
	if got := h.tree.ReapCandidates(ttlM+5000, 0, 0); !reflect.DeepEqual(got, []string{"/busy", "/ttl"}) {
		t.Errorf("after close: %v", got)
	}
	checkInvariants(t, h.tree)
}

// TestSessionRequest: a session's first write with its creation folded in opens the
// session and applies the write in one entry; the session is then as if created by
// KindCreateSession, and a conflicting fold changes nothing.
func TestSessionRequest(t *testing.T) {
	h := newHarness(t)
	body := encodeReq(proto.OpCreate, &proto.CreateRequest{Path: "/e", ACL: openACL, Flags: 1})
	r := h.apply(&Entry{Kind: KindSessionRequest, SessionID: 9, Timeout: 6000, Passwd: []byte("p9"), Op: proto.OpCreate, Body: body, Auth: ipAuth})
	if r.Err != 0 || r.Resp.(*proto.CreateResponse).Path != "/e" {
		t.Fatalf("folded create: %v %+v", r.Err, r.Resp)
	}
	si, ok := h.tree.Session(9)
	if !ok || si.Timeout != 6000 || string(si.Passwd) != "p9" || si.Created != h.now {
		t.Fatalf("session after folded create: %+v %v", si, ok)
	}
	if st := h.stat("/e"); st.EphemeralOwner != 9 || st.Czxid != h.zxid {
		t.Errorf("ephemeral /e: %+v", st)
	}
	// The write fails, the session is still opened: the two halves are independent.
	r = h.apply(&Entry{Kind: KindSessionRequest, SessionID: 10, Timeout: 6000, Passwd: []byte("p10"), Op: proto.OpCreate, Body: body, Auth: ipAuth})
	if _, ok := h.tree.Session(10); r.Err != proto.ErrNodeExists || !ok {
		t.Errorf("failed folded create: %v, session opened %v", r.Err, ok)
	}
	// Again for an open session with the same parameters: only the write.
	body2 := encodeReq(proto.OpCreate, &proto.CreateRequest{Path: "/f", ACL: openACL})
	if r := h.apply(&Entry{Kind: KindSessionRequest, SessionID: 9, Timeout: 6000, Passwd: []byte("p9"), Op: proto.OpCreate, Body: body2, Auth: ipAuth}); r.Err != 0 {
		t.Errorf("fold for an open session: %v", r.Err)
	}
	// Conflicting parameters: refused, and the write is not applied.
	body3 := encodeReq(proto.OpCreate, &proto.CreateRequest{Path: "/g", ACL: openACL})
	if r := h.apply(&Entry{Kind: KindSessionRequest, SessionID: 9, Timeout: 1, Passwd: []byte("p9"), Op: proto.OpCreate, Body: body3, Auth: ipAuth}); r.Err != proto.ErrBadArguments || h.exists("/g") {
		t.Errorf("conflicting fold: %v, /g exists %v", r.Err, h.exists("/g"))
	}
	if r := h.apply(&Entry{Kind: KindCloseSession, SessionID: 9}); r.Err != 0 || h.exists("/e") {
		t.Errorf("close of a folded session: %v, /e exists %v", r.Err, h.exists("/e"))
	}
	checkInvariants(t, h.tree)
}

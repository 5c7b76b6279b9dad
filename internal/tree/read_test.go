package tree

import (
	"reflect"
	"testing"

	"github.com/corral-io/corral/proto"
)

func TestReads(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/a", 0)
	h.mustCreate("/a/b", 0)
	h.mustCreate("/a/b/c", 0)
	h.mustCreate("/a/a", 1)
	digest := []proto.ACL{{Perms: proto.PermRead, ID: proto.ID{Scheme: "digest", ID: "u:hash"}}, {Perms: proto.PermAdmin, ID: proto.ID{Scheme: "ip", ID: "10.0.0.0/8"}}}
	h.write(proto.OpCreate, &proto.CreateRequest{Path: "/s", ACL: digest})
	h.write(proto.OpCreate, &proto.CreateRequest{Path: "/d5", ACL: []proto.ACL{{Perms: 0, ID: proto.ID{Scheme: "world", ID: "anyone"}}}})
	h.write(proto.OpCreate, &proto.CreateRequest{Path: "/dup", ACL: append(openACL, openACL...)})
	pw := func(p string) *proto.PathWatchRequest { return &proto.PathWatchRequest{Path: p} }
	user := []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "u:hash"}}
	admin := []proto.ID{{Scheme: "ip", ID: "10.1.2.3"}}
	cases := []struct {
		name string
		auth []proto.ID
		op   proto.OpCode
		req  proto.Record
		err  proto.Code
		resp proto.Record
	}{
		{"getChildren sorted", ipAuth, proto.OpGetChildren, pw("/a"), 0, &proto.GetChildrenResponse{Children: []string{"a", "b"}}},
		{"getChildren leaf", ipAuth, proto.OpGetChildren, pw("/a/b/c"), 0, &proto.GetChildrenResponse{Children: []string{}}},
		{"getChildren root via empty", ipAuth, proto.OpGetChildren, pw(""), 0, &proto.GetChildrenResponse{Children: []string{"a", "d5", "dup", "s", "zookeeper"}}},
		{"getChildren missing", ipAuth, proto.OpGetChildren, pw("/x"), proto.ErrNoNode, nil},
		{"getChildren relative", ipAuth, proto.OpGetChildren, pw("a"), proto.ErrNoNode, nil},
		{"getChildren trailing slash", ipAuth, proto.OpGetChildren, pw("/a/"), proto.ErrNoNode, nil},
		{"getChildren no READ", ipAuth, proto.OpGetChildren, pw("/s"), proto.ErrNoAuth, nil},
		{"getData no READ", ipAuth, proto.OpGetData, pw("/s"), proto.ErrNoAuth, nil},
		{"getData with digest id", user, proto.OpGetData, pw("/s"), 0, nil},
		{"getData NUL is NONODE", ipAuth, proto.OpGetData, pw("/a\x00"), proto.ErrNoNode, nil},
		{"exists NUL", ipAuth, proto.OpExists, pw("/a\x00"), proto.ErrBadArguments, nil},
		{"exists needs no perm", ipAuth, proto.OpExists, pw("/d5"), 0, nil},
		{"exists dot path", ipAuth, proto.OpExists, pw("/a/./b"), proto.ErrNoNode, nil},
		{"exists null path", ipAuth, proto.OpExists, rawRecord{0xff, 0xff, 0xff, 0xff, 0}, proto.ErrMarshallingError, nil},
		{"getData truncated", ipAuth, proto.OpGetData, rawRecord{0, 0}, proto.ErrMarshallingError, nil},
		{"getACL perms 0", ipAuth, proto.OpGetACL, &proto.PathRequest{Path: "/d5"}, proto.ErrNoAuth, nil},
		{"getACL no perm", ipAuth, proto.OpGetACL, &proto.PathRequest{Path: "/s"}, proto.ErrNoAuth, nil},
		{"getACL READ only redacts digest", user, proto.OpGetACL, &proto.PathRequest{Path: "/s"}, 0, &proto.GetACLResponse{ACL: []proto.ACL{{Perms: proto.PermRead, ID: proto.ID{Scheme: "digest", ID: "u:x"}}, digest[1]}}},
		{"getACL ADMIN via ip cidr", admin, proto.OpGetACL, &proto.PathRequest{Path: "/s"}, 0, &proto.GetACLResponse{ACL: digest}},
		{"getACL super", []proto.ID{{Scheme: "super", ID: ""}}, proto.OpGetACL, &proto.PathRequest{Path: "/s"}, 0, &proto.GetACLResponse{ACL: digest}},
		{"getACL duplicates collapsed", ipAuth, proto.OpGetACL, &proto.PathRequest{Path: "/dup"}, 0, nil},
		{"getACL missing", ipAuth, proto.OpGetACL, &proto.PathRequest{Path: "/x"}, proto.ErrNoNode, nil},
		{"getAllChildrenNumber", ipAuth, proto.OpGetAllChildrenNum, &proto.PathRequest{Path: "/a"}, 0, &proto.IntResponse{Value: 3}},
		{"getAllChildrenNumber root", ipAuth, proto.OpGetAllChildrenNum, &proto.PathRequest{Path: "/"}, 0, &proto.IntResponse{Value: 10}},
		{"getAllChildrenNumber empty path", ipAuth, proto.OpGetAllChildrenNum, &proto.PathRequest{Path: ""}, 0, &proto.IntResponse{Value: 11}},
		{"getAllChildrenNumber missing", ipAuth, proto.OpGetAllChildrenNum, &proto.PathRequest{Path: "/x"}, proto.ErrNoNode, nil},
		{"getAllChildrenNumber no READ", ipAuth, proto.OpGetAllChildrenNum, &proto.PathRequest{Path: "/s"}, proto.ErrNoAuth, nil},
		{"getEphemerals all", ipAuth, proto.OpGetEphemerals, &proto.PathRequest{Path: "/"}, 0, &proto.StringsResponse{Values: []string{"/a/a"}}},
		{"getEphemerals empty", ipAuth, proto.OpGetEphemerals, &proto.PathRequest{Path: " "}, 0, &proto.StringsResponse{Values: []string{"/a/a"}}},
		{"getEphemerals string prefix", ipAuth, proto.OpGetEphemerals, &proto.PathRequest{Path: "/a/"}, 0, &proto.StringsResponse{Values: []string{"/a/a"}}},
		{"getEphemerals other prefix", ipAuth, proto.OpGetEphemerals, &proto.PathRequest{Path: "/b"}, 0, &proto.StringsResponse{Values: []string{}}},
		{"unknown read", ipAuth, proto.OpSync, &proto.PathRequest{Path: "/"}, proto.ErrUnimplemented, nil},
		{"multiRead", ipAuth, proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{
			{Type: proto.OpGetChildren, Read: proto.PathWatchRequest{Path: "/a"}},
			{Type: proto.OpGetData, Read: proto.PathWatchRequest{Path: "/nope"}},
			{Type: proto.OpGetData, Read: proto.PathWatchRequest{Path: "/s"}},
		}}, 0, &proto.MultiResponse{Results: []proto.MultiResult{
			{Type: proto.OpGetChildren, Children: []string{"a", "b"}},
			{Type: proto.OpError, Err: proto.ErrNoNode},
			{Type: proto.OpError, Err: proto.ErrNoAuth},
		}}},
		{"multiRead empty", ipAuth, proto.OpMultiRead, &proto.MultiRequest{}, 0, &proto.MultiResponse{Results: []proto.MultiResult{}}},
		{"multiRead with a write", ipAuth, proto.OpMultiRead, &proto.MultiRequest{Ops: []proto.MultiOp{
			{Type: proto.OpCreate, Create: proto.CreateRequest{Path: "/z", ACL: openACL}}}}, proto.ErrMarshallingError, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := h.tree.Read(h.sess, c.auth, c.op, encodeReq(c.op, c.req))
			if r.Err != c.err {
				t.Fatalf("err %v, want %v", r.Err, c.err)
			}
			if g, ok := c.resp.(*proto.GetACLResponse); ok {
				g.Stat = r.Resp.(*proto.GetACLResponse).Stat
			}
			if c.resp != nil && !reflect.DeepEqual(respBytes(r), proto.Marshal(c.resp)) {
				t.Errorf("resp %+v, want %+v", r.Resp, c.resp)
			}
		})
	}
	r := h.read(proto.OpGetACL, &proto.PathRequest{Path: "/dup"})
	if acl := r.Resp.(*proto.GetACLResponse).ACL; len(acl) != 1 {
		t.Errorf("duplicate ACL entries not collapsed: %v", acl)
	}
	// Another session sees none of these ephemerals.
	if r := h.tree.Read(99, ipAuth, proto.OpGetEphemerals, proto.Marshal(&proto.PathRequest{Path: "/"})); len(r.Resp.(*proto.StringsResponse).Values) != 0 {
		t.Errorf("foreign ephemerals: %v", r.Resp)
	}
	// getChildren2 and getData stats.
	r = h.read(proto.OpGetChildren2, pw("/a"))
	if st := r.Resp.(*proto.GetChildren2Response).Stat; st != h.stat("/a") || st.NumChildren != 2 {
		t.Errorf("getChildren2 stat %+v", st)
	}
}

func TestAuthACL(t *testing.T) {
	h := newHarness(t)
	h.auth = []proto.ID{{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "u:h1"}, {Scheme: "x509", ID: "CN=a"}}
	r := h.write(proto.OpCreate, &proto.CreateRequest{Path: "/au", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "auth", ID: "ignored"}}, {Perms: 1, ID: proto.ID{Scheme: "world", ID: "anyone"}}}})
	if r.Err != 0 {
		t.Fatal(r.Err)
	}
	got := h.read(proto.OpGetACL, &proto.PathRequest{Path: "/au"}).Resp.(*proto.GetACLResponse).ACL
	want := []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "digest", ID: "u:h1"}}, {Perms: 31, ID: proto.ID{Scheme: "x509", ID: "CN=a"}}, {Perms: 1, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("auth ACL expanded to %v", got)
	}
	// Another caller can read (world r) but not write.
	h.auth = ipAuth
	if r := h.write(proto.OpSetData, &proto.SetDataRequest{Path: "/au", Version: -1}); r.Err != proto.ErrNoAuth {
		t.Errorf("setData by stranger: %v", r.Err)
	}
	h.auth = []proto.ID{{Scheme: "ip", ID: "10.0.0.1"}, {Scheme: "digest", ID: "u:h1"}}
	if r := h.write(proto.OpSetData, &proto.SetDataRequest{Path: "/au", Version: -1}); r.Err != 0 {
		t.Errorf("setData by owner: %v", r.Err)
	}
}

// Permits answers as the ACL checks of requests do: /zookeeper/config
// (world:anyone r) is readable by anyone, writable only by the super id; a missing
// node permits nothing.
func TestPermits(t *testing.T) {
	tr := New()
	super := []proto.ID{{Scheme: "super", ID: ""}}
	for _, c := range []struct {
		path string
		perm int32
		auth []proto.ID
		want bool
	}{
		{"/zookeeper/config", proto.PermRead, ipAuth, true},
		{"/zookeeper/config", proto.PermWrite, ipAuth, false},
		{"/zookeeper/config", proto.PermWrite, super, true},
		{"/missing", proto.PermRead, super, false},
	} {
		if got := tr.Permits(c.path, c.perm, c.auth); got != c.want {
			t.Errorf("Permits(%s, %d, %v) = %v, want %v", c.path, c.perm, c.auth, got, c.want)
		}
	}
}

package tree

import (
	"math"
	"reflect"
	"testing"

	"github.com/corral-io/corral/proto"
)

func TestNewTree(t *testing.T) {
	h := newHarness(t)
	want := map[string]proto.Stat{
		"/":                 {Cversion: -1, NumChildren: 1},
		"":                  {Cversion: -1, NumChildren: 1},
		"/zookeeper":        {Cversion: -2, NumChildren: 2},
		"/zookeeper/config": {Aversion: -1},
		"/zookeeper/quota":  {},
	}
	for p, st := range want {
		if got := h.stat(p); got != st {
			t.Errorf("%q: stat %+v, want %+v", p, got, st)
		}
	}
	r := h.read(proto.OpGetACL, &proto.PathRequest{Path: "/zookeeper/config"})
	if got := r.Resp.(*proto.GetACLResponse).ACL; !reflect.DeepEqual(got, proto.WorldACL(proto.PermRead)) {
		t.Errorf("config ACL %v", got)
	}
	r = h.read(proto.OpGetData, &proto.PathWatchRequest{Path: "/zookeeper/quota"})
	if d := r.Resp.(*proto.GetDataResponse).Data; d == nil || len(d) != 0 {
		t.Errorf("quota data %v, want empty non-null", d)
	}
	if h.tree.NodeCount() != 4 || h.tree.LastZxid() != 1 {
		t.Errorf("count %d zxid %d", h.tree.NodeCount(), h.tree.LastZxid())
	}
	checkInvariants(t, h.tree)
}

func TestCreateStats(t *testing.T) {
	h := newHarness(t)
	r := h.write(proto.OpCreate2, &proto.CreateRequest{Path: "/a", Data: []byte("hello"), ACL: openACL})
	zx, now := h.zxid, h.now
	want := proto.Stat{Czxid: zx, Mzxid: zx, Pzxid: zx, Ctime: now, Mtime: now, DataLength: 5}
	if r.Err != 0 || r.Resp.(*proto.Create2Response).Stat != want || r.Resp.(*proto.Create2Response).Path != "/a" {
		t.Fatalf("create2: %+v %+v", r.Err, r.Resp)
	}
	wantEv := []Event{{Type: proto.EventNodeCreated, Path: "/a"}, {Type: proto.EventNodeChildrenChanged, Path: "/"}}
	if !eventsEqual(r.Events, wantEv) {
		t.Errorf("events %v", r.Events)
	}
	if st := h.stat("/"); st != (proto.Stat{Cversion: 0, NumChildren: 2, Pzxid: zx}) {
		t.Errorf("root after create: %+v", st)
	}
	// Children: cversion = creates + deletes; parent mzxid/mtime/version untouched.
	h.mustCreate("/a/x", 0)
	h.mustCreate("/a/y", 0)
	if r := h.write(proto.OpDelete, &proto.DeleteRequest{Path: "/a/x", Version: -1}); r.Err != 0 ||
		!eventsEqual(r.Events, []Event{{Type: proto.EventNodeDeleted, Path: "/a/x"}, {Type: proto.EventNodeChildrenChanged, Path: "/a"}}) {
		t.Fatalf("delete: %v %v", r.Err, r.Events)
	}
	st := h.stat("/a")
	if st.Cversion != 3 || st.NumChildren != 1 || st.Pzxid != h.zxid || st.Mzxid != zx || st.Version != 0 || st.Mtime != now {
		t.Errorf("/a after 2 creates 1 delete: %+v", st)
	}
	if p := h.mustCreate("/a/s-", proto.ModePersistentSequential); p != "/a/s-0000000002" {
		t.Errorf("sequential name %s", p)
	}
	// setData: identical data still bumps the version.
	for i := 1; i <= 2; i++ {
		r := h.write(proto.OpSetData, &proto.SetDataRequest{Path: "/a", Data: []byte("hello"), Version: -1})
		st := r.Resp.(*proto.StatResponse).Stat
		if r.Err != 0 || st.Version != int32(i) || st.Mzxid != h.zxid || st.Mtime != h.now || st.Czxid != zx {
			t.Fatalf("setData %d: %v %+v", i, r.Err, st)
		}
		if !eventsEqual(r.Events, []Event{{Type: proto.EventNodeDataChanged, Path: "/a"}}) {
			t.Errorf("setData events %v", r.Events)
		}
	}
	// setACL bumps aversion only.
	before := h.stat("/a")
	r = h.write(proto.OpSetACL, &proto.SetACLRequest{Path: "/a", ACL: proto.WorldACL(proto.PermRead | proto.PermAdmin), Version: 0})
	after := r.Resp.(*proto.StatResponse).Stat
	before.Aversion = 1
	if r.Err != 0 || after != before || len(r.Events) != 0 {
		t.Errorf("setACL: %v %+v want %+v", r.Err, after, before)
	}
	// null data stays null; empty stays empty.
	h.write(proto.OpCreate, &proto.CreateRequest{Path: "/null", ACL: openACL})
	h.write(proto.OpCreate, &proto.CreateRequest{Path: "/empty", Data: []byte{}, ACL: openACL})
	if d := h.read(proto.OpGetData, &proto.PathWatchRequest{Path: "/null"}).Resp.(*proto.GetDataResponse).Data; d != nil {
		t.Errorf("null data read back as %v", d)
	}
	if d := h.read(proto.OpGetData, &proto.PathWatchRequest{Path: "/empty"}).Resp.(*proto.GetDataResponse).Data; d == nil {
		t.Errorf("empty data read back as null")
	}
	checkInvariants(t, h.tree)
}

func TestSequentialCounter(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/q", 0)
	h.mustCreate("/q/a", 0)
	h.mustCreate("/q/b", 0)
	h.write(proto.OpDelete, &proto.DeleteRequest{Path: "/q/a", Version: -1})
	if st := h.stat("/q"); st.Cversion != 3 {
		t.Errorf("cversion %d, want 3", st.Cversion)
	}
	if p := h.mustCreate("/q/", proto.ModeEphemeralSequential); p != "/q/0000000002" {
		t.Errorf("got %s", p)
	}
	// A failed create does not consume a sequence number.
	h.write(proto.OpCreate, &proto.CreateRequest{Path: "/q/n", ACL: nil, Flags: 2})
	if p := h.mustCreate("/q/n", 2); p != "/q/n0000000003" {
		t.Errorf("got %s", p)
	}
	// The counter is an int: past MaxInt32 the suffix is printed signed.
	q := h.tree.nodes.get("/q")
	h.tree.setParentStat("/q", q, math.MaxInt32, q.pzxid())
	if p := h.mustCreate("/q/o", 2); p != "/q/o2147483647" {
		t.Errorf("got %s", p)
	}
	if p := h.mustCreate("/q/o", 2); p != "/q/o-2147483648" {
		t.Errorf("got %s", p)
	}
	checkInvariants(t, h.tree)
}

func TestKinds(t *testing.T) {
	h := newHarness(t)
	h.sess = 0x1234
	h.apply(&Entry{Kind: KindCreateSession, SessionID: 0x1234, Timeout: 4000})
	cases := []struct {
		op    proto.OpCode
		path  string
		flags int32
		ttl   int64
		want  string
		kind  nodeKind
		owner int64
	}{
		{proto.OpCreate, "/p", 0, 0, "/p", kindPersistent, 0},
		{proto.OpCreate, "/e", 1, 0, "/e", kindEphemeral, 0x1234},
		{proto.OpCreate, "/ps", 2, 0, "/ps0000000002", kindPersistent, 0},
		{proto.OpCreate, "/es", 3, 0, "/es0000000003", kindEphemeral, 0x1234},
		{proto.OpCreate, "/f4", 4, 0, "/f4", kindPersistent, 0}, // observed: not a container
		{proto.OpCreate2, "/f24", 4, 0, "/f24", kindPersistent, 0},
		{proto.OpCreateContainer, "/c0", 0, 0, "/c0", kindContainer, 0},
		{proto.OpCreateContainer, "/c1", 1, 0, "/c1", kindContainer, 0},
		{proto.OpCreateContainer, "/c2", 2, 0, "/c20000000008", kindContainer, 0},
		{proto.OpCreateContainer, "/c4", 4, 0, "/c4", kindContainer, 0},
		{proto.OpCreateTTL, "/t", 5, 1000, "/t", kindTTL, 1000},
		{proto.OpCreateTTL, "/ts", 6, proto.MaxTTL, "/ts0000000011", kindTTL, proto.MaxTTL},
	}
	for _, c := range cases {
		r := h.write(c.op, &proto.CreateRequest{Path: c.path, ACL: openACL, Flags: c.flags, TTL: c.ttl})
		if r.Err != 0 {
			t.Fatalf("%v %s flags %d: %v", c.op, c.path, c.flags, r.Err)
		}
		n := h.tree.nodes.get(c.want)
		if n == nil || n.kind() != c.kind || n.owner() != c.owner {
			t.Errorf("%v %s flags %d: node %+v", c.op, c.want, c.flags, n)
			continue
		}
		wantOwner := int64(0)
		if c.kind == kindEphemeral {
			wantOwner = 0x1234
		}
		if st := h.stat(c.want); st.EphemeralOwner != wantOwner {
			t.Errorf("%s: ephemeralOwner %x", c.want, st.EphemeralOwner)
		}
		if c.op != proto.OpCreate {
			if _, ok := r.Resp.(*proto.Create2Response); !ok {
				t.Errorf("%v answered %T", c.op, r.Resp)
			}
		}
	}
	if got := h.tree.nodes.get("/t").internalOwner(); uint64(got) != 0xff000000000003e8 {
		t.Errorf("internal TTL owner %x", got)
	}
	if got := h.tree.nodes.get("/c0").internalOwner(); got != proto.ContainerOwner {
		t.Errorf("internal container owner %x", got)
	}
	if eph := h.tree.Ephemerals(0x1234); !reflect.DeepEqual(eph, []string{"/e", "/es0000000003"}) {
		t.Errorf("ephemerals %v", eph)
	}
	if h.tree.EphemeralCount() != 2 {
		t.Errorf("EphemeralCount %d", h.tree.EphemeralCount())
	}
	checkInvariants(t, h.tree)
}

func TestWriteErrors(t *testing.T) {
	digestACL := []proto.ACL{{Perms: proto.PermRead, ID: proto.ID{Scheme: "digest", ID: "u:abc"}}}
	setup := func(h *harness) {
		h.mustCreate("/p", 0)
		h.mustCreate("/p/c", 0)
		h.mustCreate("/eph", 1)
		h.write(proto.OpCreate, &proto.CreateRequest{Path: "/ro", ACL: digestACL})
		h.write(proto.OpCreateTTL, &proto.CreateRequest{Path: "/ttl", ACL: openACL, Flags: 5, TTL: 10})
	}
	cr := func(path string, flags int32) *proto.CreateRequest {
		return &proto.CreateRequest{Path: path, ACL: openACL, Flags: flags}
	}
	acl := func(scheme, id string) []proto.ACL {
		return []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: scheme, ID: id}}}
	}
	cases := []struct {
		name string
		op   proto.OpCode
		req  proto.Record
		want proto.Code
	}{
		{"create empty path", proto.OpCreate, cr("", 0), proto.ErrBadArguments},
		{"create relative", proto.OpCreate, cr("x", 0), proto.ErrBadArguments},
		{"create root", proto.OpCreate, cr("/", 0), proto.ErrNodeExists},
		{"create exists", proto.OpCreate, cr("/p", 0), proto.ErrNodeExists},
		{"create no parent", proto.OpCreate, cr("/x/y", 0), proto.ErrNoNode},
		{"create trailing slash missing parent", proto.OpCreate, cr("/x/a/", 0), proto.ErrNoNode},
		{"create trailing slash", proto.OpCreate, cr("/p/", 0), proto.ErrBadArguments},
		{"create //", proto.OpCreate, cr("//", 0), proto.ErrBadArguments},
		{"create dot", proto.OpCreate, cr("/p/.", 0), proto.ErrBadArguments},
		{"create dotdot", proto.OpCreate, cr("/p/..", 0), proto.ErrBadArguments},
		{"create dot in middle", proto.OpCreate, cr("/p/./x", 0), proto.ErrNoNode},
		{"create dots ok", proto.OpCreate, cr("/p/...", 0), proto.ErrOK},
		{"create .a ok", proto.OpCreate, cr("/p/.a", 0), proto.ErrOK},
		{"create NUL", proto.OpCreate, cr("/p/a\x00b", 0), proto.ErrBadArguments},
		{"create control", proto.OpCreate, cr("/p/\x1f", 0), proto.ErrBadArguments},
		{"create DEL", proto.OpCreate, cr("/p/\x7f", 0), proto.ErrBadArguments},
		{"create C1 control", proto.OpCreate, cr("/p/\u0080", 0), proto.ErrBadArguments},
		{"create emoji", proto.OpCreate, cr("/p/\U0001F600", 0), proto.ErrBadArguments},
		{"create private use", proto.OpCreate, cr("/p/\ue000", 0), proto.ErrBadArguments},
		{"create U+FFFD", proto.OpCreate, cr("/p/\ufffd", 0), proto.ErrBadArguments},
		{"create bad utf8", proto.OpCreate, cr("/p/\xff", 0), proto.ErrBadArguments},
		{"create U+F900 ok", proto.OpCreate, cr("/p/\uf900", 0), proto.ErrOK},
		{"create U+FFEF ok", proto.OpCreate, cr("/p/\uffef", 0), proto.ErrOK},
		{"create e-acute ok", proto.OpCreate, cr("/p/é", 0), proto.ErrOK},
		{"create flags 7", proto.OpCreate, cr("/n", 7), proto.ErrBadArguments},
		{"create flags -1", proto.OpCreate, cr("/n", -1), proto.ErrBadArguments},
		{"create flags 5", proto.OpCreate, cr("/n", 5), proto.ErrBadArguments},
		{"create2 flags 6", proto.OpCreate2, cr("/n", 6), proto.ErrBadArguments},
		{"createContainer flags 5", proto.OpCreateContainer, cr("/n", 5), proto.ErrBadArguments},
		{"createTTL ttl 0", proto.OpCreateTTL, &proto.CreateRequest{Path: "/n", ACL: openACL, Flags: 5, TTL: 0}, proto.ErrBadArguments},
		{"createTTL ttl max+1", proto.OpCreateTTL, &proto.CreateRequest{Path: "/n", ACL: openACL, Flags: 5, TTL: proto.MaxTTL + 1}, proto.ErrBadArguments},
		{"createTTL flags 0", proto.OpCreateTTL, &proto.CreateRequest{Path: "/n", ACL: openACL, Flags: 0, TTL: 5}, proto.ErrBadArguments},
		{"createTTL flags 2 negative ttl", proto.OpCreateTTL, &proto.CreateRequest{Path: "/n", ACL: openACL, Flags: 2, TTL: -1}, proto.ErrBadArguments},
		{"createTTL flags 4", proto.OpCreateTTL, &proto.CreateRequest{Path: "/n", ACL: openACL, Flags: 4, TTL: 5}, proto.ErrBadArguments},
		{"bad flags before bad acl", proto.OpCreate, &proto.CreateRequest{Path: "/zz/a", Flags: 9}, proto.ErrBadArguments},
		{"bad acl before no parent", proto.OpCreate, &proto.CreateRequest{Path: "/zz/a"}, proto.ErrInvalidACL},
		{"acl unknown scheme", proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: acl("sasl", "a")}, proto.ErrInvalidACL},
		{"acl super", proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: acl("super", "a")}, proto.ErrInvalidACL},
		{"acl world:foo", proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: acl("world", "foo")}, proto.ErrInvalidACL},
		{"acl digest no colon", proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: acl("digest", "abc")}, proto.ErrInvalidACL},
		{"acl digest trailing colon", proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: acl("digest", "a:")}, proto.ErrInvalidACL},
		{"acl digest leading colon ok", proto.OpCreate, &proto.CreateRequest{Path: "/n1", ACL: acl("digest", ":a")}, proto.ErrOK},
		{"acl ip bits 33", proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: acl("ip", "10.0.0.0/33")}, proto.ErrInvalidACL},
		{"acl ip short", proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: acl("ip", "127.1")}, proto.ErrInvalidACL},
		{"acl ipv6", proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: acl("ip", "::1/128")}, proto.ErrInvalidACL},
		{"acl ip cidr ok", proto.OpCreate, &proto.CreateRequest{Path: "/n2", ACL: acl("ip", "10.0.0.0/8")}, proto.ErrOK},
		{"acl auth unauthenticated", proto.OpCreate, &proto.CreateRequest{Path: "/n", ACL: acl("auth", "")}, proto.ErrInvalidACL},
		{"acl perms 0 ok", proto.OpCreate, &proto.CreateRequest{Path: "/n3", ACL: []proto.ACL{{Perms: 0, ID: proto.ID{Scheme: "world", ID: "anyone"}}}}, proto.ErrOK},
		{"create no CREATE perm", proto.OpCreate, cr("/ro/x", 0), proto.ErrNoAuth},
		{"create under ephemeral", proto.OpCreate, cr("/eph/x", 0), proto.ErrNoChildrenForEphemerals},
		{"create seq under ephemeral", proto.OpCreate, cr("/eph/x", 2), proto.ErrNoChildrenForEphemerals},
		{"create under TTL ok", proto.OpCreate, cr("/ttl/x", 1), proto.ErrOK},
		{"delete empty", proto.OpDelete, &proto.DeleteRequest{Path: "", Version: -1}, proto.ErrBadArguments},
		{"delete relative", proto.OpDelete, &proto.DeleteRequest{Path: "rel", Version: -1}, proto.ErrBadArguments},
		{"delete root", proto.OpDelete, &proto.DeleteRequest{Path: "/", Version: -1}, proto.ErrBadArguments},
		{"delete /zookeeper", proto.OpDelete, &proto.DeleteRequest{Path: "/zookeeper", Version: -1}, proto.ErrBadArguments},
		{"delete quota", proto.OpDelete, &proto.DeleteRequest{Path: "/zookeeper/quota", Version: -1}, proto.ErrBadArguments},
		{"delete config", proto.OpDelete, &proto.DeleteRequest{Path: "/zookeeper/config", Version: -1}, proto.ErrBadArguments},
		{"delete trailing slash", proto.OpDelete, &proto.DeleteRequest{Path: "/p/", Version: -1}, proto.ErrNoNode},
		{"delete missing", proto.OpDelete, &proto.DeleteRequest{Path: "/nope", Version: -1}, proto.ErrNoNode},
		{"delete no DELETE perm before NONODE", proto.OpDelete, &proto.DeleteRequest{Path: "/ro/x", Version: -1}, proto.ErrNoAuth},
		{"delete bad version before NOTEMPTY", proto.OpDelete, &proto.DeleteRequest{Path: "/p", Version: 5}, proto.ErrBadVersion},
		{"delete not empty", proto.OpDelete, &proto.DeleteRequest{Path: "/p", Version: 0}, proto.ErrNotEmpty},
		{"delete ok", proto.OpDelete, &proto.DeleteRequest{Path: "/p/c", Version: 0}, proto.ErrOK},
		{"delete /zookeeper child ok", proto.OpDelete, &proto.DeleteRequest{Path: "/zookeeper/x", Version: -1}, proto.ErrNoNode},
		{"setData empty", proto.OpSetData, &proto.SetDataRequest{Path: "", Version: -1}, proto.ErrBadArguments},
		{"setData bad path", proto.OpSetData, &proto.SetDataRequest{Path: "/p/", Version: -1}, proto.ErrBadArguments},
		{"setData missing", proto.OpSetData, &proto.SetDataRequest{Path: "/nope", Version: -1}, proto.ErrNoNode},
		{"setData no WRITE", proto.OpSetData, &proto.SetDataRequest{Path: "/ro", Version: 7}, proto.ErrNoAuth},
		{"setData bad version", proto.OpSetData, &proto.SetDataRequest{Path: "/p", Version: 3}, proto.ErrBadVersion},
		{"setData config", proto.OpSetData, &proto.SetDataRequest{Path: "/zookeeper/config", Version: -1}, proto.ErrNoAuth},
		{"setData /zookeeper ok", proto.OpSetData, &proto.SetDataRequest{Path: "/zookeeper", Version: -1}, proto.ErrOK},
		{"setACL bad path first", proto.OpSetACL, &proto.SetACLRequest{Path: "/zz/", Version: -1}, proto.ErrBadArguments},
		{"setACL bad acl before NONODE", proto.OpSetACL, &proto.SetACLRequest{Path: "/zz", Version: -1}, proto.ErrInvalidACL},
		{"setACL missing", proto.OpSetACL, &proto.SetACLRequest{Path: "/zz", ACL: openACL, Version: -1}, proto.ErrNoNode},
		{"setACL no ADMIN", proto.OpSetACL, &proto.SetACLRequest{Path: "/ro", ACL: openACL, Version: -1}, proto.ErrNoAuth},
		{"setACL config", proto.OpSetACL, &proto.SetACLRequest{Path: "/zookeeper/config", ACL: openACL, Version: -1}, proto.ErrNoAuth},
		{"setACL bad version", proto.OpSetACL, &proto.SetACLRequest{Path: "/p", ACL: openACL, Version: 1}, proto.ErrBadVersion},
		{"check bad path", proto.OpCheck, &proto.DeleteRequest{Path: "/p/", Version: -1}, proto.ErrBadArguments},
		{"check empty", proto.OpCheck, &proto.DeleteRequest{Path: "", Version: -1}, proto.ErrBadArguments},
		{"check missing", proto.OpCheck, &proto.DeleteRequest{Path: "/nope", Version: -1}, proto.ErrNoNode},
		{"check no READ", proto.OpCheck, &proto.DeleteRequest{Path: "/ro", Version: -1}, proto.ErrNoAuth},
		{"check bad version", proto.OpCheck, &proto.DeleteRequest{Path: "/p", Version: 2}, proto.ErrBadVersion},
		{"check ok", proto.OpCheck, &proto.DeleteRequest{Path: "/p", Version: 0}, proto.ErrOK},
		{"unknown op", proto.OpCode(77), &proto.PathRequest{Path: "/p"}, proto.ErrUnimplemented},
		{"sync via apply", proto.OpSync, &proto.PathRequest{Path: "/p"}, proto.ErrUnimplemented},
		{"deleteContainer op from a client", proto.OpDeleteContainer, &proto.PathRequest{Path: "/p"}, proto.ErrUnimplemented},
		{"truncated create", proto.OpCreate, &proto.PathRequest{Path: "/p"}, proto.ErrMarshallingError},
		{"truncated createTTL", proto.OpCreateTTL, cr("/x", 5), proto.ErrMarshallingError},
		{"null path", proto.OpCreate, rawRecord{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, proto.ErrMarshallingError},
		{"null path delete", proto.OpDelete, rawRecord{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, proto.ErrMarshallingError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			setup(h)
			before := dump(h.tree)
			var body []byte
			if c.name == "truncated createTTL" {
				body = proto.Marshal(c.req) // no ttl field
			} else {
				body = encodeReq(c.op, c.req)
			}
			r := h.apply(&Entry{Kind: KindRequest, SessionID: h.sess, Op: c.op, Body: body, Auth: h.auth})
			if r.Err != c.want {
				t.Fatalf("got %v, want %v", r.Err, c.want)
			}
			if r.Err != 0 {
				if r.Resp != nil || r.Events != nil {
					t.Errorf("failed write returned %v %v", r.Resp, r.Events)
				}
				h.tree.lastZxid-- // the failed write consumed the zxid only
				if dump(h.tree) != before {
					t.Errorf("failed write changed the tree")
				}
				h.tree.lastZxid++
			}
			if h.tree.LastZxid() != h.zxid {
				t.Errorf("LastZxid %d, want %d", h.tree.LastZxid(), h.zxid)
			}
			checkInvariants(t, h.tree)
		})
	}
}

// rawRecord is a request body given as bytes.
type rawRecord []byte

func (r rawRecord) Encode(e *proto.Encoder) { e.Raw(r) }
func (r rawRecord) Decode(*proto.Decoder)   {}

package tree

import (
	"reflect"
	"testing"

	"github.com/corral-io/corral/proto"
)

func mcreate(typ proto.OpCode, path string, flags int32, ttl int64) proto.MultiOp {
	return proto.MultiOp{Type: typ, Create: proto.CreateRequest{Path: path, Data: []byte("x"), ACL: openACL, Flags: flags, TTL: ttl}}
}

func TestMulti(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/m", 0)
	r := h.write(proto.OpMulti, &proto.MultiRequest{Ops: []proto.MultiOp{
		mcreate(proto.OpCreate2, "/m/a", 0, 0),         // create2 becomes create
		mcreate(proto.OpCreateContainer, "/m/b", 0, 0), // flags decide: persistent
		mcreate(proto.OpCreate, "/m/c", 4, 0),          // flags 4: container, result create2
		mcreate(proto.OpCreateTTL, "/m/d", 2, 100),     // non-TTL flags: plain create, ttl ignored
		mcreate(proto.OpCreateTTL, "/m/e", 5, 100),     // TTL, result create2
		{Type: proto.OpCheck, Delete: proto.DeleteRequest{Path: "/m/a", Version: 0}},
		{Type: proto.OpSetData, SetData: proto.SetDataRequest{Path: "/m/a", Data: []byte("yy"), Version: 0}},
		{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: "/m/a", Version: 1}},
	}})
	zx, now := h.zxid, h.now
	if r.Err != 0 {
		t.Fatalf("multi: %v %+v", r.Err, r.Resp)
	}
	st := proto.Stat{Czxid: zx, Mzxid: zx, Pzxid: zx, Ctime: now, Mtime: now, DataLength: 1}
	want := []proto.MultiResult{
		{Type: proto.OpCreate, Path: "/m/a"},
		{Type: proto.OpCreate, Path: "/m/b"},
		{Type: proto.OpCreate2, Path: "/m/c", Stat: st},
		{Type: proto.OpCreate, Path: "/m/d0000000003"},
		{Type: proto.OpCreate2, Path: "/m/e", Stat: st},
		{Type: proto.OpCheck},
		{Type: proto.OpSetData, Stat: proto.Stat{Czxid: zx, Mzxid: zx, Pzxid: zx, Ctime: now, Mtime: now, DataLength: 2, Version: 1}},
		{Type: proto.OpDelete},
	}
	if got := r.Resp.(*proto.MultiResponse).Results; !reflect.DeepEqual(got, want) {
		t.Errorf("results\n got %+v\nwant %+v", got, want)
	}
	kinds := map[string]nodeKind{"/m/b": kindPersistent, "/m/c": kindContainer, "/m/d0000000003": kindPersistent, "/m/e": kindTTL}
	for p, k := range kinds {
		if n := h.tree.nodes.get(p); n == nil || n.kind() != k {
			t.Errorf("%s: %+v", p, n)
		}
	}
	if len(r.Events) != 2*5+1+2 {
		t.Errorf("events %v", r.Events)
	}
	if st := h.stat("/m"); st.Cversion != 6 || st.NumChildren != 4 || st.Pzxid != zx {
		t.Errorf("/m %+v", st)
	}
	checkInvariants(t, h.tree)
}

func TestMultiFailure(t *testing.T) {
	h := newHarness(t)
	h.mustCreate("/m", 0)
	h.mustCreate("/m/x", 0)
	h.mustCreate("/e", 1)
	cases := []struct {
		name string
		ops  []proto.MultiOp
		err  proto.Code
		at   int // failing op; -1: whole multi fails with no results
	}{
		{"dup create", []proto.MultiOp{mcreate(proto.OpCreate, "/m/r", 0, 0), mcreate(proto.OpCreate, "/m/r", 0, 0), mcreate(proto.OpCreate, "/m/s", 0, 0)}, proto.ErrNodeExists, 1},
		{"first fails", []proto.MultiOp{mcreate(proto.OpCreate, "/bad/", 0, 0), mcreate(proto.OpCreate, "/m/s", 0, 0)}, proto.ErrNoNode, 0},
		{"ephemeral parent in same multi", []proto.MultiOp{mcreate(proto.OpCreate, "/m/e", 1, 0), mcreate(proto.OpCreate, "/m/e/k", 0, 0)}, proto.ErrNoChildrenForEphemerals, 1},
		{"delete then bad check", []proto.MultiOp{{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: "/m/x", Version: -1}}, {Type: proto.OpCheck, Delete: proto.DeleteRequest{Path: "/m/x", Version: -1}}}, proto.ErrNoNode, 1},
		{"seq then setData bad version", []proto.MultiOp{mcreate(proto.OpCreate, "/m/q", 2, 0), {Type: proto.OpSetData, SetData: proto.SetDataRequest{Path: "/m", Version: 9}}}, proto.ErrBadVersion, 1},
		{"bad flags", []proto.MultiOp{mcreate(proto.OpCreate, "/m/f", 9, 0)}, proto.ErrBadArguments, 0},
		{"createTTL ttl 0", []proto.MultiOp{mcreate(proto.OpCreateTTL, "/m/t", 5, 0)}, proto.ErrBadArguments, 0},
		{"TTL flags on create", []proto.MultiOp{mcreate(proto.OpCreate, "/m/y", 0, 0), mcreate(proto.OpCreate, "/m/t", 5, 0)}, proto.ErrMarshallingError, -1},
		{"TTL flags after a failure are not reached", []proto.MultiOp{mcreate(proto.OpCreate, "/nope/a", 0, 0), mcreate(proto.OpCreate2, "/m/t", 6, 0)}, proto.ErrNoNode, 0},
		{"read op in multi", []proto.MultiOp{mcreate(proto.OpCreate, "/m/y", 0, 0), {Type: proto.OpGetData, Read: proto.PathWatchRequest{Path: "/m"}}}, proto.ErrMarshallingError, -1},
		{"delete parent then child", []proto.MultiOp{{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: "/m/x", Version: -1}}, {Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: "/m", Version: -1}}, mcreate(proto.OpCreate, "/m", 0, 0), mcreate(proto.OpCreate, "/m", 0, 0)}, proto.ErrNodeExists, 3},
		{"setACL is not a multi op", nil, proto.ErrMarshallingError, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := dump(h.tree)
			var body []byte
			if c.ops == nil {
				e := proto.NewEncoder(nil)
				e.Int(int32(proto.OpSetACL))
				e.Bool(false)
				e.Int(-1)
				(&proto.SetACLRequest{Path: "/m", ACL: openACL, Version: -1}).Encode(e)
				body = e.Bytes()
			} else {
				body = proto.Marshal(&proto.MultiRequest{Ops: c.ops})
			}
			r := h.apply(&Entry{Kind: KindRequest, SessionID: h.sess, Op: proto.OpMulti, Body: body, Auth: h.auth})
			if r.Err != c.err || len(r.Events) != 0 {
				t.Fatalf("err %v events %v, want %v", r.Err, r.Events, c.err)
			}
			if c.at < 0 {
				if r.Resp != nil {
					t.Errorf("resp %+v", r.Resp)
				}
			} else {
				got := r.Resp.(*proto.MultiResponse).Results
				for i, res := range got {
					want := proto.MultiResult{Type: proto.OpError, Err: proto.ErrRuntimeInconsistency}
					if i < c.at {
						want.Err = 0
					} else if i == c.at {
						want.Err = c.err
					}
					if !reflect.DeepEqual(res, want) {
						t.Errorf("result %d: %+v want %+v", i, res, want)
					}
				}
				if len(got) != len(c.ops) {
					t.Errorf("%d results", len(got))
				}
			}
			h.tree.lastZxid--
			if after := dump(h.tree); after != before {
				t.Errorf("failed multi changed the tree:\n%s\n%s", before, after)
			}
			h.tree.lastZxid++
			checkInvariants(t, h.tree)
		})
	}
	r := h.write(proto.OpMulti, &proto.MultiRequest{})
	if r.Err != 0 || len(r.Resp.(*proto.MultiResponse).Results) != 0 || r.Resp.(*proto.MultiResponse).Results == nil {
		t.Errorf("empty multi: %+v", r)
	}
	if p := h.mustCreate("/m/q", 2); p != "/m/q0000000001" {
		t.Errorf("rolled back multi consumed a sequence number: %s", p)
	}
}

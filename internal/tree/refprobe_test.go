//go:build refprobe

package tree

// Probes of the reference ZooKeeper used while writing this package. Run with
// `go test -tags refprobe -run RefProbe -v ./internal/tree` (needs Debian's zookeeper).

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/refzk"
	"github.com/corral-io/corral/proto"
)

type rawConn struct {
	t   *testing.T
	c   net.Conn
	xid int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	rc := &rawConn{t: t, c: c}
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.ConnectRequest{TimeOut: 30000, Passwd: make([]byte, 16)}).Encode(e)
	proto.EndFrame(e, off)
	c.Write(e.Bytes())
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := proto.ReadFrame(c, 1<<20, nil); err != nil {
		t.Fatal(err)
	}
	return rc
}

func (rc *rawConn) do(op proto.OpCode, body []byte) (proto.ReplyHeader, []byte) {
	rc.xid++
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.RequestHeader{Xid: rc.xid, Type: op}).Encode(e)
	e.Raw(body)
	proto.EndFrame(e, off)
	rc.c.Write(e.Bytes())
	for {
		rc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		f, err := proto.ReadFrame(rc.c, 1<<20, nil)
		if err != nil {
			return proto.ReplyHeader{Err: -999}, nil
		}
		d := proto.NewDecoder(f)
		var h proto.ReplyHeader
		h.Decode(d)
		if h.Xid == -1 {
			continue
		}
		return h, append([]byte(nil), d.Rest()...)
	}
}

func (rc *rawConn) show(name string, op proto.OpCode, req proto.Record, resp proto.Record) {
	h, b := rc.do(op, proto.Marshal(req))
	s := ""
	if resp != nil && h.Err == 0 {
		proto.Unmarshal(b, resp)
		s = fmt.Sprintf("%+v", resp)
	}
	rc.t.Logf("%-40s zxid=%d err=%d %s (body %d bytes)", name, h.Zxid, h.Err, s, len(b))
}

func TestRefProbe(t *testing.T) {
	s := refzk.Start(t)
	rc := dialRaw(t, s.Addr())
	w := proto.WorldACL(proto.PermAll)
	cr := func(p string, fl int32) *proto.CreateRequest {
		return &proto.CreateRequest{Path: p, Data: []byte("x"), ACL: w, Flags: fl}
	}
	type ttlReq struct{ proto.CreateRequest }
	rc.show("create ''", proto.OpCreate, cr("", 0), &proto.CreateResponse{})
	rc.show("delete ''", proto.OpDelete, &proto.DeleteRequest{Path: "", Version: -1}, nil)
	rc.show("setData ''", proto.OpSetData, &proto.SetDataRequest{Path: "", Version: -1}, &proto.StatResponse{})
	rc.show("setACL ''", proto.OpSetACL, &proto.SetACLRequest{Path: "", ACL: w, Version: -1}, &proto.StatResponse{})
	rc.show("getAllChildrenNumber /", proto.OpGetAllChildrenNum, &proto.PathRequest{Path: "/"}, &proto.IntResponse{})
	rc.show("getAllChildrenNumber /zookeeper", proto.OpGetAllChildrenNum, &proto.PathRequest{Path: "/zookeeper"}, &proto.IntResponse{})
	rc.show("getAllChildrenNumber ''", proto.OpGetAllChildrenNum, &proto.PathRequest{Path: ""}, &proto.IntResponse{})
	rc.show("createContainer flags0 /cc0", proto.OpCreateContainer, cr("/cc0", 0), &proto.Create2Response{})
	rc.show("createContainer flags1 /cc1", proto.OpCreateContainer, cr("/cc1", 1), &proto.Create2Response{})
	rc.show("createContainer flags2 /cc2", proto.OpCreateContainer, cr("/cc2", 2), &proto.Create2Response{})
	rc.show("createContainer flags3 /cc3", proto.OpCreateContainer, cr("/cc3", 3), &proto.Create2Response{})
	rc.show("create flags4 /c4", proto.OpCreate, cr("/c4", 4), &proto.CreateResponse{})
	rc.show("create2 flags4 /c24", proto.OpCreate2, cr("/c24", 4), &proto.Create2Response{})
	for _, p := range []string{"/cc0", "/cc1", "/cc2", "/c4", "/c24"} {
		rc.show("getData "+p, proto.OpGetData, &proto.PathWatchRequest{Path: p}, &proto.GetDataResponse{})
	}
	// containers: create child, delete it, wait for reaper
	rc.show("create /cc0/k", proto.OpCreate, cr("/cc0/k", 0), &proto.CreateResponse{})
	rc.show("create /cc1/k", proto.OpCreate, cr("/cc1/k", 0), &proto.CreateResponse{})
	rc.show("create /c4/k", proto.OpCreate, cr("/c4/k", 0), &proto.CreateResponse{})
	rc.show("delete /cc0/k", proto.OpDelete, &proto.DeleteRequest{Path: "/cc0/k", Version: -1}, nil)
	rc.show("delete /cc1/k", proto.OpDelete, &proto.DeleteRequest{Path: "/cc1/k", Version: -1}, nil)
	rc.show("delete /c4/k", proto.OpDelete, &proto.DeleteRequest{Path: "/c4/k", Version: -1}, nil)
	// multi with create2, createContainer flags 0, create flags 4
	m := &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate2, Create: *cr("/m1", 0)},
		{Type: proto.OpCreateContainer, Create: *cr("/m2", 0)},
		{Type: proto.OpCreate, Create: *cr("/m3", 4)},
		{Type: proto.OpCreateTTL, Create: proto.CreateRequest{Path: "/m4", ACL: w, Flags: 2, TTL: 100}},
		{Type: proto.OpCreateTTL, Create: proto.CreateRequest{Path: "/m5", ACL: w, Flags: 5, TTL: 100000}},
		{Type: proto.OpCheck, Delete: proto.DeleteRequest{Path: "/m1", Version: 0}},
		{Type: proto.OpSetData, SetData: proto.SetDataRequest{Path: "/m1", Version: 0}},
		{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: "/m1", Version: 1}},
	}}
	rc.show("multi", proto.OpMulti, m, &proto.MultiResponse{})
	for _, p := range []string{"/m2", "/m3", "/m4", "/m5"} {
		rc.show("getData "+p, proto.OpGetData, &proto.PathWatchRequest{Path: p}, &proto.GetDataResponse{})
	}
	m = &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Create: *cr("/r1", 0)},
		{Type: proto.OpGetData, Read: proto.PathWatchRequest{Path: "/r1"}},
	}}
	rc.show("multi with getData", proto.OpMulti, m, &proto.MultiResponse{})
	rc.show("exists /r1", proto.OpExists, &proto.PathWatchRequest{Path: "/r1"}, &proto.StatResponse{})
	m = &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Create: *cr("/r2", 0)},
	}}
	rc.show("multiRead with create", proto.OpMultiRead, m, &proto.MultiResponse{})
	rc.show("exists /r2", proto.OpExists, &proto.PathWatchRequest{Path: "/r2"}, &proto.StatResponse{})
	m = &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Create: *cr("/bad/", 0)},
		{Type: proto.OpCreate, Create: *cr("/r3", 0)},
	}}
	rc.show("multi fail first", proto.OpMulti, m, &proto.MultiResponse{})
	m = &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Create: *cr("/r3", 0)},
		{Type: proto.OpCreate, Create: *cr("/r3", 0)},
		{Type: proto.OpCreate, Create: *cr("/r4", 0)},
	}}
	h, b := rc.do(proto.OpMulti, proto.Marshal(m))
	var mr proto.MultiResponse
	proto.Unmarshal(b, &mr)
	t.Logf("multi dup: hdr %+v results %+v", h, mr)
	rc.show("exists /r3", proto.OpExists, &proto.PathWatchRequest{Path: "/r3"}, &proto.StatResponse{})
	// delete reserved, setData config
	rc.show("setData /zookeeper/config", proto.OpSetData, &proto.SetDataRequest{Path: "/zookeeper/config", Version: -1}, &proto.StatResponse{})
	rc.show("getACL /zookeeper/config", proto.OpGetACL, &proto.PathRequest{Path: "/zookeeper/config"}, &proto.GetACLResponse{})
	rc.show("getData /zookeeper/config", proto.OpGetData, &proto.PathWatchRequest{Path: "/zookeeper/config"}, &proto.GetDataResponse{})
	rc.show("getData /zookeeper/quota", proto.OpGetData, &proto.PathWatchRequest{Path: "/zookeeper/quota"}, &proto.GetDataResponse{})
	rc.show("getData /zookeeper", proto.OpGetData, &proto.PathWatchRequest{Path: "/zookeeper"}, &proto.GetDataResponse{})
	rc.show("getData /", proto.OpGetData, &proto.PathWatchRequest{Path: "/"}, &proto.GetDataResponse{})
	rc.show("getChildren2 /zookeeper", proto.OpGetChildren2, &proto.PathWatchRequest{Path: "/zookeeper"}, &proto.GetChildren2Response{})
	// digest acl, getACL redaction
	da := []proto.ACL{{Perms: proto.PermRead, ID: proto.ID{Scheme: "digest", ID: "u:abc"}}, {Perms: proto.PermRead, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
	rc.show("create /da", proto.OpCreate, &proto.CreateRequest{Path: "/da", ACL: da}, &proto.CreateResponse{})
	rc.show("getACL /da", proto.OpGetACL, &proto.PathRequest{Path: "/da"}, &proto.GetACLResponse{})
	rc.show("getData /da (null data)", proto.OpGetData, &proto.PathWatchRequest{Path: "/da"}, &proto.GetDataResponse{})
	rc.show("delete /da/x (no DELETE perm, missing)", proto.OpDelete, &proto.DeleteRequest{Path: "/da/x", Version: -1}, nil)
	rc.show("create /da/x (no CREATE)", proto.OpCreate, cr("/da/x", 0), nil)
	rc.show("create /nope/x/ ", proto.OpCreate, cr("/nope/x/", 0), nil)
	rc.show("create /r1/./x", proto.OpCreate, cr("/r1/./x", 0), nil)
	rc.show("create /r1/. ", proto.OpCreate, cr("/r1/.", 0), nil)
	rc.show("create x ", proto.OpCreate, cr("x", 0), nil)
	rc.show("create /r1/a\\x00b ", proto.OpCreate, cr("/r1/a\x00b", 0), nil)
	rc.show("create /r1/inv-utf8 ", proto.OpCreate, cr("/r1/\xff", 0), nil)
	rc.show("setACL ip bad", proto.OpSetACL, &proto.SetACLRequest{Path: "/r1", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "ip", ID: "10.0.0.0/33"}}}, Version: -1}, &proto.StatResponse{})
	rc.show("setACL ip ok", proto.OpSetACL, &proto.SetACLRequest{Path: "/r1", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "ip", ID: "127.0.0.0/8"}}, {Perms: 31, ID: proto.ID{Scheme: "ip", ID: "127.0.0.0/8"}}}, Version: -1}, &proto.StatResponse{})
	rc.show("getACL /r1", proto.OpGetACL, &proto.PathRequest{Path: "/r1"}, &proto.GetACLResponse{})
	rc.show("setACL world:foo", proto.OpSetACL, &proto.SetACLRequest{Path: "/r1", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "world", ID: "foo"}}}, Version: -1}, &proto.StatResponse{})
	rc.show("setACL nonode bad acl", proto.OpSetACL, &proto.SetACLRequest{Path: "/zz", ACL: nil, Version: -1}, &proto.StatResponse{})
	rc.show("setACL bad path bad acl", proto.OpSetACL, &proto.SetACLRequest{Path: "/zz/", ACL: nil, Version: -1}, &proto.StatResponse{})
	rc.show("create nonode parent bad acl", proto.OpCreate, &proto.CreateRequest{Path: "/zz/a"}, nil)
	rc.show("create bad flags + bad acl", proto.OpCreate, &proto.CreateRequest{Path: "/zz/a", Flags: 9}, nil)
	rc.show("delete /zookeeper/quota", proto.OpDelete, &proto.DeleteRequest{Path: "/zookeeper/quota", Version: -1}, nil)
	rc.show("delete /", proto.OpDelete, &proto.DeleteRequest{Path: "/", Version: -1}, nil)
	rc.show("check /r1 v5", proto.OpCheck, &proto.DeleteRequest{Path: "/r1", Version: 5}, nil)
	rc.show("getEphemerals /", proto.OpGetEphemerals, &proto.PathRequest{Path: "/"}, &proto.StringsResponse{})
	rc.show("exists a\\0", proto.OpExists, &proto.PathWatchRequest{Path: "/a\x00"}, &proto.StatResponse{})
	rc.show("getData a\\0", proto.OpGetData, &proto.PathWatchRequest{Path: "/a\x00"}, &proto.StatResponse{})
	time.Sleep(3 * time.Second)
	for _, p := range []string{"/cc0", "/cc1", "/cc2", "/c4", "/c24", "/m5"} {
		rc.show("after reap exists "+p, proto.OpExists, &proto.PathWatchRequest{Path: p}, &proto.StatResponse{})
	}
	rc.show("getAllChildrenNumber /", proto.OpGetAllChildrenNum, &proto.PathRequest{Path: "/"}, &proto.IntResponse{})
}

func TestRefProbe2(t *testing.T) {
	s := refzk.Start(t)
	rc := dialRaw(t, s.Addr())
	w := proto.WorldACL(proto.PermAll)
	cr := func(p string, fl int32) *proto.CreateRequest {
		return &proto.CreateRequest{Path: p, Data: []byte("x"), ACL: w, Flags: fl}
	}
	rc.show("getData / fresh", proto.OpGetData, &proto.PathWatchRequest{Path: "/"}, &proto.GetDataResponse{})
	rc.show("getData '' fresh", proto.OpGetData, &proto.PathWatchRequest{Path: ""}, &proto.GetDataResponse{})
	h, b := rc.do(proto.OpGetData, proto.Marshal(&proto.PathWatchRequest{Path: "/zookeeper/config"}))
	t.Logf("config raw %v %x", h, b[:4])
	// null path
	e := proto.NewEncoder(nil)
	e.Int(-1)
	e.Buffer([]byte("x"))
	proto.EncodeACLs(e, w)
	e.Int(0)
	h, _ = rc.do(proto.OpCreate, e.Bytes())
	t.Logf("create null path: %+v", h)
	rc.show("create /p", proto.OpCreate, cr("/p", 0), &proto.CreateResponse{})
	for _, p := range []string{"/p/./x", "/p/.", "/p/..", "/p/a\x00b", "/p/\xff", "/p/\U0001F600", "/p/\u0080", "/p/\u00e9", "/p/a..b", "/p/.a", "/p/\ufffd", "/p/\uffef", "/p/\ue000", "/p/\uf900", "/p/\u007e", "/p/\u001f", "/p/a/", "/p//", "/p/...", "/p/./"} {
		rc.show(fmt.Sprintf("create %q", p), proto.OpCreate, cr(p, 0), &proto.CreateResponse{})
	}
	rc.show("delete relative", proto.OpDelete, &proto.DeleteRequest{Path: "relative", Version: -1}, nil)
	rc.show("delete /p/", proto.OpDelete, &proto.DeleteRequest{Path: "/p/", Version: -1}, nil)
	rc.show("delete /p/./x", proto.OpDelete, &proto.DeleteRequest{Path: "/p/./x", Version: -1}, nil)
	rc.show("setData /p/", proto.OpSetData, &proto.SetDataRequest{Path: "/p/", Version: -1}, nil)
	rc.show("check /p/", proto.OpCheck, &proto.DeleteRequest{Path: "/p/", Version: -1}, nil)
	rc.show("check ''", proto.OpCheck, &proto.DeleteRequest{Path: "", Version: -1}, nil)
	rc.show("delete /p v5 with child", proto.OpDelete, &proto.DeleteRequest{Path: "/p", Version: 5}, nil)
	rc.show("delete /p v0 with child", proto.OpDelete, &proto.DeleteRequest{Path: "/p", Version: 0}, nil)
	ttl := func(p string, fl int32, ttl int64) *proto.CreateRequest {
		return &proto.CreateRequest{Path: p, Data: []byte("x"), ACL: w, Flags: fl, TTL: ttl}
	}
	ttlShow := func(name string, r *proto.CreateRequest) {
		h, b := rc.do(proto.OpCreateTTL, func() []byte { e := proto.NewEncoder(nil); r.EncodeTTL(e); return e.Bytes() }())
		var cr proto.Create2Response
		if h.Err == 0 {
			proto.Unmarshal(b, &cr)
		}
		t.Logf("%-40s zxid=%d err=%d %+v", name, h.Zxid, h.Err, cr)
	}
	ttlShow("ttl 1ms", ttl("/t1", 5, 1))
	ttlShow("ttl seq 1ms", ttl("/t2", 6, 1))
	ttlShow("ttl 0", ttl("/t3", 5, 0))
	ttlShow("ttl max+1", ttl("/t4", 5, proto.MaxTTL+1))
	ttlShow("ttl max", ttl("/t5", 5, proto.MaxTTL))
	ttlShow("ttl flags0 ttl5", ttl("/t6", 0, 5))
	ttlShow("ttl flags4 ttl5", ttl("/t7", 4, 5))
	ttlShow("ttl flags1 ttl5", ttl("/t8", 1, 5))
	ttlShow("ttl flags7", ttl("/t9", 7, 5))
	rc.show("create /t5/c ephemeral", proto.OpCreate, cr("/t5/c", 1), &proto.CreateResponse{})
	rc.show("create /t5/c/d", proto.OpCreate, cr("/t5/c/d", 1), &proto.CreateResponse{})
	rc.show("create /t5/c/d seq", proto.OpCreate, cr("/t5/c/d", 2), &proto.CreateResponse{})
	rc.show("create /t5/c2 eph-seq", proto.OpCreate, cr("/t5/c2", 3), &proto.CreateResponse{})
	rc.show("getData /t5/c", proto.OpGetData, &proto.PathWatchRequest{Path: "/t5/c"}, &proto.GetDataResponse{})
	for _, pre := range []string{"/", "", " / ", "/t5/c", "/t5/c2", "/t"} {
		rc.show(fmt.Sprintf("getEphemerals %q", pre), proto.OpGetEphemerals, &proto.PathRequest{Path: pre}, &proto.StringsResponse{})
	}
	rc.show("getData /t5", proto.OpGetData, &proto.PathWatchRequest{Path: "/t5"}, &proto.GetDataResponse{})
	m := &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Create: *cr("/mc", 4)},
		{Type: proto.OpCreate, Create: *cr("/mc/k", 0)},
		{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: "/mc/k", Version: -1}},
		{Type: proto.OpCreate2, Create: *cr("/mc2", 4)},
	}}
	rc.show("multi container", proto.OpMulti, m, &proto.MultiResponse{})
	m = &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Create: *cr("/me", 1)},
		{Type: proto.OpCreate, Create: *cr("/me/k", 0)},
	}}
	rc.show("multi eph parent", proto.OpMulti, m, &proto.MultiResponse{})
	m = &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreate, Create: *cr("/mt", 5)},
	}}
	rc.show("multi create ttl flags", proto.OpMulti, m, &proto.MultiResponse{})
	m = &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreateTTL, Create: proto.CreateRequest{Path: "/mt2", ACL: w, Flags: 5, TTL: 0}},
	}}
	rc.show("multi createTTL ttl0", proto.OpMulti, m, &proto.MultiResponse{})
	m = &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpCreateTTL, Create: proto.CreateRequest{Path: "/mt3", ACL: w, Flags: 0, TTL: 0}},
	}}
	rc.show("multi createTTL flags0 ttl0", proto.OpMulti, m, &proto.MultiResponse{})
	m = &proto.MultiRequest{Ops: []proto.MultiOp{
		{Type: proto.OpGetData, Read: proto.PathWatchRequest{Path: "/p"}},
		{Type: proto.OpGetData, Read: proto.PathWatchRequest{Path: "/nope"}},
		{Type: proto.OpGetChildren, Read: proto.PathWatchRequest{Path: "/"}},
	}}
	rc.show("multiRead", proto.OpMultiRead, m, &proto.MultiResponse{})
	rc.show("multi empty", proto.OpMulti, &proto.MultiRequest{}, &proto.MultiResponse{})
	rc.show("multiRead empty", proto.OpMultiRead, &proto.MultiRequest{}, &proto.MultiResponse{})
	// auth
	rc.xid = 0
	{
		e := proto.NewEncoder(nil)
		off := proto.BeginFrame(e)
		(&proto.RequestHeader{Xid: -4, Type: proto.OpAuth}).Encode(e)
		(&proto.AuthPacket{Scheme: "digest", Auth: []byte("u:p")}).Encode(e)
		proto.EndFrame(e, off)
		rc.c.Write(e.Bytes())
		f, _ := proto.ReadFrame(rc.c, 1<<20, nil)
		t.Logf("auth reply %x", f)
	}
	rc.show("create auth acl", proto.OpCreate, &proto.CreateRequest{Path: "/au", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "auth", ID: "whatever"}}, {Perms: 31, ID: proto.ID{Scheme: "auth", ID: ""}}}}, &proto.CreateResponse{})
	rc.show("getACL /au", proto.OpGetACL, &proto.PathRequest{Path: "/au"}, &proto.GetACLResponse{})
	rc2 := dialRaw(t, s.Addr())
	rc2.show("rc2 create auth acl (no auth)", proto.OpCreate, &proto.CreateRequest{Path: "/au2", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "auth", ID: ""}}}}, &proto.CreateResponse{})
	rc2.show("rc2 getACL /au", proto.OpGetACL, &proto.PathRequest{Path: "/au"}, &proto.GetACLResponse{})
	rc2.show("rc2 getData /au", proto.OpGetData, &proto.PathWatchRequest{Path: "/au"}, &proto.GetDataResponse{})
	rc2.show("rc2 exists /au", proto.OpExists, &proto.PathWatchRequest{Path: "/au"}, &proto.StatResponse{})
	rc2.show("rc2 getAllChildrenNumber /au", proto.OpGetAllChildrenNum, &proto.PathRequest{Path: "/au"}, &proto.IntResponse{})
	rc2.show("rc2 getEphemerals /", proto.OpGetEphemerals, &proto.PathRequest{Path: "/"}, &proto.StringsResponse{})
	rc2.show("rc2 ip acl create", proto.OpCreate, &proto.CreateRequest{Path: "/ip", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "ip", ID: "127.0.0.1"}}}}, &proto.CreateResponse{})
	rc2.show("rc2 ip acl create child", proto.OpCreate, &proto.CreateRequest{Path: "/ip/a", ACL: w}, &proto.CreateResponse{})
	rc2.show("rc2 ip acl create 10/8", proto.OpCreate, &proto.CreateRequest{Path: "/ip2", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "ip", ID: "10.0.0.0/8"}}}}, &proto.CreateResponse{})
	rc2.show("rc2 ip acl create child 10/8", proto.OpCreate, &proto.CreateRequest{Path: "/ip2/a", ACL: w}, &proto.CreateResponse{})
	rc2.show("rc2 ip 127.1", proto.OpCreate, &proto.CreateRequest{Path: "/ip3", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "ip", ID: "127.1"}}}}, &proto.CreateResponse{})
	rc2.show("rc2 ip ::1", proto.OpCreate, &proto.CreateRequest{Path: "/ip4", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "ip", ID: "::1/128"}}}}, &proto.CreateResponse{})
	rc2.show("rc2 digest a:", proto.OpCreate, &proto.CreateRequest{Path: "/d1", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "digest", ID: "a:"}}}}, &proto.CreateResponse{})
	rc2.show("rc2 digest :a", proto.OpCreate, &proto.CreateRequest{Path: "/d2", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "digest", ID: ":a"}}}}, &proto.CreateResponse{})
	rc2.show("rc2 sasl", proto.OpCreate, &proto.CreateRequest{Path: "/d3", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "sasl", ID: "a"}}}}, &proto.CreateResponse{})
	rc2.show("rc2 super", proto.OpCreate, &proto.CreateRequest{Path: "/d4", ACL: []proto.ACL{{Perms: 31, ID: proto.ID{Scheme: "super", ID: "a"}}}}, &proto.CreateResponse{})
	rc2.show("rc2 world:anyone perms 0", proto.OpCreate, &proto.CreateRequest{Path: "/d5", ACL: []proto.ACL{{Perms: 0, ID: proto.ID{Scheme: "world", ID: "anyone"}}}}, &proto.CreateResponse{})
	rc2.show("rc2 getACL /d5", proto.OpGetACL, &proto.PathRequest{Path: "/d5"}, &proto.GetACLResponse{})
	rc2.show("rc2 exists /d5", proto.OpExists, &proto.PathWatchRequest{Path: "/d5"}, &proto.StatResponse{})
	time.Sleep(3 * time.Second)
	for _, p := range []string{"/t1", "/t20000000012", "/mc", "/mc2", "/t5"} {
		rc.show("after reap exists "+p, proto.OpExists, &proto.PathWatchRequest{Path: p}, &proto.StatResponse{})
	}
	rc.show("getChildren /", proto.OpGetChildren, &proto.PathWatchRequest{Path: "/"}, &proto.GetChildrenResponse{})
}

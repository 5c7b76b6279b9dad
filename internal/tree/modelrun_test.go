package tree

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/corral-io/corral/proto"
)

var (
	seedFlag  = flag.Int64("seed", 0, "seed for TestModel (0: time-based)")
	stepsFlag = flag.Int("steps", 3000, "steps per TestModel run")
	memFlag   = flag.Bool("memtest", false, "run TestMemory1M")
)

// gen produces random entries over a small namespace so that collisions are common.
type gen struct {
	r     *rand.Rand
	known []string
	now   int64
}

var modelACLs = [][]proto.ACL{
	proto.WorldACL(proto.PermAll),
	proto.WorldACL(proto.PermRead | proto.PermCreate),
	{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: "u:h"}}},
	{{Perms: proto.PermAll, ID: proto.ID{Scheme: "auth"}}},
	{{Perms: proto.PermAll, ID: proto.ID{Scheme: "ip", ID: "127.0.0.0/8"}}, {Perms: proto.PermRead, ID: proto.ID{Scheme: "world", ID: "anyone"}}},
	proto.WorldACL(proto.PermAll), // duplicated below
	nil,
}

func (g *gen) path() string {
	if len(g.known) > 0 && g.r.Intn(3) > 0 {
		p := g.known[g.r.Intn(len(g.known))]
		if g.r.Intn(3) == 0 {
			return p + "/" + string(rune('a'+g.r.Intn(3)))
		}
		return p
	}
	names := []string{"a", "b", "c", "s-"}
	p := ""
	for d := g.r.Intn(3) + 1; d > 0; d-- {
		p += "/" + names[g.r.Intn(len(names))]
	}
	if g.r.Intn(40) == 0 {
		return []string{"", "/", "x", "/a/", "/a/.", "/zookeeper", "/zookeeper/config"}[g.r.Intn(7)]
	}
	return p
}

func (g *gen) data() []byte {
	switch g.r.Intn(4) {
	case 0:
		return nil
	case 1:
		return []byte{}
	}
	return []byte(fmt.Sprint(g.r.Intn(100)))
}

func (g *gen) version() int32 { return int32(g.r.Intn(4)) - 1 }

func (g *gen) createOp() proto.MultiOp {
	ops := []proto.OpCode{proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL}
	acl := modelACLs[g.r.Intn(len(modelACLs))]
	if g.r.Intn(10) == 0 {
		acl = append(append([]proto.ACL{}, acl...), acl...)
	}
	op := proto.MultiOp{Type: ops[g.r.Intn(4)], Create: proto.CreateRequest{Path: g.path(), Data: g.data(), ACL: acl,
		Flags: int32(g.r.Intn(9)) - 1, TTL: []int64{-1, 0, 1, 50, 1000, proto.MaxTTL + 1}[g.r.Intn(6)]}}
	if g.r.Intn(2) == 0 {
		op.Create.Flags = int32(g.r.Intn(4))
	}
	if op.Type == proto.OpCreateTTL && g.r.Intn(2) == 0 {
		op.Create.Flags = 5 + int32(g.r.Intn(2))
	}
	return op
}

func (g *gen) writeOp() proto.MultiOp {
	switch g.r.Intn(5) {
	case 0, 1:
		return g.createOp()
	case 2:
		return proto.MultiOp{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: g.path(), Version: g.version()}}
	case 3:
		return proto.MultiOp{Type: proto.OpSetData, SetData: proto.SetDataRequest{Path: g.path(), Data: g.data(), Version: g.version()}}
	}
	return proto.MultiOp{Type: proto.OpCheck, Delete: proto.DeleteRequest{Path: g.path(), Version: g.version()}}
}

func (g *gen) entry() *Entry {
	g.now += int64(g.r.Intn(40))
	sess := int64(g.r.Intn(3) + 1)
	auths := [][]proto.ID{ipAuth, {{Scheme: "ip", ID: "127.0.0.1"}, {Scheme: "digest", ID: "u:h"}}, {{Scheme: "ip", ID: "10.0.0.1"}}}
	e := &Entry{Kind: KindRequest, SessionID: sess, Time: g.now, Auth: auths[g.r.Intn(3)]}
	switch k := g.r.Intn(100); {
	case k < 4:
		e.Kind, e.Timeout, e.Passwd = KindCreateSession, 4000, []byte{byte(sess)}
	case k < 6:
		e.Kind = KindCloseSession
	case k < 12:
		e.Kind, e.Path, e.MaxNeverUsed = KindDeleteContainer, g.path(), int64(g.r.Intn(2)*30)
	case k < 20:
		var req proto.MultiRequest
		for i := g.r.Intn(4); i >= 0; i-- {
			req.Ops = append(req.Ops, g.writeOp())
		}
		e.Op, e.Body = proto.OpMulti, proto.Marshal(&req)
	case k < 27:
		e.Op, e.Body = proto.OpSetACL, proto.Marshal(&proto.SetACLRequest{Path: g.path(), ACL: modelACLs[g.r.Intn(len(modelACLs))], Version: g.version()})
	default:
		op := g.writeOp()
		e.Op = op.Type
		switch op.Type {
		case proto.OpCreateTTL:
			enc := proto.NewEncoder(nil)
			op.Create.EncodeTTL(enc)
			e.Body = enc.Bytes()
		case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer:
			e.Body = proto.Marshal(&op.Create)
		case proto.OpDelete, proto.OpCheck:
			e.Body = proto.Marshal(&op.Delete)
		case proto.OpSetData:
			e.Body = proto.Marshal(&op.SetData)
		}
	}
	if e.Kind == KindRequest && g.r.Intn(10) == 0 {
		// A session's first write with its creation folded in; now and then with
		// parameters that conflict with the session's if it is open already.
		e.Kind, e.Timeout, e.Passwd = KindSessionRequest, 4000, []byte{byte(sess)}
		if g.r.Intn(4) == 0 {
			e.Timeout = 5000
		}
	}
	return e
}

func TestModel(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = time.Now().UnixNano()
	}
	for run := int64(0); run < 4; run++ {
		s := seed + run
		t.Run(fmt.Sprint("seed=", s), func(t *testing.T) {
			runModel(t, s, *stepsFlag)
		})
	}
}

func runModel(t *testing.T, seed int64, steps int) {
	g := &gen{r: rand.New(rand.NewSource(seed)), now: testTime}
	tr, m := New(), newModel()
	outcomes := map[string]int{}
	defer func() {
		t.Logf("seed %d: %d nodes at the end; outcomes (kind/op/err): %v", seed, tr.NodeCount(), outcomes)
	}()
	for zxid := int64(1); zxid <= int64(steps); zxid++ {
		e := g.entry()
		e2, err := UnmarshalEntry(e.Marshal())
		if err != nil {
			t.Fatalf("seed %d: entry round trip: %v", seed, err)
		}
		got, want := tr.Apply(zxid, e2), m.apply(zxid, e)
		outcomes[fmt.Sprintf("%d/%v/%v", e.Kind, e.Op, got.Err)]++
		if !sameResult(got, want) {
			t.Fatalf("seed %d step %d: entry %+v\n got %v %+v %v\nwant %v %+v %v", seed, zxid, e, got.Err, got.Resp, got.Events, want.Err, want.Resp, want.Events)
		}
		if d1, d2 := dump(tr), m.dump(); d1 != d2 {
			t.Fatalf("seed %d step %d: entry %+v: state differs\ntree:\n%s\nmodel:\n%s", seed, zxid, e, d1, d2)
		}
		for _, ev := range got.Events {
			if ev.Type == proto.EventNodeCreated {
				g.known = append(g.known, ev.Path)
			}
		}
		// Reads agree too.
		p := g.path()
		for _, op := range []proto.OpCode{proto.OpGetData, proto.OpGetChildren2} {
			r := tr.Read(e.SessionID, e.Auth, op, proto.Marshal(&proto.PathWatchRequest{Path: p}))
			n := m.nodes[lookupKey(p)]
			switch {
			case n == nil:
				if r.Err != proto.ErrNoNode {
					t.Fatalf("seed %d: read %s: %v", seed, p, r.Err)
				}
			case !checkACL(acl1(n), proto.PermRead, e.Auth):
				if r.Err != proto.ErrNoAuth {
					t.Fatalf("seed %d: read %s: %v", seed, p, r.Err)
				}
			case op == proto.OpGetData:
				want := &proto.GetDataResponse{Data: n.data, Stat: m.stat(lookupKey(p))}
				if !bytes.Equal(respBytes(r), proto.Marshal(want)) {
					t.Fatalf("seed %d: getData %s: %+v want %+v", seed, p, r.Resp, want)
				}
			default:
				want := &proto.GetChildren2Response{Children: m.children(lookupKey(p)), Stat: m.stat(lookupKey(p))}
				if want.Children == nil {
					want.Children = []string{}
				}
				if !bytes.Equal(respBytes(r), proto.Marshal(want)) {
					t.Fatalf("seed %d: getChildren2 %s: %+v want %+v", seed, p, r.Resp, want)
				}
			}
		}
		// Reaping agrees with a scan of the model.
		if zxid%50 == 0 {
			checkInvariants(t, tr)
			cands := tr.ReapCandidates(g.now, 30, 0)
			for _, c := range cands {
				if r := m.clone().apply(zxid, &Entry{Kind: KindDeleteContainer, Path: c, Time: g.now, MaxNeverUsed: 30}); r.Err != 0 {
					t.Fatalf("seed %d: candidate %s not due in the model: %v", seed, c, r.Err)
				}
			}
		}
		if zxid%500 == 0 {
			var buf bytes.Buffer
			if err := tr.WriteSnapshot(&buf); err != nil {
				t.Fatal(err)
			}
			t2, err := ReadSnapshot(&buf)
			if err != nil {
				t.Fatalf("seed %d: %v", seed, err)
			}
			if t2.Digest() != tr.Digest() || dump(t2) != dump(tr) {
				t.Fatalf("seed %d: snapshot round trip differs", seed)
			}
			tr = t2 // continue on the restored tree
		}
	}
	checkInvariants(t, tr)
}

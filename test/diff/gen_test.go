package diff

import (
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/corral-io/corral/proto"
)

// numSessions is the number of session slots driven per seed.
const numSessions = 3

type reqKind int

const (
	kNormal     reqKind = iota
	kClose              // closeSession on the slot, then a new session in it
	kReconnect          // drop the TCP connection and reattach the same session
	kSetWatches         // setWatches/setWatches2 whose relZxid is side-specific
)

// request is one generated step's request, identical for both sides.
type request struct {
	kind reqKind
	op   proto.OpCode
	xid  int32 // 0 = next normal xid; -4 auth; -8 setWatches
	body []byte
	desc string

	// kSetWatches
	sw     proto.SetWatches
	sw2    bool
	relNow bool // relZxid = the connection's last seen zxid (else 0)

	// refAlt replaces the request when the target is the reference (top-level check,
	// which the reference never answers, is sent to it as a one-op multi).
	refAlt *request
}

type step struct {
	sess int
	req  request
}

// gen produces a deterministic request sequence from a seed.
type gen struct {
	r    *rand.Rand
	root string // "/s<seed>"
	good []string
	seqs []string // guesses at names sequential creates produce
	bad  []string

	exclude map[string]bool // request categories not generated (-diff.exclude)

	// mixModes allows one session to hold watches of different modes (standard,
	// persistent, recursive) on the same path. The 3.8 reference keeps one mode per
	// session and path (a later registration replaces the earlier mode, e.g. a getData
	// watch turns a persistent watch into a one-shot one, and a recursive watch hides a
	// standard child watch on the same path) and its removeWatches also removes persistent
	// watches; 3.9 keeps the modes apart. Off by default: the generator then never mixes
	// modes on one path within one connection.
	mixModes bool
	cur      int                         // session slot of the request being generated
	modes    [numSessions]map[string]int // watch modes requested per slot and path: 1 std, 2 persistent, 4 recursive
}

// useWatch reports whether the current session may register a watch of mode on p, and
// records it.
func (g *gen) useWatch(p string, mode int) bool {
	m := g.modes[g.cur]
	if m == nil {
		m = map[string]int{}
		g.modes[g.cur] = m
	}
	if !g.mixModes && m[p]&^mode != 0 {
		return false
	}
	m[p] |= mode
	return true
}

// forgetWatches is called when the current slot's connection goes away.
func (g *gen) forgetWatches() { g.modes[g.cur] = nil }

func newGen(seed uint64) *gen {
	p := fmt.Sprintf("/s%d", seed)
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x636f7272616c)), root: p, exclude: map[string]bool{}}
	g.good = []string{p, p + "/d", p + "/d/a", p + "/d/a/b", p + "/d/c", p + "/x", p + "/x/e", p + "/d/c/f"}
	for k := 0; k < 4; k++ {
		g.seqs = append(g.seqs, fmt.Sprintf("%s/d/q-%010d", p, k), fmt.Sprintf("%s/x/%010d", p, k))
	}
	g.bad = []string{
		"", "rel", "rel/a", p + "/d/", "//", p + "//d", p + "/d/./a", p + "/d/..", p + "/d/a\x00b",
		p + "/d/\U0001F600", p + "/d/\u0001", p + "/d/\u007f", p + "/d/\u0085", p + "/d/\uE000", p + "/d/\uFFF5",
		p + "/d/é", p + "/x/日本", "/", "/zookeeper", "/zookeeper/config", "/zookeeper/quota",
	}
	if !*flagNonBMP {
		g.bad = slices.DeleteFunc(g.bad, func(s string) bool { return strings.ContainsRune(s, '\U0001F600') })
	}
	return g
}

func (g *gen) pct(n int) bool { return g.r.IntN(100) < n }

func (g *gen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

// path picks a path: mostly the small universe, sometimes a guessed sequential name,
// sometimes a bad or system path.
func (g *gen) path() string {
	switch n := g.r.IntN(100); {
	case n < 80:
		return g.goodPath()
	case n < 89:
		return g.pick(g.seqs)
	default:
		return g.pick(g.bad)
	}
}

// goodPath picks from the universe, shallow paths more often (so that creates find
// their parents often enough).
func (g *gen) goodPath() string {
	weights := []int{4, 22, 16, 8, 12, 16, 10, 5} // matches g.good
	n := g.r.IntN(93)
	for i, w := range weights {
		if n < w {
			return g.good[i]
		}
		n -= w
	}
	return g.good[1]
}

// writePath is path() but keeps setACL away from "/" and /zookeeper, which would lock
// later seeds out.
func (g *gen) aclPath() string {
	for {
		p := g.path()
		if p == "/" || strings.HasPrefix(p, "/zookeeper") || p == "" && g.pct(50) {
			continue
		}
		return p
	}
}

func (g *gen) createPath() string {
	if g.pct(12) {
		// Bases for sequential names: "<p>/d/q-" and "<p>/x/" (a trailing slash is fine once
		// the suffix is appended).
		if g.pct(50) {
			return g.root + "/d/q-"
		}
		return g.root + "/x/"
	}
	return g.path()
}

func (g *gen) data() []byte {
	switch g.r.IntN(7) {
	case 0:
		return nil
	case 1:
		return []byte{}
	case 2:
		return []byte("v")
	case 3:
		return []byte("hello world")
	default:
		b := make([]byte, g.r.IntN(9))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		return b
	}
}

func (g *gen) version() int32 {
	vs := []int32{-1, -1, -1, 0, 0, 1, 2, 3, -2, 7}
	return vs[g.r.IntN(len(vs))]
}

func digestID(user, pw string) string {
	h := sha1.Sum([]byte(user + ":" + pw))
	return user + ":" + base64.StdEncoding.EncodeToString(h[:])
}

var (
	aclOpen   = proto.WorldACL(proto.PermAll)
	aclDigest = []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: digestID("alice", "secret")}}, {Perms: proto.PermRead, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
)

func (g *gen) acl() []proto.ACL {
	switch n := g.r.IntN(100); {
	case n < 55:
		return aclOpen
	case n < 63:
		return proto.WorldACL(int32(g.r.IntN(32)))
	case n < 70:
		return aclDigest
	case n < 75:
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "auth", ID: ""}}}
	case n < 80:
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "ip", ID: "127.0.0.1"}}}
	case n < 82:
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "ip", ID: "127.0.0.0/8"}}, {Perms: proto.PermRead, ID: proto.ID{Scheme: "ip", ID: "10.1.2.3"}}}
	case n < 84:
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "ip", ID: "999.1.1.1"}}}
	case n < 86:
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "foo", ID: "bar"}}}
	case n < 88:
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "digest", ID: "nocolon"}}}
	case n < 90:
		return []proto.ACL{}
	case n < 93:
		return []proto.ACL{aclOpen[0], aclOpen[0], {Perms: proto.PermRead, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
	case n < 96:
		return []proto.ACL{{Perms: proto.PermRead | proto.PermCreate | proto.PermDelete, ID: proto.ID{Scheme: "world", ID: "anyone"}}}
	default:
		return []proto.ACL{{Perms: proto.PermAll, ID: proto.ID{Scheme: "world", ID: "someone"}}}
	}
}

func aclString(acls []proto.ACL) string {
	parts := make([]string, len(acls))
	for i, a := range acls {
		parts[i] = fmt.Sprintf("%s:%s:%d", a.ID.Scheme, a.ID.ID, a.Perms)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func enc(f func(e *proto.Encoder)) []byte {
	e := proto.NewEncoder(nil)
	f(e)
	return e.Bytes()
}

// createOp returns a random create-family request (top level or inside a multi).
// It never produces createTTL with a non-TTL mode and a negative ttl (that crashes the
// reference, ZOOKEEPER.md Part 4).
func (g *gen) createOp() (proto.OpCode, proto.CreateRequest) {
	ops := []proto.OpCode{proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL}
	op := ops[g.r.IntN(len(ops))]
	flagsList := []int32{0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 6}
	flags := flagsList[g.r.IntN(len(flagsList))]
	if g.pct(5) {
		flags = []int32{7, -1, 99}[g.r.IntN(3)]
	}
	if op == proto.OpCreateTTL && g.pct(60) {
		flags = []int32{5, 6}[g.r.IntN(2)]
	}
	req := proto.CreateRequest{Path: g.createPath(), Data: g.data(), ACL: g.acl(), Flags: flags, TTL: -1}
	if g.pct(70) {
		req.ACL = aclOpen
	}
	if op == proto.OpCreateTTL {
		ttls := []int64{3_600_000, 86_400_000, proto.MaxTTL, 0, proto.MaxTTL + 1}
		req.TTL = ttls[g.r.IntN(len(ttls))]
		if (flags == 5 || flags == 6) && g.pct(10) {
			req.TTL = -5
		}
	}
	return op, req
}

func createDesc(op proto.OpCode, c proto.CreateRequest) string {
	s := fmt.Sprintf("%v path=%q data=%s acl=%s flags=%d", op, c.Path, dataString(c.Data), aclString(c.ACL), c.Flags)
	if op == proto.OpCreateTTL {
		s += fmt.Sprintf(" ttl=%d", c.TTL)
	}
	return s
}

func dataString(b []byte) string {
	if b == nil {
		return "null"
	}
	return fmt.Sprintf("%q", b)
}

// multiOp returns one random op for a multi.
func (g *gen) multiOp() proto.MultiOp {
	switch g.r.IntN(6) {
	case 0, 1:
		op, c := g.createOp()
		return proto.MultiOp{Type: op, Create: c}
	case 2:
		return proto.MultiOp{Type: proto.OpDelete, Delete: proto.DeleteRequest{Path: g.path(), Version: g.version()}}
	case 3:
		return proto.MultiOp{Type: proto.OpSetData, SetData: proto.SetDataRequest{Path: g.path(), Data: g.data(), Version: g.version()}}
	default:
		return proto.MultiOp{Type: proto.OpCheck, Delete: proto.DeleteRequest{Path: g.path(), Version: g.version()}}
	}
}

func multiOpDesc(op proto.MultiOp) string {
	switch op.Type {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		return createDesc(op.Type, op.Create)
	case proto.OpDelete, proto.OpCheck:
		return fmt.Sprintf("%v path=%q version=%d", op.Type, op.Delete.Path, op.Delete.Version)
	case proto.OpSetData:
		return fmt.Sprintf("setData path=%q data=%s version=%d", op.SetData.Path, dataString(op.SetData.Data), op.SetData.Version)
	default:
		return fmt.Sprintf("%v path=%q", op.Type, op.Read.Path)
	}
}

func (g *gen) normal(op proto.OpCode, body []byte, desc string) request {
	return request{kind: kNormal, op: op, body: body, desc: desc}
}

// next returns the next step.
func (g *gen) next() step {
	st := step{sess: g.r.IntN(numSessions)}
	g.cur = st.sess
	st.req = g.request()
	return st
}

// categories names the request kinds by their upper bound in request()'s 0..999 roll,
// for -diff.exclude.
var categories = []struct {
	upto int
	name string
}{
	{220, "create"}, {320, "delete"}, {400, "setData"}, {570, "read"}, {600, "getACL"}, {640, "setACL"},
	{720, "multi"}, {750, "multiRead"}, {775, "check"}, {795, "getAllChildrenNumber"}, {815, "getEphemerals"},
	{850, "addWatch"}, {867, "removeWatches"}, {885, "checkWatches"}, {905, "setWatches"}, {940, "auth"}, {955, "whoAmI"},
	{975, "sync"}, {990, "close"}, {1000, "reconnect"},
}

func (g *gen) request() request {
	var w int
	for {
		w = g.r.IntN(1000)
		i := 0
		for categories[i].upto <= w {
			i++
		}
		if !g.exclude[categories[i].name] {
			break
		}
	}
	switch {
	case w < 220: // create family
		op, c := g.createOp()
		var body []byte
		if op == proto.OpCreateTTL {
			body = enc(c.EncodeTTL)
		} else {
			body = enc(c.Encode)
		}
		return g.normal(op, body, createDesc(op, c))
	case w < 320:
		r := proto.DeleteRequest{Path: g.path(), Version: g.version()}
		return g.normal(proto.OpDelete, enc(r.Encode), fmt.Sprintf("delete path=%q version=%d", r.Path, r.Version))
	case w < 400:
		r := proto.SetDataRequest{Path: g.path(), Data: g.data(), Version: g.version()}
		return g.normal(proto.OpSetData, enc(r.Encode), fmt.Sprintf("setData path=%q data=%s version=%d", r.Path, dataString(r.Data), r.Version))
	case w < 570:
		ops := []proto.OpCode{proto.OpExists, proto.OpGetData, proto.OpGetChildren, proto.OpGetChildren2}
		op := ops[g.r.IntN(len(ops))]
		r := proto.PathWatchRequest{Path: g.path(), Watch: g.pct(60)}
		if r.Watch && !g.useWatch(r.Path, 1) {
			r.Watch = false
		}
		return g.normal(op, enc(r.Encode), fmt.Sprintf("%v path=%q watch=%v", op, r.Path, r.Watch))
	case w < 600:
		r := proto.PathRequest{Path: g.path()}
		return g.normal(proto.OpGetACL, enc(r.Encode), fmt.Sprintf("getACL path=%q", r.Path))
	case w < 640:
		r := proto.SetACLRequest{Path: g.aclPath(), ACL: g.acl(), Version: g.version()}
		return g.normal(proto.OpSetACL, enc(r.Encode), fmt.Sprintf("setACL path=%q acl=%s version=%d", r.Path, aclString(r.ACL), r.Version))
	case w < 720:
		n := g.r.IntN(5)
		var m proto.MultiRequest
		descs := []string{}
		for i := 0; i < n; i++ {
			op := g.multiOp()
			m.Ops = append(m.Ops, op)
			descs = append(descs, multiOpDesc(op))
		}
		return g.normal(proto.OpMulti, enc(m.Encode), "multi ["+strings.Join(descs, "; ")+"]")
	case w < 750:
		n := 1 + g.r.IntN(4)
		var m proto.MultiRequest
		descs := []string{}
		for i := 0; i < n; i++ {
			op := proto.MultiOp{Type: proto.OpGetData, Read: proto.PathWatchRequest{Path: g.path()}}
			if g.pct(50) {
				op.Type = proto.OpGetChildren
			}
			m.Ops = append(m.Ops, op)
			descs = append(descs, multiOpDesc(op))
		}
		return g.normal(proto.OpMultiRead, enc(m.Encode), "multiRead ["+strings.Join(descs, "; ")+"]")
	case w < 775: // top-level check; the reference gets the equivalent one-op multi
		r := proto.DeleteRequest{Path: g.path(), Version: g.version()}
		m := proto.MultiRequest{Ops: []proto.MultiOp{{Type: proto.OpCheck, Delete: r}}}
		alt := g.normal(proto.OpMulti, enc(m.Encode), "multi [check]")
		req := g.normal(proto.OpCheck, enc(r.Encode), fmt.Sprintf("check path=%q version=%d (reference: as multi [check])", r.Path, r.Version))
		req.refAlt = &alt
		return req
	case w < 795:
		r := proto.PathRequest{Path: g.path()}
		return g.normal(proto.OpGetAllChildrenNum, enc(r.Encode), fmt.Sprintf("getAllChildrenNumber path=%q", r.Path))
	case w < 815:
		prefixes := []string{g.root, g.root + "/d", g.root + "/x", g.root + "/d/a", "/", g.root + "/d/"}
		r := proto.PathRequest{Path: prefixes[g.r.IntN(len(prefixes))]}
		return g.normal(proto.OpGetEphemerals, enc(r.Encode), fmt.Sprintf("getEphemerals prefix=%q", r.Path))
	case w < 850:
		r := proto.WatchTypeRequest{Path: g.path(), Type: int32(g.r.IntN(2))}
		if g.pct(10) {
			r.Path = g.root
		}
		if g.pct(3) {
			r.Type = 2
		}
		if r.Type < 2 && !g.useWatch(r.Path, 2<<r.Type) {
			return g.request()
		}
		return g.normal(proto.OpAddWatch, enc(r.Encode), fmt.Sprintf("addWatch path=%q mode=%d", r.Path, r.Type))
	case w < 885:
		op := proto.OpRemoveWatches
		if w >= 867 {
			op = proto.OpCheckWatches
		}
		r := proto.WatchTypeRequest{Path: g.path(), Type: int32(1 + g.r.IntN(3))}
		if g.pct(4) {
			r.Type = int32(4 + g.r.IntN(2))
		}
		if !g.mixModes && g.modes[g.cur][r.Path]&6 != 0 {
			return g.request() // 3.8's removeWatches also removes persistent watches
		}
		return g.normal(op, enc(r.Encode), fmt.Sprintf("%v path=%q type=%d", op, r.Path, r.Type))
	case w < 905:
		req := request{kind: kSetWatches, xid: proto.XidSetWatches, relNow: g.pct(50), sw2: g.pct(40)}
		list := func(mode int) []string {
			out := []string{} // never a null vector: the reference NPEs on one (real clients never send it)
			for i := g.r.IntN(3); i > 0; i-- {
				if p := g.path(); g.useWatch(p, mode) {
					out = append(out, p)
				}
			}
			return out
		}
		req.sw = proto.SetWatches{DataWatches: list(1), ExistWatches: list(1), ChildWatches: list(1)}
		req.op = proto.OpSetWatches
		if req.sw2 {
			req.op = proto.OpSetWatches2
			req.sw.PersistentWatches, req.sw.PersistentRecursiveWatches = list(2), list(4)
		}
		rel := "0"
		if req.relNow {
			rel = "lastZxidSeen"
		}
		req.desc = fmt.Sprintf("%v rel=%s data=%q exist=%q child=%q persistent=%q recursive=%q", req.op, rel,
			req.sw.DataWatches, req.sw.ExistWatches, req.sw.ChildWatches, req.sw.PersistentWatches, req.sw.PersistentRecursiveWatches)
		return req
	case w < 940:
		auths := [][2]string{{"digest", "alice:secret"}, {"digest", "alice:secret"}, {"digest", "alice:wrong"}, {"digest", "bob:pw"}, {"foo", "x"}}
		a := auths[g.r.IntN(len(auths))]
		if a[0] == "foo" && g.pct(50) {
			a = auths[0]
		}
		if a[0] == "foo" {
			g.forgetWatches() // AUTHFAILED closes the connection; the harness reattaches
		}
		r := proto.AuthPacket{Scheme: a[0], Auth: []byte(a[1])}
		req := g.normal(proto.OpAuth, enc(r.Encode), fmt.Sprintf("auth scheme=%s auth=%q", a[0], a[1]))
		req.xid = proto.XidAuth
		return req
	case w < 955:
		return g.normal(proto.OpWhoAmI, nil, "whoAmI")
	case w < 975:
		r := proto.PathRequest{Path: g.path()}
		return g.normal(proto.OpSync, enc(r.Encode), fmt.Sprintf("sync path=%q", r.Path))
	case w < 990:
		g.forgetWatches()
		return request{kind: kClose, op: proto.OpCloseSession, desc: "closeSession (then a new session in this slot)"}
	default:
		g.forgetWatches()
		return request{kind: kReconnect, desc: "drop the connection and reattach the session"}
	}
}

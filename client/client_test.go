package client_test

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/internal/testutil/tcpproxy"
)

func TestAgainstServers(t *testing.T) {
	forEachServer(t, []testCase{
		{"crud", testCRUD},
		{"create modes", testCreateModes},
		{"txn", testTxn},
		{"multi read", testMultiRead},
		{"one-shot watches", testOneShotWatches},
		{"persistent watches", testPersistentWatches},
		{"remove watches", testRemoveWatches},
		{"chroot", testChroot},
		{"digest auth", testDigestAuth},
		{"misc", testMisc},
		{"context", testContext},
		{"reconnect", testReconnect},
		{"expiry by timeout", testExpiryByTimeout},
		{"expiry by close", testExpiryByClose},
		{"hosts", testHosts},
	})
}

func testCRUD(t *testing.T, e *env) {
	ctx := ctxT(t)
	c := e.connect(t)
	p := e.p("a")
	if got := must(c.Create(ctx, p, []byte("one"), client.Persistent))(t); got != p {
		t.Fatalf("create returned %q", got)
	}
	data, st := must2(c.Get(ctx, p))(t)
	if string(data) != "one" || st.Version != 0 || st.DataLength != 3 {
		t.Fatalf("get: %q %+v", data, st)
	}
	st2 := must(c.Set(ctx, p, []byte("two"), 0))(t)
	if st2.Version != 1 || st2.Mzxid <= st.Mzxid {
		t.Fatalf("set stat %+v", st2)
	}
	_, err := c.Set(ctx, p, []byte("x"), 0)
	if !errors.Is(err, client.ErrBadVersion) {
		t.Fatalf("set with stale version: %v", err)
	}
	if _, err := c.Create(ctx, p, nil, client.Persistent); !errors.Is(err, client.ErrNodeExists) ||
		err.Error() != "Node already exists: "+p {
		t.Fatalf("create twice: %v", err)
	}
	must(c.Create(ctx, p+"/child", nil, client.Persistent))(t)
	if err := c.Delete(ctx, p, -1); !errors.Is(err, client.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	kids, st3 := must2(c.Children(ctx, p))(t)
	if !slices.Equal(kids, []string{"child"}) || st3.NumChildren != 1 {
		t.Fatalf("children %v %+v", kids, st3)
	}
	ok, _ := must2(c.Exists(ctx, p+"/child"))(t)
	if !ok {
		t.Fatal("exists: false")
	}
	if err := c.Delete(ctx, p+"/child", 5); !errors.Is(err, client.ErrBadVersion) {
		t.Fatalf("delete bad version: %v", err)
	}
	if err := c.Delete(ctx, p+"/child", 0); err != nil {
		t.Fatal(err)
	}
	ok, st4 := must2(c.Exists(ctx, p+"/child"))(t)
	if ok || st4 != nil {
		t.Fatalf("exists after delete: %v %v", ok, st4)
	}
	_, _, err = c.Get(ctx, p+"/child")
	var zerr *client.Error
	if !errors.Is(err, client.ErrNoNode) || !errors.As(err, &zerr) || zerr.Path != p+"/child" ||
		err.Error() != "Node does not exist: "+p+"/child" {
		t.Fatalf("get deleted: %v", err)
	}
	if _, err := c.Create(ctx, e.p("missing/x"), nil, client.Persistent); !errors.Is(err, client.ErrNoNode) {
		t.Fatalf("create without parent: %v", err)
	}
	if _, _, err := c.Get(ctx, "relative"); !errors.Is(err, client.ErrBadPath) {
		t.Fatalf("relative path: %v", err)
	}
	// Empty and nil data.
	must(c.Create(ctx, e.p("empty"), []byte{}, client.Persistent))(t)
	data, _ = must2(c.Get(ctx, e.p("empty")))(t)
	if len(data) != 0 {
		t.Fatalf("empty data: %q", data)
	}
}

func testCreateModes(t *testing.T, e *env) {
	ctx := ctxT(t)
	c := e.connect(t)
	sid := c.SessionID()
	seqRE := regexp.MustCompile(`^` + regexp.QuoteMeta(e.p("s-")) + `\d{10}$`)
	for _, tc := range []struct {
		mode     client.CreateMode
		opts     []client.CreateOption
		seq      bool
		ephOwner int64
	}{
		{client.Persistent, nil, false, 0},
		{client.Ephemeral, nil, false, sid},
		{client.PersistentSequential, nil, true, 0},
		{client.EphemeralSequential, nil, true, sid},
		{client.Container, nil, false, 0},
		{client.PersistentWithTTL, []client.CreateOption{client.WithTTL(time.Hour)}, false, 0},
		{client.PersistentSequentialWithTTL, []client.CreateOption{client.WithTTL(time.Hour)}, true, 0},
	} {
		t.Run(tc.mode.String(), func(t *testing.T) {
			p := e.p("n-" + tc.mode.String())
			if tc.seq {
				p = e.p("s-")
			}
			got, st, err := c.Create2(ctx, p, []byte(tc.mode.String()), tc.mode, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if tc.seq && !seqRE.MatchString(got) || !tc.seq && got != p {
				t.Fatalf("created %q", got)
			}
			if st.EphemeralOwner != tc.ephOwner || st.Czxid == 0 || st.DataLength != int32(len(tc.mode.String())) {
				t.Fatalf("stat %+v, want ephemeralOwner %x", st, tc.ephOwner)
			}
			_, st2 := must2(c.Get(ctx, got))(t)
			if *st2 != *st {
				t.Fatalf("get stat %+v != create stat %+v", st2, st)
			}
		})
	}
	if _, err := c.Create(ctx, e.p("ttl0"), nil, client.PersistentWithTTL); !errors.Is(err, client.ErrBadArguments) {
		t.Fatalf("TTL mode without TTL: %v", err)
	}
	if _, err := c.Create(ctx, e.p("ttl1"), nil, client.Persistent, client.WithTTL(time.Second)); !errors.Is(err, client.ErrBadArguments) {
		t.Fatalf("TTL on a persistent node: %v", err)
	}
	eph := e.p("n-ephemeral")
	if _, err := c.Create(ctx, eph+"/x", nil, client.Persistent); !errors.Is(err, client.ErrNoChildrenForEphemerals) {
		t.Fatalf("child of ephemeral: %v", err)
	}
	// Ephemerals go with the session.
	c2 := e.connect(t)
	must(c2.Create(ctx, e.p("e2"), nil, client.Ephemeral))(t)
	eph2 := must(c2.GetEphemerals(ctx, e.root))(t)
	if !slices.Equal(eph2, []string{e.p("e2")}) {
		t.Fatalf("getEphemerals: %v", eph2)
	}
	c2.Close()
	if ok, _ := must2(c.Exists(ctx, e.p("e2")))(t); ok {
		t.Fatal("ephemeral survived Close")
	}
}

func testTxn(t *testing.T, e *env) {
	ctx := ctxT(t)
	c := e.connect(t)
	a, b := e.p("a"), e.p("b")
	must(c.Create(ctx, a, []byte("a0"), client.Persistent))(t)
	res, err := c.Txn().
		Check(a, 0).
		SetData(a, []byte("a1"), 0).
		Create(b, []byte("b"), client.Persistent).
		Create(e.p("seq-"), nil, client.PersistentSequential).
		Delete(b, 0).
		Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 5 || res[1].Stat == nil || res[1].Stat.Version != 1 || res[2].Path != b ||
		!regexp.MustCompile(`/seq-\d{10}$`).MatchString(res[3].Path) {
		t.Fatalf("results %+v", res)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("op %d: %v", i, r.Err)
		}
	}
	// Both servers answer a create inside a multi with a plain create result (no Stat).
	if _, st := must2(c.Get(ctx, res[3].Path))(t); res[1].Stat.Mzxid != st.Czxid {
		t.Fatalf("ops of one txn at different zxids: %x %x", res[1].Stat.Mzxid, st.Czxid)
	}
	// Failure: the second op fails, the first is rolled back, the third not tried.
	res, err = c.Txn().
		SetData(a, []byte("a2"), 1).
		Create(a, nil, client.Persistent).
		Delete(a, -1).
		Commit(ctx)
	var te *client.TxnError
	if !errors.Is(err, client.ErrNodeExists) || !errors.As(err, &te) || te.Index != 1 {
		t.Fatalf("failed txn: %v", err)
	}
	if len(res) != 3 || !errors.Is(res[0].Err, client.ErrRolledBack) ||
		!errors.Is(res[1].Err, client.ErrNodeExists) || !errors.Is(res[2].Err, client.ErrRuntimeInconsistency) {
		t.Fatalf("failed txn results: %+v", res)
	}
	data, st := must2(c.Get(ctx, a))(t)
	if string(data) != "a1" || st.Version != 1 {
		t.Fatalf("after rolled back txn: %q %+v", data, st)
	}
	if _, err := c.Txn().Check(e.p("none"), -1).Commit(ctx); !errors.Is(err, client.ErrNoNode) {
		t.Fatalf("check missing: %v", err)
	}
	if res, err := c.Txn().Commit(ctx); err != nil || len(res) != 0 {
		t.Fatalf("empty txn: %v %v", res, err)
	}
}

func testMultiRead(t *testing.T, e *env) {
	ctx := ctxT(t)
	c := e.connect(t)
	must(c.Create(ctx, e.p("a"), []byte("A"), client.Persistent))(t)
	must(c.Create(ctx, e.p("a/k"), nil, client.Persistent))(t)
	res := must(c.MultiRead(ctx, client.GetDataOp(e.p("a")), client.ChildrenOp(e.p("a")),
		client.GetDataOp(e.p("missing")), client.ChildrenOp(e.root)))(t)
	if string(res[0].Data) != "A" || res[0].Stat == nil || res[0].Stat.NumChildren != 1 ||
		!slices.Equal(res[1].Children, []string{"k"}) || !errors.Is(res[2].Err, client.ErrNoNode) ||
		!slices.Equal(res[3].Children, []string{"a"}) {
		t.Fatalf("multiRead %+v", res)
	}
}

func testOneShotWatches(t *testing.T, e *env) {
	ctx := ctxT(t)
	c, other := e.connect(t), e.connect(t)
	p := e.p("w")
	// exists on a missing node, then creation.
	ok, _, ex, err := c.ExistsW(ctx, p)
	if err != nil || ok {
		t.Fatalf("existsW: %v %v", ok, err)
	}
	must(other.Create(ctx, p, []byte("1"), client.Persistent))(t)
	expectEvent(t, ex, client.EventNodeCreated, p)
	if _, ok := <-ex; ok {
		t.Fatal("one-shot channel not closed")
	}
	// data change
	_, _, dw, err := c.GetW(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	_, _, ew, _ := c.ExistsW(ctx, p)
	_, _, cw, err := c.ChildrenW(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	must(other.Set(ctx, p, []byte("2"), -1))(t)
	expectEvent(t, dw, client.EventNodeDataChanged, p)
	expectEvent(t, ew, client.EventNodeDataChanged, p)
	must(other.Create(ctx, p+"/c", nil, client.Persistent))(t)
	expectEvent(t, cw, client.EventNodeChildrenChanged, p)
	// deletion fires data and child watches
	_, _, dw, _ = c.GetW(ctx, p+"/c")
	_, _, cw, _ = c.ChildrenW(ctx, p+"/c")
	_, _, pw, _ := c.ChildrenW(ctx, p)
	if err := other.Delete(ctx, p+"/c", -1); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, dw, client.EventNodeDeleted, p+"/c")
	expectEvent(t, cw, client.EventNodeDeleted, p+"/c")
	expectEvent(t, pw, client.EventNodeChildrenChanged, p)
	// One-shot: a second change does not fire a spent watch, and the event comes
	// before the reply of a read that sees the change.
	_, _, dw, _ = c.GetW(ctx, p)
	must(c.Set(ctx, p, []byte("3"), -1))(t)
	select {
	case ev := <-dw:
		if ev.Type != client.EventNodeDataChanged {
			t.Fatalf("event %v", ev)
		}
	default:
		t.Fatal("own write's reply arrived before the watch event")
	}
	// Failed watch calls set nothing.
	if _, _, _, err := c.GetW(ctx, e.p("none")); !errors.Is(err, client.ErrNoNode) {
		t.Fatal(err)
	}
}

func testPersistentWatches(t *testing.T, e *env) {
	ctx := ctxT(t)
	c, other := e.connect(t), e.connect(t)
	p := e.p("pw")
	pers, removeP, err := c.AddWatch(ctx, p, client.WatchPersistent)
	if err != nil {
		t.Fatal(err)
	}
	rec, removeR, err := c.AddWatch(ctx, e.root, client.WatchPersistentRecursive)
	if err != nil {
		t.Fatal(err)
	}
	must(other.Create(ctx, p, nil, client.Persistent))(t)
	expectEvent(t, pers, client.EventNodeCreated, p)
	expectEvent(t, rec, client.EventNodeCreated, p)
	must(other.Create(ctx, p+"/x", nil, client.Persistent))(t)
	expectEvent(t, pers, client.EventNodeChildrenChanged, p)
	expectEvent(t, rec, client.EventNodeCreated, p+"/x")
	must(other.Set(ctx, p+"/x", []byte("d"), -1))(t)
	expectEvent(t, rec, client.EventNodeDataChanged, p+"/x")
	must(other.Set(ctx, p, []byte("d"), -1))(t)
	expectEvent(t, pers, client.EventNodeDataChanged, p)
	expectEvent(t, rec, client.EventNodeDataChanged, p)
	// Persistent: still there after firing.
	must(other.Set(ctx, p, []byte("e"), -1))(t)
	expectEvent(t, pers, client.EventNodeDataChanged, p)
	expectEvent(t, rec, client.EventNodeDataChanged, p)
	expectNone(t, pers)
	if err := removeP(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := <-pers; ok {
		t.Fatal("persistent channel open after remove")
	}
	if err := removeP(ctx); err != nil {
		t.Fatalf("second remove: %v", err)
	}
	must(other.Set(ctx, p, []byte("f"), -1))(t)
	expectEvent(t, rec, client.EventNodeDataChanged, p)
	if err := removeR(ctx); err != nil {
		t.Fatal(err)
	}
	must(other.Set(ctx, p, []byte("g"), -1))(t)
	if _, ok := <-rec; ok {
		t.Fatal("recursive channel open after remove")
	}
	// The server dropped the watch: a new recursive watch elsewhere sees only its own.
	rec2, _, err := c.AddWatch(ctx, p+"/x", client.WatchPersistentRecursive)
	if err != nil {
		t.Fatal(err)
	}
	must(other.Set(ctx, p, []byte("h"), -1))(t)
	must(other.Set(ctx, p+"/x", []byte("h"), -1))(t)
	expectEvent(t, rec2, client.EventNodeDataChanged, p+"/x")
}

func testRemoveWatches(t *testing.T, e *env) {
	ctx := ctxT(t)
	c := e.connect(t)
	p := e.p("r")
	must(c.Create(ctx, p, nil, client.Persistent))(t)
	_, _, dw, _ := c.GetW(ctx, p)
	_, _, cw, _ := c.ChildrenW(ctx, p)
	if err := c.RemoveWatches(ctx, p, client.WatcherData); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, dw, client.EventDataWatchRemoved, p)
	if err := c.RemoveWatches(ctx, p, client.WatcherData); !errors.Is(err, client.ErrNoWatcher) {
		t.Fatalf("second removeWatches: %v", err)
	}
	must(c.Create(ctx, p+"/k", nil, client.Persistent))(t)
	expectEvent(t, cw, client.EventNodeChildrenChanged, p)
}

func testChroot(t *testing.T, e *env) {
	ctx := ctxT(t)
	plain := e.connect(t)
	c := connectTo(t, e.addr+e.root)
	if got := must(c.Create(ctx, "/a", []byte("x"), client.Persistent))(t); got != "/a" {
		t.Fatalf("create under chroot returned %q", got)
	}
	if data, _ := must2(plain.Get(ctx, e.p("a")))(t); string(data) != "x" {
		t.Fatalf("chrooted create landed elsewhere: %q", data)
	}
	seq := must(c.Create(ctx, "/a/s-", nil, client.EphemeralSequential))(t)
	if !regexp.MustCompile(`^/a/s-\d{10}$`).MatchString(seq) {
		t.Fatalf("sequential under chroot: %q", seq)
	}
	if eph := must(c.GetEphemerals(ctx, "/"))(t); !slices.Equal(eph, []string{seq}) {
		t.Fatalf("getEphemerals under chroot: %v", eph)
	}
	kids, _ := must2(c.Children(ctx, "/"))(t)
	if !slices.Equal(kids, []string{"a"}) {
		t.Fatalf("children of chroot: %v", kids)
	}
	_, _, dw, _ := c.GetW(ctx, "/a")
	rec, _, _ := c.AddWatch(ctx, "/", client.WatchPersistentRecursive)
	_, _, rw, _ := c.ExistsW(ctx, "/")
	must(plain.Set(ctx, e.p("a"), nil, -1))(t)
	expectEvent(t, dw, client.EventNodeDataChanged, "/a")
	expectEvent(t, rec, client.EventNodeDataChanged, "/a")
	must(plain.Set(ctx, e.root, nil, -1))(t)
	expectEvent(t, rw, client.EventNodeDataChanged, "/")
	expectEvent(t, rec, client.EventNodeDataChanged, "/")
	res, err := c.Txn().Create("/t-", nil, client.PersistentSequential).Commit(ctx)
	if err != nil || !regexp.MustCompile(`^/t-\d{10}$`).MatchString(res[0].Path) {
		t.Fatalf("txn under chroot: %+v %v", res, err)
	}
	if _, _, err := c.Get(ctx, "/missing"); err == nil || err.Error() != "Node does not exist: /missing" {
		t.Fatalf("error path under chroot: %v", err)
	}
}

func testDigestAuth(t *testing.T, e *env) {
	ctx := ctxT(t)
	owner := e.connect(t, client.WithDigestAuth("alice", "secret"))
	p := e.p("private")
	must(owner.Create(ctx, p, []byte("s"), client.Persistent, client.WithACL(client.CreatorAllACL)))(t)
	acl, _ := must2(owner.GetACL(ctx, p))(t)
	want := client.DigestACL(client.PermAll, "alice", "secret")
	if !slices.Equal(acl, want) {
		t.Fatalf("acl %+v, want %+v", acl, want)
	}
	ids := must(owner.WhoAmI(ctx))(t)
	if !slices.Contains(ids, client.ID{Scheme: "digest", ID: "alice"}) {
		t.Fatalf("whoAmI %+v", ids)
	}
	anon := e.connect(t)
	_, _, err := anon.Get(ctx, p)
	if !errors.Is(err, client.ErrNoAuth) || err.Error() != "Insufficient permission : "+p {
		t.Fatalf("anonymous get: %v", err)
	}
	// A wrong password is not an error, but gives no access.
	if err := anon.AddAuth(ctx, "digest", []byte("alice:wrong")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := anon.Get(ctx, p); !errors.Is(err, client.ErrNoAuth) {
		t.Fatalf("get with wrong password: %v", err)
	}
	if err := anon.AddAuth(ctx, "digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	if data, _ := must2(anon.Get(ctx, p))(t); string(data) != "s" {
		t.Fatalf("get after addAuth: %q", data)
	}
	// Read-only ACL for everyone plus admin for alice.
	must(owner.SetACL(ctx, p, append(client.ReadACLUnsafe, want...), -1))(t)
	third := e.connect(t)
	must2(third.Get(ctx, p))(t)
	if _, err := third.Set(ctx, p, nil, -1); !errors.Is(err, client.ErrNoAuth) {
		t.Fatalf("set without write perm: %v", err)
	}
	if _, err := owner.Create(ctx, e.p("bad"), nil, client.Persistent,
		client.WithACL([]client.ACL{{Perms: client.PermAll, ID: client.ID{Scheme: "nope", ID: "x"}}})); !errors.Is(err, client.ErrInvalidACL) {
		t.Fatalf("invalid acl: %v", err)
	}
	// An unknown scheme fails the auth; the client reconnects without it.
	events := make(chan client.SessionEvent, 16)
	c := e.connect(t, client.WithSessionEventChannel(events))
	if err := c.AddAuth(ctx, "nosuchscheme", []byte("x")); !errors.Is(err, client.ErrAuthFailed) {
		t.Fatalf("unknown scheme: %v", err)
	}
	waitState(t, events, client.StateAuthFailed)
	waitState(t, events, client.StateConnected)
	must2(c.Exists(ctx, e.root))(t)
}

func testMisc(t *testing.T, e *env) {
	ctx := ctxT(t)
	c := e.connect(t)
	must(c.Create(ctx, e.p("a"), nil, client.Persistent))(t)
	must(c.Create(ctx, e.p("a/b"), nil, client.Persistent))(t)
	must(c.Create(ctx, e.p("a/b/c"), nil, client.Persistent))(t)
	if n := must(c.GetAllChildrenNumber(ctx, e.p("a")))(t); n != 2 {
		t.Fatalf("getAllChildrenNumber %d", n)
	}
	if _, err := c.GetAllChildrenNumber(ctx, e.p("none")); !errors.Is(err, client.ErrNoNode) {
		t.Fatalf("getAllChildrenNumber missing: %v", err)
	}
	if err := c.Sync(ctx, e.p("a")); err != nil {
		t.Fatal(err)
	}
	if err := c.Sync(ctx, e.p("none")); err != nil {
		t.Fatalf("sync on a missing path: %v", err)
	}
	if c.LastZxid() == 0 || c.SessionTimeout() <= 0 || c.Server() != e.addr || c.State() != client.StateConnected {
		t.Fatalf("zxid %x timeout %v server %q state %v", c.LastZxid(), c.SessionTimeout(), c.Server(), c.State())
	}
	// Pipelining: many calls at once, all answered.
	errs := make(chan error, 200)
	for i := 0; i < 200; i++ {
		go func() {
			_, _, err := c.Get(ctx, e.p("a"))
			errs <- err
		}()
	}
	for i := 0; i < 200; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	big := bytes.Repeat([]byte("x"), 512*1024)
	must(c.Set(ctx, e.p("a"), big, -1))(t)
	if data, _ := must2(c.Get(ctx, e.p("a")))(t); !bytes.Equal(data, big) {
		t.Fatal("big data mismatch")
	}
	c.Close()
	if _, _, err := c.Get(ctx, "/"); !errors.Is(err, client.ErrClosed) {
		t.Fatalf("get after close: %v", err)
	}
}

func testContext(t *testing.T, e *env) {
	ctx := ctxT(t)
	px := tcpproxy.New(t, e.addr)
	events := make(chan client.SessionEvent, 16)
	c := connectTo(t, px.Addr(), client.WithSessionEventChannel(events))
	// A call made while disconnected waits, then gives up with its context.
	px.Block(true)
	px.Cut()
	waitState(t, events, client.StateDisconnected)
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := c.Get(short, "/")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 3*time.Second {
		t.Fatalf("blocked get: %v after %v", err, time.Since(start))
	}
	canceled, cancel2 := context.WithCancel(ctx)
	go func() { time.Sleep(100 * time.Millisecond); cancel2() }()
	if _, err := c.Create(canceled, e.p("x"), nil, client.Persistent); !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled create: %v", err)
	}
	// A call made while disconnected goes through once the connection is back.
	done := make(chan error, 1)
	go func() {
		_, err := c.Create(ctx, e.p("later"), nil, client.Persistent)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond)
	px.Block(false)
	if err := <-done; err != nil {
		t.Fatalf("create after reconnect: %v", err)
	}
	// An already-ended context fails at once.
	if _, _, err := c.Get(canceled, "/"); !errors.Is(err, context.Canceled) {
		t.Fatalf("get with ended context: %v", err)
	}
}

func testReconnect(t *testing.T, e *env) {
	ctx := ctxT(t)
	px := tcpproxy.New(t, e.addr)
	events := make(chan client.SessionEvent, 16)
	c := connectTo(t, px.Addr(), client.WithSessionEventChannel(events), client.WithDigestAuth("bob", "pw"))
	waitState(t, events, client.StateConnected)
	other := e.connect(t)
	sid := c.SessionID()
	eph := must(c.Create(ctx, e.p("eph"), nil, client.Ephemeral))(t)
	must(c.Create(ctx, e.p("d"), nil, client.Persistent, client.WithACL(client.CreatorAllACL)))(t)
	_, _, dw, _ := c.GetW(ctx, e.p("d"))
	_, _, xw, _ := c.ExistsW(ctx, e.p("new"))
	_, _, cw, _ := c.ChildrenW(ctx, e.root)
	rec, _, _ := c.AddWatch(ctx, e.root, client.WatchPersistentRecursive)
	_, _, quiet, _ := c.GetW(ctx, e.p("eph"))

	px.Block(true)
	px.Cut()
	waitState(t, events, client.StateDisconnected)
	// In-flight or not, calls now wait; changes made meanwhile must not be missed.
	must(other.Create(ctx, e.p("new"), nil, client.Persistent))(t)
	owner := e.connect(t, client.WithDigestAuth("bob", "pw"))
	must(owner.Set(ctx, e.p("d"), []byte("changed"), -1))(t)
	px.Block(false)
	waitState(t, events, client.StateConnected)
	if c.SessionID() != sid {
		t.Fatalf("new session %x after reconnect, want %x", c.SessionID(), sid)
	}
	expectEvent(t, xw, client.EventNodeCreated, e.p("new"))
	expectEvent(t, dw, client.EventNodeDataChanged, e.p("d"))
	expectEvent(t, cw, client.EventNodeChildrenChanged, e.root)
	expectNone(t, quiet)
	// The ephemeral survived; the auth was presented again.
	if ok, st := must2(other.Exists(ctx, eph))(t); !ok || st.EphemeralOwner != sid {
		t.Fatalf("ephemeral after reconnect: %v %+v", ok, st)
	}
	if data, _ := must2(c.Get(ctx, e.p("d")))(t); string(data) != "changed" {
		t.Fatalf("read after reconnect: %q", data)
	}
	// The persistent recursive watch is registered again and fires.
	must(other.Set(ctx, e.p("new"), []byte("1"), -1))(t)
	for {
		ev := recv(t, rec, "recursive after reconnect")
		if ev.Type == client.EventNodeDataChanged && ev.Path == e.p("new") {
			break
		}
	}
	// A reconnect to the same server several times in a row.
	for i := 0; i < 3; i++ {
		px.Cut()
		waitState(t, events, client.StateConnected)
		must2(c.Get(ctx, e.p("d")))(t)
	}
}

func testExpiryByTimeout(t *testing.T, e *env) {
	ctx := ctxT(t)
	px := tcpproxy.New(t, e.addr)
	events := make(chan client.SessionEvent, 16)
	c := connectTo(t, px.Addr(), client.WithSessionEventChannel(events), client.WithSessionTimeout(time.Second))
	if c.SessionTimeout() > 2*time.Second {
		t.Fatalf("session timeout %v", c.SessionTimeout())
	}
	eph := must(c.Create(ctx, e.p("eph"), nil, client.Ephemeral))(t)
	_, _, dw, _ := c.GetW(ctx, eph)
	rec, _, _ := c.AddWatch(ctx, e.root, client.WatchPersistentRecursive)
	px.Block(true)
	px.Cut()
	waitState(t, events, client.StateDisconnected)
	other := e.connect(t)
	deadline := time.Now().Add(15 * time.Second)
	for {
		ok, _ := must2(other.Exists(ctx, eph))(t)
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("session not expired by the server after 15s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	px.Block(false)
	waitState(t, events, client.StateExpired)
	expectExpired(t, c, dw, rec)
}

func expectExpired(t *testing.T, c *client.Conn, watches ...<-chan client.Event) {
	t.Helper()
	ctx := ctxT(t)
	_, _, err := c.Get(ctx, "/x")
	if !errors.Is(err, client.ErrSessionExpired) || err.Error() != "KeeperErrorCode = Session expired for /x" {
		t.Fatalf("get after expiry: %v", err)
	}
	if c.State() != client.StateExpired {
		t.Fatalf("state %v", c.State())
	}
	for _, w := range watches {
		ev := recv(t, w, "expiry event")
		if ev.Type != client.EventNone || !errors.Is(ev.Err, client.ErrSessionExpired) {
			t.Fatalf("watch end %v", ev)
		}
		if _, ok := <-w; ok {
			t.Fatal("watch channel open after expiry")
		}
	}
}

func testExpiryByClose(t *testing.T, e *env) {
	ctx := ctxT(t)
	px := tcpproxy.New(t, e.addr)
	events := make(chan client.SessionEvent, 16)
	c := connectTo(t, px.Addr(), client.WithSessionEventChannel(events))
	eph := must(c.Create(ctx, e.p("eph"), nil, client.Ephemeral))(t)
	_, _, dw, _ := c.GetW(ctx, e.root)
	// While c is cut off, another process takes the session over and closes it.
	px.Block(true)
	px.Cut()
	waitState(t, events, client.StateDisconnected)
	thief := e.connect(t, client.WithSession(c.SessionID(), c.SessionPassword()))
	if thief.SessionID() != c.SessionID() {
		t.Fatalf("WithSession gave session %x, want %x", thief.SessionID(), c.SessionID())
	}
	if ok, _ := must2(thief.Exists(ctx, eph))(t); !ok {
		t.Fatal("ephemeral gone while its session was alive")
	}
	thief.Close()
	if ok, _ := must2(e.connect(t).Exists(ctx, eph))(t); ok {
		t.Fatal("ephemeral survived closeSession")
	}
	px.Block(false)
	waitState(t, events, client.StateExpired)
	expectExpired(t, c, dw)
	// Resuming a dead session fails.
	if _, err := client.Connect(ctx, e.addr, client.WithSession(c.SessionID(), c.SessionPassword())); !errors.Is(err, client.ErrSessionExpired) {
		t.Fatalf("resume dead session: %v", err)
	}
}

func testHosts(t *testing.T, e *env) {
	ctx := ctxT(t)
	// A dead host in the list is skipped.
	dead := tcpproxy.New(t, "127.0.0.1:1")
	dead.Block(true)
	c := connectTo(t, dead.Addr()+","+e.addr+e.root)
	must(c.Create(ctx, "/x", nil, client.Persistent))(t)
	if c.Server() != e.addr {
		t.Fatalf("server %q", c.Server())
	}
	if _, err := client.Connect(ctx, ""); err == nil {
		t.Fatal("empty connect string accepted")
	}
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := client.Connect(short, dead.Addr()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("connect to a dead host: %v", err)
	}
}

// must2 checks the error of a three-result call.
func must2[A, B any](a A, b B, err error) func(testing.TB) (A, B) {
	return func(t testing.TB) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

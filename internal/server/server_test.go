package server

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/corral-io/corral/proto"
)

// testServer starts a server on a free loopback port in dir (a new temp dir when "").
func testServer(t *testing.T, dir string, mod ...func(*Config)) *Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	cfg := Config{
		ClientAddr:             "127.0.0.1:0",
		DataDir:                dir,
		TickTime:               100 * time.Millisecond,
		MinSessionTimeout:      200 * time.Millisecond,
		MaxSessionTimeout:      10 * time.Second,
		ContainerCheckInterval: 100 * time.Millisecond,
		FourLetterWords:        []string{"*"},
		Logger:                 slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Listen(); err != nil {
		t.Fatalf("Listen: %v", err)
	}
	go s.Serve()
	t.Cleanup(s.Close)
	return s
}

func connect(t *testing.T, s *Server, timeout time.Duration) (*zk.Conn, <-chan zk.Event) {
	t.Helper()
	c, ev, err := zk.Connect([]string{s.Addr().String()}, timeout, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(5 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-deadline:
			t.Fatalf("no session after 5s (state %v)", c.State())
		}
	}
	return c, ev
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func TestCRUD(t *testing.T) {
	s := testServer(t, "")
	c, _ := connect(t, s, 5*time.Second)
	p, err := c.Create("/a", []byte("x"), 0, zk.WorldACL(zk.PermAll))
	if err != nil || p != "/a" {
		t.Fatalf("create: %q %v", p, err)
	}
	data, st, err := c.Get("/a")
	if err != nil || string(data) != "x" || st.Version != 0 || st.DataLength != 1 {
		t.Fatalf("get: %q %+v %v", data, st, err)
	}
	if st.Czxid == 0 || st.Czxid != st.Mzxid || st.Ctime == 0 {
		t.Fatalf("stat: %+v", st)
	}
	st2, err := c.Set("/a", []byte("yy"), 0)
	if err != nil || st2.Version != 1 || st2.Mzxid <= st.Mzxid {
		t.Fatalf("set: %+v %v", st2, err)
	}
	if _, err := c.Set("/a", []byte("z"), 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("set with stale version: %v", err)
	}
	if _, err := c.Create("/a", nil, 0, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNodeExists) {
		t.Fatalf("create twice: %v", err)
	}
	for i := 0; i < 3; i++ {
		p, err := c.Create("/a/s-", nil, zk.FlagSequence, zk.WorldACL(zk.PermAll))
		if err != nil {
			t.Fatal(err)
		}
		if want := "/a/s-000000000" + string(rune('0'+i)); p != want {
			t.Fatalf("sequential name %q, want %q", p, want)
		}
	}
	kids, _, err := c.Children("/a")
	if err != nil || len(kids) != 3 {
		t.Fatalf("children: %v %v", kids, err)
	}
	if err := c.Delete("/a", -1); !errors.Is(err, zk.ErrNotEmpty) {
		t.Fatalf("delete non-empty: %v", err)
	}
	if _, _, err := c.Get("/nope"); !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("get missing: %v", err)
	}
	ok, _, err := c.Exists("/zookeeper")
	if err != nil || !ok {
		t.Fatalf("/zookeeper missing: %v", err)
	}
}

func TestMultiAndWatches(t *testing.T) {
	s := testServer(t, "")
	c, _ := connect(t, s, 5*time.Second)
	c2, _ := connect(t, s, 5*time.Second)
	if _, err := c.Create("/w", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	_, _, dataW, err := c.GetW("/w")
	if err != nil {
		t.Fatal(err)
	}
	_, _, childW, err := c.ChildrenW("/w")
	if err != nil {
		t.Fatal(err)
	}
	_, _, existW, err := c.ExistsW("/w/new")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c2.Multi(
		&zk.CreateRequest{Path: "/w/new", Data: []byte("1"), Acl: zk.WorldACL(zk.PermAll)},
		&zk.SetDataRequest{Path: "/w", Data: []byte("2"), Version: -1},
	)
	if err != nil || len(res) != 2 {
		t.Fatalf("multi: %v %v", res, err)
	}
	for name, ch := range map[string]<-chan zk.Event{"data": dataW, "child": childW, "exist": existW} {
		select {
		case ev := <-ch:
			if ev.Err != nil {
				t.Fatalf("%s watch: %v", name, ev.Err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s watch did not fire", name)
		}
	}
	// A failing multi changes nothing.
	_, err = c2.Multi(
		&zk.CreateRequest{Path: "/w/other", Acl: zk.WorldACL(zk.PermAll)},
		&zk.DeleteRequest{Path: "/w/missing", Version: -1},
	)
	if err == nil {
		t.Fatal("multi with a failing op succeeded")
	}
	if ok, _, _ := c.Exists("/w/other"); ok {
		t.Fatal("failed multi left /w/other behind")
	}
}

func TestEphemeralsGoWithSession(t *testing.T) {
	s := testServer(t, "")
	c, _ := connect(t, s, 5*time.Second)
	watcher, _ := connect(t, s, 5*time.Second)
	if _, err := c.Create("/e", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	_, _, ch, err := watcher.GetW("/e")
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("event %v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ephemeral not deleted on close")
	}
}

func TestSessionExpiryDeletesEphemerals(t *testing.T) {
	s := testServer(t, "")
	watcher, _ := connect(t, s, 5*time.Second)
	// A raw client that opens a session, creates an ephemeral and goes silent.
	nc := rawSession(t, s, 300)
	rawCreate(t, nc, 1, "/gone", proto.ModeEphemeral)
	_, _, ch, err := watcher.GetW("/gone")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-ch:
		if ev.Type != zk.EventNodeDeleted {
			t.Fatalf("event %v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ephemeral of an expired session is still there")
	}
}

func TestSessionSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s := testServer(t, dir)
	nc := rawSession(t, s, 10000)
	sid, pw := rawSessionID(nc)
	rawCreate(t, nc, 1, "/eph", proto.ModeEphemeral)
	rawCreate(t, nc, 2, "/per", proto.ModePersistent)
	nc.Close()
	s.Close()

	s2 := testServer(t, dir)
	c, _ := connect(t, s2, 5*time.Second)
	for _, p := range []string{"/eph", "/per"} {
		if ok, _, err := c.Exists(p); err != nil || !ok {
			t.Fatalf("%s lost across restart: %v", p, err)
		}
	}
	// Reattach the session: it is still valid, its ephemeral still there.
	nc2 := dial(t, s2)
	writeFrame(t, nc2, connectBody(10000, sid, pw, true))
	resp := readConnectResponse(t, nc2)
	if resp.TimeOut <= 0 || resp.SessionID != sid {
		t.Fatalf("reattach refused: %+v", resp)
	}
	// A wrong password is refused with timeout 0.
	nc3 := dial(t, s2)
	writeFrame(t, nc3, connectBody(10000, sid, make([]byte, 16), true))
	if r := readConnectResponse(t, nc3); r.TimeOut != 0 {
		t.Fatalf("wrong password accepted: %+v", r)
	}
}

func TestBadInputClosesOnlyThatConnection(t *testing.T) {
	s := testServer(t, "")
	good, _ := connect(t, s, 5*time.Second)
	cases := map[string][]byte{
		"negative length": {0x80, 0, 0, 0},
		"huge length":     {0x7f, 0xff, 0xff, 0xff},
		"garbage connect": append([]byte{0, 0, 0, 3}, 1, 2, 3),
	}
	for name, b := range cases {
		nc := dial(t, s)
		nc.Write(b)
		if !closedSoon(nc) {
			t.Errorf("%s: connection not closed", name)
		}
	}
	// Unknown opcode after a good handshake: UNIMPLEMENTED, then closed.
	nc := rawSession(t, s, 5000)
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.RequestHeader{Xid: 7, Type: 999}).Encode(e)
	proto.EndFrame(e, off)
	nc.Write(e.Bytes())
	h := readReply(t, nc)
	if h.Xid != 7 || h.Err != proto.ErrUnimplemented {
		t.Fatalf("unknown opcode reply: %+v", h)
	}
	if !closedSoon(nc) {
		t.Fatal("connection with unknown opcode not closed")
	}
	// Oversized frame after the handshake.
	nc = rawSession(t, s, 5000)
	binary.Write(nc, binary.BigEndian, int32(proto.DefaultMaxBuffer+1))
	if !closedSoon(nc) {
		t.Fatal("oversized frame did not close the connection")
	}
	if _, err := good.Create("/still-fine", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("other client harmed: %v", err)
	}
}

func TestFourLetterWords(t *testing.T) {
	s := testServer(t, "")
	if got := fourLW(t, s, "ruok"); got != "imok" {
		t.Fatalf("ruok: %q", got)
	}
	srvr := fourLW(t, s, "srvr")
	for _, want := range []string{"Zookeeper version: ", "Mode: standalone\n", "Zxid: 0x", "Node count: "} {
		if !strings.Contains(srvr, want) {
			t.Fatalf("srvr lacks %q:\n%s", want, srvr)
		}
	}
	mntr := fourLW(t, s, "mntr")
	if !strings.Contains(mntr, "zk_server_state\tstandalone\n") || !strings.Contains(mntr, "zk_znode_count\t") {
		t.Fatalf("mntr:\n%s", mntr)
	}
	if got := fourLW(t, s, "isro"); got != "rw" {
		t.Fatalf("isro: %q", got)
	}
}

func TestFourLetterWhitelist(t *testing.T) {
	s := testServer(t, "", func(c *Config) { c.FourLetterWords = []string{"ruok", "srvr"} })
	if got := fourLW(t, s, "wchc"); !strings.Contains(got, "not in the whitelist") {
		t.Fatalf("wchc: %q", got)
	}
}

func TestPipelinedRequestsAnsweredInOrder(t *testing.T) {
	s := testServer(t, "")
	nc := rawSession(t, s, 5000)
	// Interleave writes and reads without waiting: replies must come back in xid order
	// and each read must see the writes sent before it.
	e := proto.NewEncoder(nil)
	xid := int32(0)
	for i := 0; i < 200; i++ {
		xid++
		off := proto.BeginFrame(e)
		if i == 0 {
			(&proto.RequestHeader{Xid: xid, Type: proto.OpCreate}).Encode(e)
			(&proto.CreateRequest{Path: "/p", ACL: proto.WorldACL(proto.PermAll)}).Encode(e)
		} else {
			(&proto.RequestHeader{Xid: xid, Type: proto.OpSetData}).Encode(e)
			(&proto.SetDataRequest{Path: "/p", Data: []byte{byte(i)}, Version: -1}).Encode(e)
		}
		proto.EndFrame(e, off)
		xid++
		off = proto.BeginFrame(e)
		(&proto.RequestHeader{Xid: xid, Type: proto.OpGetData}).Encode(e)
		(&proto.PathWatchRequest{Path: "/p"}).Encode(e)
		proto.EndFrame(e, off)
	}
	go nc.Write(e.Bytes())
	br := bufio.NewReader(nc)
	for want := int32(1); want <= xid; want++ {
		frame, err := proto.ReadFrame(br, 1<<20, nil)
		if err != nil {
			t.Fatalf("reply %d: %v", want, err)
		}
		d := proto.NewDecoder(frame)
		var h proto.ReplyHeader
		h.Decode(d)
		if h.Xid != want || h.Err != proto.ErrOK {
			t.Fatalf("reply %+v, want xid %d", h, want)
		}
		if want%2 == 0 {
			var r proto.GetDataResponse
			r.Decode(d)
			if i := int(want/2 - 1); r.Stat.Version != int32(i) {
				t.Fatalf("read %d saw version %d, want %d", want, r.Stat.Version, i)
			}
		}
	}
}

// --- raw protocol helpers ---

func dial(t *testing.T, s *Server) net.Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.Addr().String(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	return nc
}

func fourLW(t *testing.T, s *Server, cmd string) string {
	nc := dial(t, s)
	nc.Write([]byte(cmd))
	b, _ := io.ReadAll(nc)
	return string(b)
}

func closedSoon(nc net.Conn) bool {
	nc.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 256)
	for {
		_, err := nc.Read(buf)
		if err != nil {
			var ne net.Error
			return !(errors.As(err, &ne) && ne.Timeout())
		}
	}
}

func writeFrame(t *testing.T, nc net.Conn, body []byte) {
	t.Helper()
	b := binary.BigEndian.AppendUint32(nil, uint32(len(body)))
	if _, err := nc.Write(append(b, body...)); err != nil {
		t.Fatal(err)
	}
}

func connectBody(timeout int32, sid int64, pw []byte, withRO bool) []byte {
	return proto.Marshal(&proto.ConnectRequest{TimeOut: timeout, SessionID: sid, Passwd: pw, OldClient: !withRO})
}

func readConnectResponse(t *testing.T, nc net.Conn) proto.ConnectResponse {
	t.Helper()
	frame, err := proto.ReadFrame(nc, 1<<20, nil)
	if err != nil {
		t.Fatalf("connect response: %v", err)
	}
	var r proto.ConnectResponse
	if err := proto.Unmarshal(frame, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

type rawConn struct {
	net.Conn
	sid int64
	pw  []byte
}

func rawSession(t *testing.T, s *Server, timeout int32) *rawConn {
	t.Helper()
	nc := dial(t, s)
	writeFrame(t, nc, connectBody(timeout, 0, make([]byte, 16), true))
	r := readConnectResponse(t, nc)
	if r.SessionID == 0 || r.TimeOut <= 0 {
		t.Fatalf("no session: %+v", r)
	}
	return &rawConn{Conn: nc, sid: r.SessionID, pw: r.Passwd}
}

func rawSessionID(nc *rawConn) (int64, []byte) { return nc.sid, nc.pw }

func rawCreate(t *testing.T, nc net.Conn, xid int32, path string, mode int32) {
	t.Helper()
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.RequestHeader{Xid: xid, Type: proto.OpCreate}).Encode(e)
	(&proto.CreateRequest{Path: path, ACL: proto.WorldACL(proto.PermAll), Flags: mode}).Encode(e)
	proto.EndFrame(e, off)
	nc.Write(e.Bytes())
	if h := readReply(t, nc); h.Err != proto.ErrOK || h.Xid != xid {
		t.Fatalf("create %s: %+v", path, h)
	}
}

func readReply(t *testing.T, nc net.Conn) proto.ReplyHeader {
	t.Helper()
	frame, err := proto.ReadFrame(nc, 1<<20, nil)
	if err != nil {
		t.Fatalf("read reply: %v", err)
	}
	var h proto.ReplyHeader
	if err := proto.Unmarshal(frame, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// A watcher without READ on a node hears nothing about it; one with READ does.
func TestWatchEventsNeedRead(t *testing.T) {
	s := testServer(t, "")
	owner, _ := connect(t, s, 5*time.Second)
	if err := owner.AddAuth("digest", []byte("alice:secret")); err != nil {
		t.Fatal(err)
	}
	stranger, _ := connect(t, s, 5*time.Second)
	friend, _ := connect(t, s, 5*time.Second)
	friend.AddAuth("digest", []byte("alice:secret"))
	_, _, strangerW, err := stranger.ExistsW("/secret")
	if err != nil {
		t.Fatal(err)
	}
	_, _, friendW, err := friend.ExistsW("/secret")
	if err != nil {
		t.Fatal(err)
	}
	acl := []zk.ACL{{Perms: zk.PermAll, Scheme: "digest", ID: "alice:" + DigestID("alice", "secret")[len("alice:"):]}}
	if _, err := owner.Create("/secret", []byte("x"), 0, acl); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-friendW:
		if ev.Type != zk.EventNodeCreated {
			t.Fatalf("friend got %v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("watcher with READ not notified")
	}
	// The stranger's ping round trip orders any event before it.
	if _, _, err := stranger.Exists("/"); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-strangerW:
		t.Fatalf("watcher without READ was told: %v", ev)
	case <-time.After(200 * time.Millisecond):
	}
}

func TestWhoAmIShowsDigestUser(t *testing.T) {
	s := testServer(t, "")
	nc := rawSession(t, s, 5000)
	e := proto.NewEncoder(nil)
	encodeRequest(e, proto.XidAuth, proto.OpAuth, &proto.AuthPacket{Scheme: "digest", Auth: []byte("bob:pw")})
	encodeRequest(e, 1, proto.OpWhoAmI, nil)
	nc.Write(e.Bytes())
	if h := readReply(t, nc); h.Err != 0 {
		t.Fatalf("auth: %+v", h)
	}
	frame, err := proto.ReadFrame(nc, 1<<20, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := proto.NewDecoder(frame)
	var h proto.ReplyHeader
	h.Decode(d)
	var r proto.WhoAmIResponse
	r.Decode(d)
	want := []proto.ID{{Scheme: "digest", ID: "bob"}, {Scheme: "ip", ID: "127.0.0.1"}}
	if len(r.Clients) != 2 || r.Clients[0] != want[0] || r.Clients[1] != want[1] {
		t.Fatalf("whoAmI = %+v, want %+v", r.Clients, want)
	}
}

// On one connection, a watch event is written before any reply that reflects the
// change it reports.
func TestEventBeforeReplyThatReflectsIt(t *testing.T) {
	s := testServer(t, "")
	a := rawSession(t, s, 5000)
	b := rawSession(t, s, 5000)
	rawCreate(t, b, 1, "/o", proto.ModePersistent)
	e := proto.NewEncoder(nil)
	encodeRequest(e, 1, proto.OpGetData, &proto.PathWatchRequest{Path: "/o", Watch: true})
	a.Write(e.Bytes())
	if h := readReply(t, a); h.Err != 0 || h.Xid != 1 {
		t.Fatalf("getData: %+v", h)
	}
	e.Reset()
	encodeRequest(e, 2, proto.OpSetData, &proto.SetDataRequest{Path: "/o", Data: []byte("x"), Version: -1})
	b.Write(e.Bytes())
	if h := readReply(t, b); h.Err != 0 {
		t.Fatalf("setData: %+v", h)
	}
	e.Reset()
	encodeRequest(e, 2, proto.OpGetData, &proto.PathWatchRequest{Path: "/o"})
	a.Write(e.Bytes())
	first := readReply(t, a)
	if first.Xid != proto.XidNotification {
		t.Fatalf("first frame after the change is %+v, want the notification", first)
	}
	if second := readReply(t, a); second.Xid != 2 {
		t.Fatalf("second frame %+v, want the getData reply", second)
	}
}

// A client that has seen a newer zxid than this member has applied is refused, so
// its view never goes back in time; one at or behind it is served.
func TestClientAheadIsRefused(t *testing.T) {
	s := testServer(t, "")
	nc := dial(t, s)
	writeFrame(t, nc, proto.Marshal(&proto.ConnectRequest{TimeOut: 5000, LastZxidSeen: s.applied.Load() + 1000, Passwd: make([]byte, 16)}))
	if !closedSoon(nc) {
		t.Fatal("a client ahead of the member was served")
	}
	ok := dial(t, s)
	writeFrame(t, ok, proto.Marshal(&proto.ConnectRequest{TimeOut: 5000, LastZxidSeen: s.applied.Load(), Passwd: make([]byte, 16)}))
	if r := readConnectResponse(t, ok); r.TimeOut <= 0 {
		t.Fatalf("a client at the member's zxid was refused: %+v", r)
	}
}

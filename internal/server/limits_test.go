package server

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/corral-io/corral/proto"
)

func encodeRequest(e *proto.Encoder, xid int32, op proto.OpCode, body proto.Record) {
	off := proto.BeginFrame(e)
	(&proto.RequestHeader{Xid: xid, Type: op}).Encode(e)
	if body != nil {
		body.Encode(e)
	}
	proto.EndFrame(e, off)
}

// readOKReplies reads the replies to xids from..to, in order, each OK.
func readOKReplies(t *testing.T, br *bufio.Reader, from, to int32) {
	t.Helper()
	for want := from; want <= to; want++ {
		frame, err := proto.ReadFrame(br, 1<<20, nil)
		if err != nil {
			t.Fatalf("reply %d: %v", want, err)
		}
		var h proto.ReplyHeader
		proto.Unmarshal(frame, &h)
		if h.Xid != want || h.Err != proto.ErrOK {
			t.Fatalf("reply %+v, want xid %d ok", h, want)
		}
	}
}

// A client that pipelines without limit is slowed down, not buffered without bound:
// the server stops reading its socket past MaxOutstanding requests in flight, and
// every request is still answered, in order.
func TestPipeliningIsBoundedByMaxOutstanding(t *testing.T) {
	const max = 8
	s := testServer(t, "", func(c *Config) { c.MaxOutstanding = max })
	nc := rawSession(t, s, 5000)
	e := proto.NewEncoder(nil)
	encodeRequest(e, 1, proto.OpCreate, &proto.CreateRequest{Path: "/bp", ACL: proto.WorldACL(proto.PermAll)})
	const n = 3000
	for xid := int32(2); xid <= n; xid++ {
		encodeRequest(e, xid, proto.OpSetData, &proto.SetDataRequest{Path: "/bp", Data: []byte("v"), Version: -1})
	}
	go nc.Write(e.Bytes())
	readOKReplies(t, bufio.NewReader(nc), 1, n)
	var hw int
	for _, c := range s.connList() {
		c.mu.Lock()
		if c.maxPending > hw {
			hw = c.maxPending
		}
		c.mu.Unlock()
	}
	if hw > max {
		t.Fatalf("%d requests were in flight at once, limit %d", hw, max)
	}
	if hw == 0 {
		t.Fatal("no request was ever in flight")
	}
}

// A client that stops reading its replies is disconnected once its queue of unsent
// replies passes the bound; other clients are not affected.
func TestClientThatStopsReadingIsDisconnected(t *testing.T) {
	s := testServer(t, "", func(c *Config) { c.MaxSendQueueBytes = 2 << 20 })
	good, _ := connect(t, s, 5*time.Second)
	big := make([]byte, 512<<10)
	if _, err := good.Create("/big", big, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	nc := rawSession(t, s, 5000)
	e := proto.NewEncoder(nil)
	const n = 400 // 200 MiB of replies
	for xid := int32(1); xid <= n; xid++ {
		encodeRequest(e, xid, proto.OpGetData, &proto.PathWatchRequest{Path: "/big"})
	}
	go nc.Write(e.Bytes())
	time.Sleep(500 * time.Millisecond) // not reading: the server's queue fills
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.Copy(io.Discard, nc)
	if err != nil {
		t.Fatalf("connection not closed by the server: %v after %d bytes", err, got)
	}
	if got >= n*int64(len(big)) {
		t.Fatalf("all %d bytes were delivered; expected a disconnect", got)
	}
	if s.stats.slowClients.Load() == 0 {
		t.Fatal("slow client not counted")
	}
	if _, _, err := good.Get("/big"); err != nil {
		t.Fatalf("other client harmed: %v", err)
	}
}

// Data just under jute.maxbuffer is accepted; a frame over it closes the connection
// and creates nothing.
func TestMaxBufferBoundary(t *testing.T) {
	s := testServer(t, "")
	c, _ := connect(t, s, 5*time.Second)
	if _, err := c.Create("/ok", make([]byte, 1<<20-1024), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("1 MiB - 1 KiB refused: %v", err)
	}
	nc := rawSession(t, s, 5000)
	e := proto.NewEncoder(nil)
	encodeRequest(e, 1, proto.OpCreate, &proto.CreateRequest{Path: "/toobig", Data: make([]byte, 1<<20+64), ACL: proto.WorldACL(proto.PermAll)})
	nc.Write(e.Bytes())
	if !closedSoon(nc) {
		t.Fatal("oversized create did not close the connection")
	}
	if ok, _, err := c.Exists("/toobig"); err != nil || ok {
		t.Fatalf("oversized node exists=%v err=%v", ok, err)
	}
}

func TestPerIPConnectionLimit(t *testing.T) {
	s := testServer(t, "", func(c *Config) { c.MaxClientCnxns = 2 })
	a, b := rawSession(t, s, 5000), rawSession(t, s, 5000)
	_, _ = a, b
	nc, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if !closedSoon(nc) {
		t.Fatal("third connection from one address accepted")
	}
	if s.stats.rejectedConns.Load() != 1 {
		t.Fatalf("rejections counted: %d", s.stats.rejectedConns.Load())
	}
}

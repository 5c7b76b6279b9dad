package server

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/corral-io/corral/proto"
)

// churnFrames are the three requests of a session-churn cycle.
type churnFrames struct{ connect, create, close []byte }

func newChurnFrames(parent string) churnFrames {
	frame := func(enc func(e *proto.Encoder)) []byte {
		e := proto.NewEncoder(nil)
		off := proto.BeginFrame(e)
		enc(e)
		proto.EndFrame(e, off)
		return e.Bytes()
	}
	return churnFrames{
		connect: frame(func(e *proto.Encoder) {
			(&proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16)}).Encode(e)
		}),
		create: frame(func(e *proto.Encoder) {
			(&proto.RequestHeader{Xid: 1, Type: proto.OpCreate}).Encode(e)
			(&proto.CreateRequest{Path: parent + "/e-", Data: []byte("x"), ACL: proto.WorldACL(proto.PermAll),
				Flags: proto.ModeEphemeralSequential}).Encode(e)
		}),
		close: frame(func(e *proto.Encoder) {
			(&proto.RequestHeader{Xid: 2, Type: proto.OpCloseSession}).Encode(e)
		}),
	}
}

// churnCycle opens a session on addr, creates an ephemeral node and closes the session,
// checking every reply; it returns the session id and the created path.
func churnCycle(addr string, f churnFrames, br *bufio.Reader) (int64, string, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, "", err
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	br.Reset(nc)
	if _, err := nc.Write(f.connect); err != nil {
		return 0, "", err
	}
	frame, err := proto.ReadFrame(br, 1<<20, nil)
	if err != nil {
		return 0, "", fmt.Errorf("connect: %w", err)
	}
	var cr proto.ConnectResponse
	if err := proto.Unmarshal(frame, &cr); err != nil || cr.TimeOut <= 0 {
		return 0, "", fmt.Errorf("connect refused: %+v %v", cr, err)
	}
	var path string
	for _, step := range []struct {
		req []byte
		xid int32
	}{{f.create, 1}, {f.close, 2}} {
		if _, err := nc.Write(step.req); err != nil {
			return 0, "", err
		}
		frame, err := proto.ReadFrame(br, 1<<20, nil)
		if err != nil {
			return 0, "", fmt.Errorf("xid %d: %w", step.xid, err)
		}
		d := proto.NewDecoder(frame)
		var h proto.ReplyHeader
		h.Decode(d)
		if h.Xid != step.xid || h.Err != proto.ErrOK {
			return 0, "", fmt.Errorf("reply %+v, want xid %d ok", h, step.xid)
		}
		if step.xid == 1 {
			var r proto.CreateResponse
			r.Decode(d)
			path = r.Path
		}
	}
	// The server closes the connection once the closeSession reply is written.
	if _, err := br.ReadByte(); err != io.EOF {
		return 0, "", fmt.Errorf("connection not closed after closeSession: %v", err)
	}
	return cr.SessionID, path, nil
}

// A churned session is durable once connected, and its ephemeral node is gone, as is
// the session, by the time the close is acknowledged.
func TestSessionChurnCycle(t *testing.T) {
	s := testServer(t, "")
	c, _ := connect(t, s, 5*time.Second)
	if _, err := c.Create("/churn", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	f := newChurnFrames("/churn")
	br := bufio.NewReader(nil)
	for range 20 {
		sid, path, err := churnCycle(s.Addr().String(), f, br)
		if err != nil {
			t.Fatal(err)
		}
		s.mu.RLock()
		_, sessionLeft := s.tree.Session(sid)
		s.mu.RUnlock()
		if sessionLeft {
			t.Fatalf("session 0x%x still open after its close was acknowledged", sid)
		}
		if ok, _, err := c.Exists(path); err != nil || ok {
			t.Fatalf("ephemeral %s exists=%v (%v) after its session's close was acknowledged", path, ok, err)
		}
	}
}

// BenchmarkSessionChurn measures the server's open/create-ephemeral/close cycle, with
// 8*GOMAXPROCS concurrent clients on loopback (fsync on), as `corral bench -w
// session-churn` does with 16 churners on two cores. Clients and server share the
// process, so allocs/op counts both.
func BenchmarkSessionChurn(b *testing.B) {
	s, err := New(Config{
		ClientAddr:        "127.0.0.1:0",
		DataDir:           b.TempDir(),
		TickTime:          100 * time.Millisecond,
		MinSessionTimeout: 200 * time.Millisecond,
		MaxSessionTimeout: 10 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		b.Fatal(err)
	}
	go s.Serve()
	defer s.Close()
	addr := s.Addr().String()
	f := newChurnFrames("")
	var failed atomic.Pointer[error]
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		br := bufio.NewReader(nil)
		for pb.Next() {
			if _, _, err := churnCycle(addr, f, br); err != nil {
				failed.CompareAndSwap(nil, &err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "sessions/s")
	if p := failed.Load(); p != nil {
		b.Fatal(*p)
	}
}

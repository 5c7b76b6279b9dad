package server

import (
	"bufio"
	"bytes"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corral-io/corral/proto"
)

func TestInflightBudgetWaitsForRelease(t *testing.T) {
	b := newInflightBudget(100)
	b.add(60)
	if !b.wait(nil) {
		t.Fatal("wait under the limit")
	}
	b.add(60) // over: 120
	got := make(chan bool, 1)
	go func() { got <- b.wait(nil) }()
	select {
	case <-got:
		t.Fatal("wait returned while the budget was spent")
	case <-time.After(50 * time.Millisecond):
	}
	b.release(60)
	select {
	case ok := <-got:
		if !ok {
			t.Fatal("wait failed after a release")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after a release brought the budget under its limit")
	}
	done := make(chan struct{})
	b.add(100)
	go func() { got <- b.wait(done) }()
	close(done)
	if ok := <-got; ok {
		t.Fatal("wait reported room when its connection closed")
	}
}

// A client pipelining large writes is held to the server-wide budget of bytes in
// flight: its socket is not read past it, every write is still answered in order,
// and the bytes are given back (also when a connection closes with requests in flight).
func TestLargeWritesHeldToInflightBudget(t *testing.T) {
	const limit = 2 << 20
	s := testServer(t, "", func(c *Config) { c.MaxInflightBytes = limit })
	nc := rawSession(t, s, 10000)
	rawCreate(t, nc, 1, "/big", 0)
	value := bytes.Repeat([]byte("v"), 900<<10)
	e := proto.NewEncoder(nil)
	const n = 40 // 36 MB in all
	for xid := int32(2); xid < 2+n; xid++ {
		encodeRequest(e, xid, proto.OpSetData, &proto.SetDataRequest{Path: "/big", Data: value, Version: -1})
	}
	var peak atomic.Int64
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if u := s.inflight.used.Load(); u > peak.Load() {
				peak.Store(u)
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	go nc.Write(e.Bytes())
	nc.SetDeadline(time.Now().Add(60 * time.Second))
	readOKReplies(t, bufio.NewReader(nc), 2, 2+n-1)
	// One large frame may be read past the limit by each waiting reader.
	if p := peak.Load(); p > limit+(1<<20) {
		t.Fatalf("%d bytes of requests were in flight at once, budget %d", p, limit)
	}

	// A connection closed with large writes in flight gives their bytes back.
	nc2 := rawSession(t, s, 10000)
	e.Reset()
	for xid := int32(1); xid <= 10; xid++ {
		encodeRequest(e, xid, proto.OpSetData, &proto.SetDataRequest{Path: "/big", Data: value, Version: -1})
	}
	nc2.Write(e.Bytes())
	nc2.Close()
	nc.Close()
	waitUntil(t, "the budget to be given back", func() bool { return s.inflight.used.Load() == 0 })
}

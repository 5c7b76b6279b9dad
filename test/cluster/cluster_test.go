// Package cluster tests corral's cluster behaviour with real processes: observers,
// read-only mode without a quorum, sessions moving between members.
package cluster

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/fourlw"
	"github.com/corral-io/corral/proto"
)

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func dial(t *testing.T, addrs ...string) *zk.Conn {
	t.Helper()
	c, ev, err := zk.Connect(addrs, 4*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	deadline := time.After(15 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-deadline:
			t.Fatalf("no session with %v", addrs)
		}
	}
	return c
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawConnect opens a session over a raw socket, saying whether the client accepts
// a read-only server.
func rawConnect(t *testing.T, addr string, readOnly bool) (net.Conn, proto.ConnectResponse) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.ConnectRequest{TimeOut: 10000, Passwd: make([]byte, 16), ReadOnly: readOnly}).Encode(e)
	proto.EndFrame(e, off)
	nc.Write(e.Bytes())
	frame, err := proto.ReadFrame(nc, 1<<20, nil)
	if err != nil {
		return nc, proto.ConnectResponse{}
	}
	var r proto.ConnectResponse
	proto.Unmarshal(frame, &r)
	return nc, r
}

func request(t *testing.T, nc net.Conn, xid int32, op proto.OpCode, body proto.Record) (proto.ReplyHeader, *proto.Decoder) {
	t.Helper()
	e := proto.NewEncoder(nil)
	off := proto.BeginFrame(e)
	(&proto.RequestHeader{Xid: xid, Type: op}).Encode(e)
	body.Encode(e)
	proto.EndFrame(e, off)
	if _, err := nc.Write(e.Bytes()); err != nil {
		t.Fatal(err)
	}
	for {
		frame, err := proto.ReadFrame(nc, 1<<20, nil)
		if err != nil {
			t.Fatalf("reply to xid %d: %v", xid, err)
		}
		d := proto.NewDecoder(frame)
		var h proto.ReplyHeader
		h.Decode(d)
		if h.Xid == proto.XidNotification {
			continue
		}
		return h, d
	}
}

// TestObserverAndReadOnlyMode runs three voters and one observer. The observer
// serves reads, holds sessions and forwards writes. With two voters killed, the
// survivors have no quorum: they refuse ordinary clients, serve read-only ones
// (writes answer NOTREADONLY, isro says ro), and go back to read-write when the
// quorum returns.
func TestObserverAndReadOnlyMode(t *testing.T) {
	procs := corralproc.StartCluster(t, 4, "--observers", "4")
	obs := procs[3]
	waitFor(t, "member 4 to report Mode: observer", 10*time.Second, func() bool { return obs.Mode() == "observer" })

	c := dial(t, obs.Addr())
	if _, err := c.Create("/via-observer", []byte("x"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write through the observer: %v", err)
	}
	e, err := c.Create("/eph", nil, zk.FlagEphemeral, zk.WorldACL(zk.PermAll))
	if err != nil {
		t.Fatal(err)
	}
	other := dial(t, procs[0].Addr())
	if _, err := other.Sync("/via-observer"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := other.Exists(e); !ok {
		t.Fatal("ephemeral of an observer's session not visible on a voter")
	}
	// Enough writes for a few digest checkpoints: every member must agree.
	for i := 0; i < 2100; i++ {
		if _, err := other.Set("/via-observer", []byte("x"), -1); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "digest checkpoints agreed on every member", 10*time.Second, func() bool {
		for _, p := range procs {
			out, _ := fourlw.SendTimeout(p.Addr(), "mntr", time.Second)
			if !strings.Contains(out, "corral_digest_checkpoints_agreed\t") || strings.Contains(out, "corral_digest_checkpoints_agreed\t0\n") {
				return false
			}
		}
		return true
	})

	// Kill two voters: no quorum.
	survivor, killed := procs[0], procs[1:3]
	for _, p := range killed {
		p.Kill()
	}
	waitFor(t, "isro to say ro on the surviving voter", 15*time.Second, func() bool {
		out, err := fourlw.SendTimeout(survivor.Addr(), "isro", time.Second)
		return err == nil && out == "ro"
	})
	if _, r := rawConnect(t, survivor.Addr(), false); r.TimeOut > 0 {
		t.Fatalf("a read-write client got a session without quorum: %+v", r)
	}
	nc, r := rawConnect(t, survivor.Addr(), true)
	if r.TimeOut <= 0 || !r.ReadOnly {
		t.Fatalf("read-only client refused: %+v", r)
	}
	h, d := request(t, nc, 1, proto.OpGetData, &proto.PathWatchRequest{Path: "/via-observer"})
	var gd proto.GetDataResponse
	gd.Decode(d)
	if h.Err != 0 || string(gd.Data) != "x" {
		t.Fatalf("read-only getData: %+v %q", h, gd.Data)
	}
	if h, _ := request(t, nc, 2, proto.OpCreate, &proto.CreateRequest{Path: "/no", ACL: proto.WorldACL(31)}); h.Err != proto.ErrNotReadOnly {
		t.Fatalf("write in read-only mode: %+v", h)
	}

	// Quorum back: read-write again, read-only connections closed.
	for _, p := range killed {
		p.StartAgain()
	}
	waitFor(t, "isro to say rw", 20*time.Second, func() bool {
		out, err := fourlw.SendTimeout(survivor.Addr(), "isro", time.Second)
		return err == nil && out == "rw"
	})
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	for {
		if _, err := nc.Read(buf); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("read-only connection not closed after the quorum returned")
			}
			break
		}
	}
	after := dial(t, survivor.Addr())
	if _, err := after.Create("/after", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write after the quorum returned: %v", err)
	}
}

// TestForcedRecovery loses two of three members for good and brings the cluster
// back from the survivor with --force-new-cluster: committed data is kept and the
// member serves writes alone.
func TestForcedRecovery(t *testing.T) {
	procs := corralproc.StartCluster(t, 3)
	c := dial(t, procs[0].Addr(), procs[1].Addr(), procs[2].Addr())
	for i := 0; i < 20; i++ {
		if _, err := c.Create("/keep-"+string(rune('a'+i)), []byte("v"), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	survivor := procs[2]
	// Forced recovery keeps what the survivor holds: a write that only the members
	// now lost had acknowledged is gone, by design. So the survivor catches up first.
	cs := dial(t, survivor.Addr())
	if _, err := cs.Sync("/"); err != nil {
		t.Fatalf("sync through the survivor: %v", err)
	}
	if ok, _, err := cs.Exists("/keep-" + string(rune('a'+19))); err != nil || !ok {
		t.Fatalf("the survivor lacks the last write before the others die: %v", err)
	}
	cs.Close()
	for _, p := range procs {
		p.Kill()
	}
	survivor.StartAgainWith("--force-new-cluster")
	survivor.WaitReady()
	waitFor(t, "the survivor to lead alone", 10*time.Second, func() bool {
		m := survivor.Mode()
		return m == "standalone" || m == "leader"
	})
	c2 := dial(t, survivor.Addr())
	for i := 0; i < 20; i++ {
		if ok, _, err := c2.Exists("/keep-" + string(rune('a'+i))); err != nil || !ok {
			t.Fatalf("committed node /keep-%c lost in forced recovery: %v", 'a'+i, err)
		}
	}
	if _, err := c2.Create("/after-recovery", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatalf("write after forced recovery: %v", err)
	}
	// It stays a one-member cluster across a plain restart.
	survivor.Kill()
	survivor.StartAgain()
	survivor.WaitReady()
	c3 := dial(t, survivor.Addr())
	if ok, _, err := c3.Exists("/after-recovery"); err != nil || !ok {
		t.Fatalf("after restart: %v %v", ok, err)
	}
}

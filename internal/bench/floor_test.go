package bench

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/corral-io/corral/proto"
)

// TestFloorServer: session-churn runs against the floor server without errors (its
// set-up and clean-up too), an unknown request gets UNIMPLEMENTED, and a malformed
// frame closes the connection without harm to the server.
func TestFloorServer(t *testing.T) {
	f, err := ListenFloor("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cfg := quick(WorkloadSessionChurn)
	cfg.Servers = []string{f.Addr().String()}
	cfg.Duration, cfg.Warmup, cfg.Requests = 0, 0, 300
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, rep, cfg.Workloads)

	c, err := Dial(f.Addr().String(), DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(proto.OpGetData, &proto.PathWatchRequest{Path: "/x"}, nil, 10*time.Second); err != proto.ErrUnimplemented {
		t.Fatalf("getData on the floor server: %v, want UNIMPLEMENTED", err)
	}
	if err := c.Close(10 * time.Second); err != nil {
		t.Fatalf("closeSession: %v", err)
	}

	nc, err := net.Dial("tcp", f.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2, 3}) // a frame length over the bound
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := nc.Read(make([]byte, 16)); err == nil {
		t.Fatalf("malformed frame: read %d bytes, want the connection closed", n)
	}
	// The server still serves.
	cfg.Requests = 20
	if rep, err = Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	checkSane(t, rep, cfg.Workloads)
}

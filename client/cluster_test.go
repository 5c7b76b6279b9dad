package client_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/internal/testutil/corralproc"
)

// The member a client is on dies mid-operation: the client moves to another
// member with its session, its ephemeral and its watch, and the call completes.
func TestReconnectToAnotherMember(t *testing.T) {
	procs := corralproc.StartCluster(t, 3)
	var addrs []string
	for _, p := range procs {
		addrs = append(addrs, p.Addr())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, strings.Join(addrs, ","), client.WithSessionTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sid := c.SessionID()
	if _, err := c.Create(ctx, "/moving", nil, client.Ephemeral); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "/watched", []byte("0"), client.Persistent); err != nil {
		t.Fatal(err)
	}
	_, _, ev, err := c.GetW(ctx, "/watched")
	if err != nil {
		t.Fatal(err)
	}
	var on *corralproc.Proc
	for _, p := range procs {
		if p.Addr() == c.Server() {
			on = p
		}
	}
	if on == nil {
		t.Fatalf("connected to %q, not one of %v", c.Server(), addrs)
	}
	on.Kill()
	// A write issued while the client is cut off completes once it has moved.
	// A call already sent on the dying connection fails with ConnectionLoss
	// (outcome unknown, documented); the retry waits for the move.
	_, err = c.Set(ctx, "/watched", []byte("1"), -1)
	if errors.Is(err, client.ErrConnectionLoss) {
		_, err = c.Set(ctx, "/watched", []byte("1"), -1)
	}
	if err != nil {
		t.Fatalf("set after the member died: %v", err)
	}
	if c.Server() == on.Addr() || c.SessionID() != sid {
		t.Fatalf("server %s session %x, want another member and session %x", c.Server(), c.SessionID(), sid)
	}
	select {
	case e := <-ev:
		if e.Path != "/watched" {
			t.Fatalf("event %+v", e)
		}
	case <-ctx.Done():
		t.Fatal("watch did not fire after the move")
	}
	if ok, _, err := c.Exists(ctx, "/moving"); err != nil || !ok {
		t.Fatalf("ephemeral after the move: %v %v", ok, err)
	}
}

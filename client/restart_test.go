package client_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/internal/testutil/corralproc"
)

// TestCorralRestart kills the corral server (SIGKILL) and starts it again on the same
// data: the client reconnects with the same session, its ephemerals are intact, its
// watches are registered again and fire, and a call made while the server was down
// completes once it is back.
func TestCorralRestart(t *testing.T) {
	srv := corralproc.Start(t)
	ctx := ctxT(t)
	events := make(chan client.SessionEvent, 16)
	c := connectTo(t, srv.Addr(), client.WithSessionEventChannel(events),
		client.WithSessionTimeout(20*time.Second))
	sid := c.SessionID()
	eph := must(c.Create(ctx, "/eph", []byte("mine"), client.Ephemeral))(t)
	must(c.Create(ctx, "/d", nil, client.Persistent))(t)
	_, _, dw, _ := c.GetW(ctx, "/d")
	_, _, cw, _ := c.ChildrenW(ctx, "/")
	rec := must3(c.AddWatch(ctx, "/d", client.WatchPersistentRecursive))(t)

	srv.Kill()
	waitState(t, events, client.StateDisconnected)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, _, err := c.Get(short, "/d"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("get with the server down: %v", err)
	}
	pending := make(chan error, 1)
	go func() {
		_, err := c.Create(ctx, "/made-while-down", nil, client.Persistent)
		pending <- err
	}()
	srv.Restart()
	waitState(t, events, client.StateConnected)
	if c.SessionID() != sid {
		t.Fatalf("session %x after restart, want %x", c.SessionID(), sid)
	}
	if err := <-pending; err != nil {
		t.Fatalf("create made while down: %v", err)
	}
	other := connectTo(t, srv.Addr())
	if ok, st := must2(other.Exists(ctx, eph))(t); !ok || st.EphemeralOwner != sid {
		t.Fatalf("ephemeral after restart: %v %+v", ok, st)
	}
	// The watches were registered again; a change made now fires them.
	must(other.Set(ctx, "/d", []byte("x"), -1))(t)
	expectEvent(t, dw, client.EventNodeDataChanged, "/d")
	expectEvent(t, rec, client.EventNodeDataChanged, "/d")
	must(other.Create(ctx, "/d/k", nil, client.Persistent))(t)
	expectEvent(t, rec, client.EventNodeCreated, "/d/k")
	for {
		ev := recv(t, cw, "child watch on /")
		if ev.Type == client.EventNodeChildrenChanged && ev.Path == "/" {
			break
		}
	}
}

func must3[A, B any](a A, b B, err error) func(testing.TB) A {
	return func(t testing.TB) A {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
}

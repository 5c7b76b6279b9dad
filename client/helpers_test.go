package client_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
)

// env is what a test case runs against: one server, and a fresh node of its own.
type env struct {
	name string // "corral" or "zookeeper"
	addr string // the server's address
	root string // a persistent node created for this case, e.g. "/t7"
}

type testCase struct {
	name string
	fn   func(t *testing.T, e *env)
}

var rootSeq atomic.Int64

// forEachServer runs every case against corral and against the reference ZooKeeper,
// with the same test bodies.
func forEachServer(t *testing.T, cases []testCase) {
	for _, srv := range []struct{ name, addr string }{{"corral", corralAddr}, {"zookeeper", refzkAddr}} {
		t.Run(srv.name, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := &env{name: srv.name, addr: srv.addr,
						root: fmt.Sprintf("/%s-%d", strings.ToLower(strings.ReplaceAll(tc.name, " ", "-")), rootSeq.Add(1))}
					c := e.connect(t)
					if _, err := c.Create(ctxT(t), e.root, nil, client.Persistent); err != nil {
						t.Fatalf("create root: %v", err)
					}
					tc.fn(t, e)
				})
			}
		})
	}
}

// ctxT returns a context that ends with the test or after 20s.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// connect connects to the case's server (plus suffix, e.g. a chroot) and closes the
// Conn at the end of the test.
func (e *env) connect(t testing.TB, opts ...client.Option) *client.Conn {
	return connectTo(t, e.addr, opts...)
}

func connectTo(t testing.TB, addr string, opts ...client.Option) *client.Conn {
	t.Helper()
	c, err := client.Connect(ctxT(t), addr, opts...)
	if err != nil {
		t.Fatalf("connect %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (e *env) p(name string) string { return e.root + "/" + name }

// recv waits for one event on ch.
func recv(t testing.TB, ch <-chan client.Event, what string) client.Event {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: no event in 10s", what)
	}
	return client.Event{}
}

// expectEvent waits for an event of type typ at path.
func expectEvent(t testing.TB, ch <-chan client.Event, typ client.EventType, path string) {
	t.Helper()
	ev := recv(t, ch, fmt.Sprintf("%s %s", typ, path))
	if ev.Type != typ || ev.Path != path {
		t.Fatalf("event %v, want %s %s", ev, typ, path)
	}
}

// expectNone checks that nothing arrives on ch for a short while.
func expectNone(t testing.TB, ch <-chan client.Event) {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if ok {
			t.Fatalf("unexpected event %v", ev)
		}
	case <-time.After(200 * time.Millisecond):
	}
}

// waitState waits for state s on a session-event channel.
func waitState(t testing.TB, ch <-chan client.SessionEvent, s client.State) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev.State == s {
				return
			}
		case <-timeout:
			t.Fatalf("no %s session event in 20s", s)
		}
	}
}

// must checks the error of a two-result call: must(c.Create(...))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

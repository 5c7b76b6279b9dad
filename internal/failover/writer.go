package failover

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/corral-io/corral/internal/bench"
	"github.com/corral-io/corral/proto"
)

// ClientConfig is how the writers behave; the same for every system.
type ClientConfig struct {
	// Sessions is the number of writer sessions, spread over the members given.
	Sessions int
	// SessionTimeout is the session timeout asked of the server.
	SessionTimeout time.Duration
	// ConnectTimeout bounds a TCP connect plus session handshake; ReadTimeout bounds the
	// wait for one reply. Zero means what ZooKeeper's Java client uses: the session
	// timeout divided by the number of hosts, and two thirds of the session timeout.
	ConnectTimeout, ReadTimeout time.Duration
	// RetryPause is the pause after a failed connect before the next host is tried.
	RetryPause time.Duration
	// ValueSize is the size of each value written.
	ValueSize int
}

func (c ClientConfig) withDefaults(hosts int) ClientConfig {
	if c.Sessions <= 0 {
		c.Sessions = 4
	}
	if c.SessionTimeout <= 0 {
		c.SessionTimeout = 10 * time.Second
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = c.SessionTimeout / time.Duration(max(hosts, 1))
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = c.SessionTimeout * 2 / 3
	}
	if c.RetryPause <= 0 {
		c.RetryPause = 10 * time.Millisecond
	}
	if c.ValueSize <= 0 {
		c.ValueSize = 64
	}
	return c
}

// nodePath is the znode writer session i sets.
func nodePath(i int) string { return fmt.Sprintf("/failover-%d", i) }

// createNodes creates the writers' znodes through addr (existing ones are fine).
func createNodes(addr string, n int, timeout time.Duration) error {
	c, err := bench.Dial(addr, bench.DialOptions{Timeout: timeout, SessionTimeout: 10 * time.Second})
	if err != nil {
		return err
	}
	defer c.Close(time.Second)
	for i := range n {
		_, err := c.Call(proto.OpCreate, &proto.CreateRequest{Path: nodePath(i), ACL: proto.WorldACL(proto.PermAll)}, nil, timeout)
		if err != nil && !errors.Is(err, proto.ErrNodeExists) {
			return fmt.Errorf("create %s on %s: %w", nodePath(i), addr, err)
		}
	}
	return nil
}

// event is something a writer session saw go wrong.
type event struct {
	At      time.Duration // since the recorder's base
	Session int
	What    string // a short class: "dial", "timeout", "closed", an error code...
	Detail  string
}

// recorder collects the writers' successful writes and failures.
type recorder struct {
	base time.Time
	// lastSent is the latest send time of a request that succeeded, ns since base.
	lastSent atomic.Int64

	mu     sync.Mutex
	succ   [][]okWrite // per session, in order
	events []event
}

// okWrite is one successful write: when its request was sent and when its reply came.
type okWrite struct{ Sent, Done time.Duration }

func newRecorder(sessions int) *recorder {
	return &recorder{base: time.Now(), succ: make([][]okWrite, sessions)}
}

func (r *recorder) now() time.Duration { return time.Since(r.base) }

func (r *recorder) success(session int, sent, done time.Duration) {
	r.mu.Lock()
	r.succ[session] = append(r.succ[session], okWrite{sent, done})
	r.mu.Unlock()
	for {
		old := r.lastSent.Load()
		if int64(sent) <= old || r.lastSent.CompareAndSwap(old, int64(sent)) {
			return
		}
	}
}

func (r *recorder) failure(session int, what, detail string) {
	r.mu.Lock()
	r.events = append(r.events, event{At: r.now(), Session: session, What: what, Detail: detail})
	r.mu.Unlock()
}

// counts returns the number of successes of each session so far.
func (r *recorder) counts() []int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]int, len(r.succ))
	for i, s := range r.succ {
		out[i] = len(s)
	}
	return out
}

// snapshot copies what has been recorded.
func (r *recorder) snapshot() ([][]okWrite, []event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	succ := make([][]okWrite, len(r.succ))
	for i, s := range r.succ {
		succ[i] = append([]okWrite(nil), s...)
	}
	return succ, append([]event(nil), r.events...)
}

// writers runs cfg.Sessions sessions, each doing setData of its own znode in a loop, one
// request at a time, as fast as the server answers. A session whose request fails or
// times out drops its connection and opens a new session on the next host (round robin
// over hosts), pausing RetryPause only after a failed connect.
type writers struct {
	cfg    ClientConfig
	hosts  []string
	rec    *recorder
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWriters(cfg ClientConfig, hosts []string) *writers {
	cfg = cfg.withDefaults(len(hosts))
	ctx, cancel := context.WithCancel(context.Background())
	w := &writers{cfg: cfg, hosts: hosts, rec: newRecorder(cfg.Sessions), cancel: cancel}
	for i := range cfg.Sessions {
		w.wg.Add(1)
		go w.session(ctx, i)
	}
	return w
}

func (w *writers) stop() {
	w.cancel()
	w.wg.Wait()
}

func (w *writers) session(ctx context.Context, i int) {
	defer w.wg.Done()
	host := i % len(w.hosts)
	value := make([]byte, w.cfg.ValueSize)
	req := &proto.SetDataRequest{Path: nodePath(i), Data: value, Version: -1}
	var c *bench.Conn
	defer func() {
		if c != nil {
			_ = c.Close(500 * time.Millisecond)
		}
	}()
	for ctx.Err() == nil {
		if c == nil {
			var err error
			c, err = bench.Dial(w.hosts[host], bench.DialOptions{Timeout: w.cfg.ConnectTimeout, SessionTimeout: w.cfg.SessionTimeout})
			if err != nil {
				c = nil
				w.rec.failure(i, "connect: "+classify(err), w.hosts[host]+": "+err.Error())
				host = (host + 1) % len(w.hosts)
				select {
				case <-ctx.Done():
				case <-time.After(w.cfg.RetryPause):
				}
				continue
			}
		}
		value[0]++
		sent := w.rec.now()
		_, err := c.Call(proto.OpSetData, req, nil, w.cfg.ReadTimeout)
		if err == nil {
			w.rec.success(i, sent, w.rec.now())
			continue
		}
		if ctx.Err() != nil {
			return
		}
		w.rec.failure(i, "setData: "+classify(err), w.hosts[host]+": "+err.Error())
		c.Abort()
		c = nil
		host = (host + 1) % len(w.hosts)
	}
}

// classify names an error in a few words, for counting.
func classify(err error) string {
	var code proto.Code
	var ne net.Error
	switch {
	case errors.As(err, &code):
		return "error " + code.Error()
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "closed by server"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset by server"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case strings.Contains(err.Error(), "timed out"):
		return "timeout"
	}
	s := err.Error()
	if len(s) > 40 {
		s = s[:40]
	}
	return s
}

package server

import (
	"sync"
	"sync/atomic"
)

// inflightBudget bounds the bytes of requests read and not yet answered across all
// connections. Each connection's MaxOutstanding bounds its own count, but a few
// connections pipelining megabyte writes could still hold gigabytes between them;
// past the budget, readers stop taking large frames off their sockets (TCP pushes
// back on the clients) until replies go out. Small frames (pings, reads, small
// writes) are always read, so a flood of large writes slows other clients' large
// requests but does not stall their sessions.
type inflightBudget struct {
	limit   int64
	used    atomic.Int64
	waiters atomic.Int32
	mu      sync.Mutex
	freed   chan struct{} // closed and replaced when bytes are released while someone waits
}

// smallFrame is the frame size up to which a request is read whatever the budget.
const smallFrame = 64 << 10

func newInflightBudget(limit int) *inflightBudget {
	return &inflightBudget{limit: int64(limit), freed: make(chan struct{})}
}

func (b *inflightBudget) add(n int) { b.used.Add(int64(n)) }

func (b *inflightBudget) release(n int) {
	if n == 0 {
		return
	}
	if b.used.Add(-int64(n)) < b.limit && b.waiters.Load() > 0 {
		b.mu.Lock()
		close(b.freed)
		b.freed = make(chan struct{})
		b.mu.Unlock()
	}
}

// wait blocks while the budget is spent. It returns false if done closes first.
func (b *inflightBudget) wait(done <-chan struct{}) bool {
	for b.used.Load() >= b.limit {
		b.mu.Lock()
		b.waiters.Add(1)
		ch := b.freed
		b.mu.Unlock()
		if b.used.Load() < b.limit { // released before we registered
			b.waiters.Add(-1)
			return true
		}
		select {
		case <-ch:
			b.waiters.Add(-1)
		case <-done:
			b.waiters.Add(-1)
			return false
		}
	}
	return true
}

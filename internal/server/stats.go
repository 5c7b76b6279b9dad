package server

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-io/corral/proto"
)

// stats are the server-wide counters srvr, stat and mntr report.
type stats struct {
	started       time.Time
	received      atomic.Int64
	sent          atomic.Int64
	rejectedConns atomic.Int64
	slowClients   atomic.Int64

	// Request latencies in nanoseconds, lock-free: every answered request
	// records one, so a mutex here would serialise all connections.
	count    atomic.Int64
	totalLat atomic.Int64
	minLat   atomic.Int64 // -1: none yet
	maxLat   atomic.Int64
}

func newStats() *stats {
	s := &stats{started: time.Now()}
	s.minLat.Store(-1)
	return s
}

func (s *stats) observe(op proto.OpCode, d time.Duration) {
	if op == proto.OpPing {
		return
	}
	ns := int64(d)
	s.count.Add(1)
	s.totalLat.Add(ns)
	for {
		cur := s.minLat.Load()
		if cur >= 0 && cur <= ns || s.minLat.CompareAndSwap(cur, ns) {
			break
		}
	}
	for {
		cur := s.maxLat.Load()
		if cur >= ns || s.maxLat.CompareAndSwap(cur, ns) {
			break
		}
	}
}

// latency returns min, avg and max request latency in milliseconds.
func (s *stats) latency() (minMs int64, avgMs float64, maxMs int64) {
	n := s.count.Load()
	if n == 0 {
		return 0, 0, 0
	}
	return time.Duration(max(s.minLat.Load(), 0)).Milliseconds(),
		float64(s.totalLat.Load()) / 1e6 / float64(n),
		time.Duration(s.maxLat.Load()).Milliseconds()
}

// reset clears the counters (srst). Requests answered meanwhile may be
// counted on either side of it.
func (s *stats) reset() {
	s.received.Store(0)
	s.sent.Store(0)
	s.count.Store(0)
	s.totalLat.Store(0)
	s.minLat.Store(-1)
	s.maxLat.Store(0)
}

// connStats are one connection's counters, for cons and stat.
type connStats struct {
	received atomic.Int64
	sent     atomic.Int64
	lastOp   atomic.Int32

	mu       sync.Mutex
	lastZxid int64
	lastLat  time.Duration
	lastResp time.Time
	count    int64
	totalLat time.Duration
	minLat   time.Duration
	maxLat   time.Duration
}

func (s *connStats) observe(r *request, d time.Duration, now time.Time) {
	s.mu.Lock()
	s.lastLat = d
	s.lastResp = now
	if r.op != proto.OpPing {
		s.count++
		s.totalLat += d
		if s.count == 1 || d < s.minLat {
			s.minLat = d
		}
		if d > s.maxLat {
			s.maxLat = d
		}
	}
	s.mu.Unlock()
}

func (s *connStats) reset() {
	s.received.Store(0)
	s.sent.Store(0)
	s.mu.Lock()
	s.count, s.totalLat, s.minLat, s.maxLat = 0, 0, 0, 0
	s.mu.Unlock()
}

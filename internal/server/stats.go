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

	mu       sync.Mutex
	count    int64
	totalLat time.Duration
	minLat   time.Duration
	maxLat   time.Duration
}

func newStats() *stats { return &stats{started: time.Now(), minLat: -1} }

func (s *stats) observe(op proto.OpCode, d time.Duration) {
	if op == proto.OpPing {
		return
	}
	s.mu.Lock()
	s.count++
	s.totalLat += d
	if s.minLat < 0 || d < s.minLat {
		s.minLat = d
	}
	if d > s.maxLat {
		s.maxLat = d
	}
	s.mu.Unlock()
}

// latency returns min, avg and max request latency in milliseconds.
func (s *stats) latency() (min int64, avg float64, max int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.count == 0 {
		return 0, 0, 0
	}
	return s.minLat.Milliseconds(), float64(s.totalLat.Microseconds()) / 1000 / float64(s.count), s.maxLat.Milliseconds()
}

func (s *stats) reset() {
	s.received.Store(0)
	s.sent.Store(0)
	s.mu.Lock()
	s.count, s.totalLat, s.minLat, s.maxLat = 0, 0, -1, 0
	s.mu.Unlock()
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

func (s *connStats) observe(r *request, d time.Duration) {
	s.mu.Lock()
	s.lastLat = d
	s.lastResp = time.Now()
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

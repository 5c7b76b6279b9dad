package server

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/corral-io/corral/proto"
)

// metrics are the Prometheus metrics of a member.
type metrics struct {
	reg        *prometheus.Registry
	latency    *prometheus.HistogramVec
	byOp       sync.Map // proto.OpCode -> prometheus.Observer: latency's child, looked up once
	errors     *prometheus.CounterVec
	rejected   prometheus.Counter
	slow       prometheus.Counter
	lowDiskRej prometheus.Counter
}

func newMetrics(s *Server) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "corral_request_duration_seconds",
		Help:    "Time from reading a request to queueing its reply, by operation.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	}, []string{"op"})
	m.errors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "corral_request_errors_total",
		Help: "Requests answered with an error code, by operation and code.",
	}, []string{"op", "code"})
	m.rejected = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "corral_connections_rejected_total", Help: "Connections refused by a connection limit."})
	m.slow = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "corral_slow_clients_disconnected_total", Help: "Clients disconnected because they did not read their replies."})
	m.lowDiskRej = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "corral_writes_refused_low_disk_total", Help: "Writes refused because the data dir's disk is nearly full."})
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	m.reg.MustRegister(m.latency, m.errors, m.rejected, m.slow, m.lowDiskRej,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("corral_znodes", "Znodes in the tree.", func() float64 {
			s.mu.RLock()
			defer s.mu.RUnlock()
			return float64(s.tree.NodeCount())
		}),
		gauge("corral_sessions", "Open sessions (cluster-wide).", func() float64 { return float64(s.sessions.len()) }),
		gauge("corral_connections", "Client connections to this member.", func() float64 { return float64(len(s.connList())) }),
		gauge("corral_watches", "Watches registered on this member.", func() float64 {
			s.mu.RLock()
			s.watchMu.Lock()
			n, _ := s.watches.counts()
			s.watchMu.Unlock()
			s.mu.RUnlock()
			return float64(n)
		}),
		gauge("corral_applied_index", "Raft index (zxid) of the last applied entry.", func() float64 { return float64(s.applied.Load()) }),
		gauge("corral_is_leader", "1 if this member leads the cluster.", func() float64 {
			if s.nodeReady.Load() && s.node.IsLeader() {
				return 1
			}
			return 0
		}),
		gauge("corral_read_only", "1 while serving read-only clients without quorum.", func() float64 {
			if s.readOnly.Load() {
				return 1
			}
			return 0
		}),
		gauge("corral_low_disk", "1 while writes are refused for lack of disk space.", func() float64 {
			if s.lowDisk.Load() {
				return 1
			}
			return 0
		}),
	)
	return m
}

// observe records one answered request.
func (m *metrics) observe(op proto.OpCode, code proto.Code, d time.Duration) {
	obs, ok := m.byOp.Load(op)
	if !ok {
		obs, _ = m.byOp.LoadOrStore(op, m.latency.WithLabelValues(op.String()))
	}
	obs.(prometheus.Observer).Observe(d.Seconds())
	if code != proto.ErrOK {
		m.errors.WithLabelValues(op.String(), code.String()).Inc()
	}
}

// Registry returns the Prometheus registry of the member's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.metrics.reg }

// FourLetterWord answers a four-letter word for the admin API. It is not subject
// to the client-port whitelist: the admin API listens where the operator chose.
func (s *Server) FourLetterWord(word string) (string, bool) {
	if !isFourLetterWord(word) {
		return "", false
	}
	return s.fourLetterOutput(word), true
}

// Healthy reports whether the member serves requests.
func (s *Server) Healthy() (bool, string) {
	if why := s.divergence.Load(); why != nil {
		return false, *why
	}
	if !s.servingRequests() {
		if s.readOnly.Load() {
			return false, "read-only: no quorum"
		}
		return false, "not serving: no leader"
	}
	if s.lowDisk.Load() {
		return false, "low disk: writes refused"
	}
	return true, ""
}

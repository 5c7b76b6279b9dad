package main

import (
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/corral-io/corral/internal/config"
)

// Members of one cluster that run on one host (a test or development cluster on a
// laptop, a benchmark on loopback) compete for its CPUs. Each Go process would
// otherwise run with GOMAXPROCS = all of them, and with more runnable threads than
// cores every hand-off between goroutines wakes an idle thread of the process (the
// runtime starts a spinning thread whenever it has an idle P), which on a busy host
// mostly finds nothing to do and goes back to sleep: futex calls and context switches
// on every raft round trip. So, unless GOMAXPROCS is set in the environment, a member
// that finds k members of its cluster on this host (itself included) gives the host's
// CPUs out in k+1 shares: a follower runs with one share, the leader, which does
// about half as much again as a follower (it sends every entry to every follower and
// hears every acknowledgement), with two. The member moves between the two as it
// gains or loses the leadership.
//
// Measured with `corral bench`, three members on loopback on a 2-core VM (WAL on a
// virtio disk, fdatasync p50 0.15 ms), 16 churners, five alternating 6 s runs against
// GOMAXPROCS 2 on every member: session churn 1200-1501 -> 1307-1555 sessions/s (higher
// in four of five), server CPU per session 788-999 -> 744-897 µs, system calls per
// session 59-64 -> 53-56. Create 16x16 with the same split (made by an experimental
// build, three runs each): 19151-25651 -> 21047-23599, no loss; one P on every member
// gained a little more churn but lost about 6 % of create. (An earlier build wrote the
// WAL from the raft loop itself, which then held its only P through every fdatasync;
// there, one P cost 10 % of churn and 20 % of set. The appender now syncs on a
// goroutine of its own.)
// A member on a host of its own is not affected.

// shareProcs returns the GOMAXPROCS of a follower and of the leader among local
// members of one cluster on a host of cpus CPUs (see above): one share of cpus/(k+1)
// (at least 1) and two.
func shareProcs(cpus, local int) (follower, leader int) {
	if local <= 1 {
		return cpus, cpus
	}
	follower = max(1, cpus/(local+1))
	return follower, min(cpus, 2*follower)
}

// localMembers counts the peers whose address is on this host: a loopback address,
// "localhost", or an address of one of its interfaces. Other host names count as
// elsewhere: resolving them here would add DNS lookups (and their timeouts, when a
// peer's name is not registered yet) to every start for a hint.
func localMembers(peers []config.Peer) int {
	own := map[string]bool{}
	if addrs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				own[ipn.IP.String()] = true
			}
		}
	}
	n := 0
	for _, p := range peers {
		host, _, err := net.SplitHostPort(p.Addr)
		if err != nil {
			continue
		}
		if ip := net.ParseIP(host); (ip != nil && (ip.IsLoopback() || own[ip.String()])) || strings.EqualFold(host, "localhost") {
			n++
		}
	}
	return n
}

// procShare sets GOMAXPROCS to a co-located member's share as its role changes.
type procShare struct {
	follower, leader int
	log              *slog.Logger
	want             atomic.Int32
	mu               sync.Mutex // orders the runtime.GOMAXPROCS calls
}

// shareHostCPUs sets GOMAXPROCS to a follower's share when other members of the
// cluster run on this host (see above), and returns the function to call on each
// change of this member's leadership; nil when the member is alone on its host or
// the environment sets GOMAXPROCS (an operator's setting always stands).
func shareHostCPUs(peers []config.Peer, log *slog.Logger) func(leader bool) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set || len(peers) < 2 {
		return nil
	}
	local := localMembers(peers)
	cpus := runtime.GOMAXPROCS(0)
	follower, leader := shareProcs(cpus, local)
	if follower == cpus { // alone on the host, or a host of one CPU
		return nil
	}
	runtime.GOMAXPROCS(follower)
	log.Info("members of this cluster share this host: dividing its CPUs among them (set GOMAXPROCS to override)",
		"local_members", local, "cpus", cpus, "gomaxprocs_follower", follower, "gomaxprocs_leader", leader)
	p := &procShare{follower: follower, leader: leader, log: log}
	return p.leadership
}

// leadership moves GOMAXPROCS to the share of the member's role (apply leaves it
// alone when it is already there). It is called from the raft loop, so the change
// (which stops the world, after any collection under way) is made on a goroutine of
// its own; the last role reported wins.
func (p *procShare) leadership(leader bool) {
	n := p.follower
	if leader {
		n = p.leader
	}
	p.want.Store(int32(n))
	go p.apply()
}

func (p *procShare) apply() {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := int(p.want.Load())
	if old := runtime.GOMAXPROCS(0); old != n {
		runtime.GOMAXPROCS(n)
		p.log.Debug("GOMAXPROCS set to this member's share of the host", "gomaxprocs", n, "previous", old)
	}
}

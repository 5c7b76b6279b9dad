package main

import (
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"

	"github.com/corral-io/corral/internal/config"
)

// Members of one cluster that run on one host (a test or development cluster on a
// laptop, a benchmark on loopback) compete for its CPUs. Each Go process would
// otherwise run with GOMAXPROCS = all of them, and with more runnable threads than
// cores every raft round trip between the members turns into futex wake-ups and
// context switches between processes. So, unless GOMAXPROCS is set in the
// environment, a member that finds k members of its cluster on this host (itself
// included) runs with GOMAXPROCS = NumCPU / k, but never fewer than 2: the raft loop
// holds its P through every WAL fsync (a blocking system call, which the runtime
// takes back only after a while), and with a single P nothing else of the member
// runs meanwhile. Measured with `corral bench`, three members on loopback on a
// 2-core machine, WAL on a virtio disk: GOMAXPROCS 1 instead of 2 cost 10 % of
// session churn and 20 % of set throughput (on tmpfs, where fsync does not block,
// 1 was faster). A member on a host of its own is not affected.

// minProcs is the least GOMAXPROCS splitProcs chooses (see above).
const minProcs = 2

// splitProcs returns the GOMAXPROCS for a member that shares a host of cpus CPUs
// with local-1 other members of its cluster.
func splitProcs(cpus, local int) int {
	if local <= 1 {
		return cpus
	}
	return min(cpus, max(minProcs, cpus/local))
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

// shareHostCPUs lowers GOMAXPROCS when other members of the cluster run on this host
// (see above). An operator's GOMAXPROCS setting always stands.
func shareHostCPUs(peers []config.Peer, log *slog.Logger) {
	if _, set := os.LookupEnv("GOMAXPROCS"); set || len(peers) < 2 {
		return
	}
	local := localMembers(peers)
	cpus := runtime.GOMAXPROCS(0)
	if n := splitProcs(cpus, local); n < cpus {
		runtime.GOMAXPROCS(n)
		log.Info("members of this cluster share this host: dividing its CPUs among them (set GOMAXPROCS to override)",
			"local_members", local, "cpus", cpus, "gomaxprocs", n)
	}
}

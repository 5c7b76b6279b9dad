// Package sysmon keeps the Go runtime's system monitor thread (sysmon) from waking
// every 20 µs after each idle spell of the process.
//
// sysmon sleeps deeply while every P (the runtime's scheduler slot) is idle, and the
// next system call of any goroutine wakes it with its polling interval reset to
// 20 µs, which it doubles only after 50 rounds with nothing to do (see sysmon in
// runtime/proc.go, and go.dev/issue/18236). A server that goes idle between requests,
// as each member of a cluster does between raft rounds at low load, thus pays for
// dozens of sysmon wake-ups per request. In a virtual machine where a context switch
// is costly (paravirtualized page tables, say), that was a quarter of its CPU (perf,
// three members on one 2-core VM, one client writing at a time).
//
// The cost: every garbage collection waits for the held goroutine to give up its P.
// Unloaded, 20 collections took 86-195 ms held against 6-17 ms; on a host crowded by
// other programs' busy loops, 2.0-9.4 s against 0.05-0.32 s. The collector asks for
// the P by signal, and since the goroutine sleeps in a raw system call, where it
// cannot be preempted, the collector spins and re-signals every few microseconds
// until the thread has run back to Go code, which with more runnable threads than
// cores it apparently seldom gets a core to do. Measured on a 2-core VM, three
// members under set 16x16: 35526 preemption signals in 8 s held against 883 without;
// stretches of 0.4 s in which the two followers burned both cores in the collector's
// suspendG loop, the held goroutine's signal handling and the scheduler, while the
// leader ran nothing; writes waiting 0.5-1.5 s; in some runs the leader stepping
// down for want of a quorum. Hence corral server and corral bench do not hold by
// default (--hold-sysmon opts in).
//
// Steady (steady.go) keeps sysmon out of deep sleep without occupying a P, through a
// GODEBUG setting under which the runtime never lets it sleep deeply; corral server
// does that by default (--steady-sysmon).
//
// Hold parks one goroutine in the kernel while it holds a P, which the runtime does
// not see as idle: the Ps are never all idle, so sysmon never sleeps deeply and
// backs off to its 10 ms interval whenever it has nothing to do. It adds that P to
// GOMAXPROCS, so the rest of the process runs with as many as before. It does so only
// while the process is not busy (CPU time over wall time, judged every 50 ms or
// more): a busy process keeps sysmon awake by itself, and there the held P cost
// throughput and latency (likely because, yielded at every preemption, it lets one
// thread more run Go code than there are cores for).
package sysmon

import "sync/atomic"

// held says whether Hold's goroutine is running (one per process).
var held atomic.Bool

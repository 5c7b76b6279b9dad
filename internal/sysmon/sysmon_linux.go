package sysmon

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Utilization bounds (CPU time of the process over wall time, per P it had before
// Hold): above busyAbove the process lets the P go, below idleBelow it holds one
// again. A busy process does not leave every P idle, so sysmon does not sleep deeply
// anyway; and there the extra P costs, likely because when the held goroutine yields it
// (as it must, at every preemption) one more thread runs Go code than the process had
// before, and on a saturated host the kernel time-slices them. Measured, one member under
// saturating writes on a 2-core VM: a quarter of the throughput and a p99 four times
// as long, while held.
var (
	busyAbove = 0.5
	idleBelow = 0.3
)

// window is the least time over which utilization is judged.
const window = 50 * time.Millisecond

// Hold starts holding a P while the process is not busy (see the package comment)
// and returns a function that stops it and gives the P back. It does nothing (and
// reports false) when the process already holds one, or when GODEBUG turns
// asynchronous preemption off: without it, a stop-the-world would wait for the held
// goroutine's sleep to end.
func Hold() (release func(), ok bool) {
	if asyncPreemptOff() || !held.CompareAndSwap(false, true) {
		return func() {}, false
	}
	procs := runtime.GOMAXPROCS(0)
	runtime.GOMAXPROCS(procs + 1)
	busy, idle := busyAbove, idleBelow
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		holding := true
		start, cpu := time.Now(), cpuTime()
		for !stop.Load() {
			if holding {
				park()
				// A signal ended the sleep, or its 50 ms did: the runtime
				// preempting this goroutine (sysmon does every 10 ms; a
				// stop-the-world or a garbage collection asks every 100 µs
				// until it gets the P), or a profiler's tick. Yield, so
				// whoever asked gets the P.
				runtime.Gosched()
			} else {
				time.Sleep(window)
			}
			if elapsed := time.Since(start); elapsed >= window {
				now := cpuTime()
				util := float64(now-cpu) / float64(elapsed) / float64(procs)
				switch {
				case holding && util > busy:
					holding = false
					runtime.GOMAXPROCS(procs)
				case !holding && util < idle:
					holding = true
					runtime.GOMAXPROCS(procs + 1)
				}
				start, cpu = time.Now(), now
			}
		}
		if holding {
			runtime.GOMAXPROCS(procs)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			stop.Store(true)
			<-done // within 50 ms
			held.Store(false)
		})
	}, true
}

// cpuTime is the process's CPU time (user and system), from getrusage.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// park sleeps for up to 50 ms in a system call made with RawSyscall, which the
// runtime does not account as one: the calling goroutine keeps its P throughout.
//
//go:noinline
func park() {
	ts := syscall.Timespec{Nsec: int64(window)}
	syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}

package sysmon

import (
	"runtime"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Hold starts holding a P (see the package comment) and returns a function that
// stops it and gives the P back. It does nothing (and reports false) when the
// process already holds one, or when GODEBUG turns asynchronous preemption off:
// without it, a stop-the-world would wait for the held goroutine's sleep to end.
func Hold() (release func(), ok bool) {
	if asyncPreemptOff() || !held.CompareAndSwap(false, true) {
		return func() {}, false
	}
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			park()
			// A signal ended the sleep: the runtime preempting this goroutine
			// (sysmon does every 10 ms; a stop-the-world or a garbage collection
			// asks every 100 µs until it gets the P), or a profiler's tick.
			// Yield, so whoever asked gets the P.
			runtime.Gosched()
		}
	}()
	return func() {
		stop.Store(true)
		<-done // within a second, or at the next preemption
		runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) - 1)
		held.Store(false)
	}, true
}

// park sleeps for up to a second in a system call made with RawSyscall, which the
// runtime does not account as one: the calling goroutine keeps its P throughout.
//
//go:noinline
func park() {
	ts := syscall.Timespec{Sec: 1}
	syscall.RawSyscall(syscall.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}

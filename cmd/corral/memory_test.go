package main

import (
	"log/slog"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

var sink [][]byte

// TestReleaseIdleMemory: after a burst of allocation that leaves garbage, a quiet
// process hands the free heap back to the OS.
func TestReleaseIdleMemory(t *testing.T) {
	released := func() uint64 {
		s := []metrics.Sample{{Name: "/memory/classes/heap/released:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { releaseIdleMemory(stop, slog.New(slog.DiscardHandler)); close(done) }()
	defer func() { close(stop); <-done }()

	// Live data, then a burst that becomes garbage.
	live := make([][]byte, 0, 1<<10)
	for range cap(live) {
		live = append(live, make([]byte, 64<<10))
	}
	for range 4 << 10 {
		sink = append(sink, make([]byte, 64<<10))
	}
	before := released()
	sink = nil
	deadline := time.Now().Add(10 * time.Second)
	for released() < before+128<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("released %d MB in 10 s, want the 256 MB of garbage", (released()-before)>>20)
		}
		time.Sleep(50 * time.Millisecond)
	}
	runtime.KeepAlive(live)
}

package main

import (
	"log/slog"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Garbage collector settings of the server process. Unless GOGC is set in the
// environment (then the operator's setting stands):
//
//   - While the member restores its state (snapshot load and WAL replay, inside
//     server.New) GOGC is 400: that phase allocates almost only the live tree, so
//     collecting at every doubling of the heap would mark it again and again for
//     nothing. The heap is still bounded (5x what is live).
//   - Afterwards GOGC is Go's default, 100.
//
// And whatever GOGC: once the process goes quiet after a burst of allocation (a bulk
// load, a snapshot restore), releaseIdleMemory collects and hands the free heap back
// to the operating system, so an idle member's RSS is its live data rather than the
// high-water mark of the burst.

const startupGCPercent = 400

// startupGC raises GOGC for the restore and returns the function that puts it back.
func startupGC() (restore func()) {
	if _, set := os.LookupEnv("GOGC"); set {
		return func() {}
	}
	old := debug.SetGCPercent(startupGCPercent)
	return func() { debug.SetGCPercent(old) }
}

const (
	idleTick = 200 * time.Millisecond
	// idleAllocBytes is the allocation per tick under which the process counts as
	// quiet; releaseIdleMemory acts after idleTicks quiet ticks in a row.
	idleAllocBytes = 2 << 20
	idleTicks      = 2
	// releaseMinBytes is the least allocation between two releases.
	releaseMinBytes = 32 << 20
)

// releaseIdleMemory runs until stop is closed. Every idleTick it reads the heap
// metrics; after idleTicks quiet ticks, if enough was allocated since the last
// release (a quarter of the live heap, at least releaseMinBytes: a burst whose garbage
// the runtime would otherwise keep), it calls debug.FreeOSMemory (a collection, then
// every free page returned). Releases thus cost at most the collections GOGC=25 would
// make. On a busy server it never runs.
func releaseIdleMemory(stop <-chan struct{}, log *slog.Logger) {
	samples := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
	}
	read := func() (allocs, live, kept uint64) {
		metrics.Read(samples)
		for i := range samples {
			if samples[i].Value.Kind() != metrics.KindUint64 {
				return 0, 0, 0
			}
		}
		return samples[0].Value.Uint64(), samples[1].Value.Uint64(),
			samples[2].Value.Uint64() + samples[3].Value.Uint64() + samples[4].Value.Uint64()
	}
	tick := time.NewTicker(idleTick)
	defer tick.Stop()
	var released uint64 // allocs at the last release
	minAlloc := uint64(releaseMinBytes)
	lastAllocs, _, _ := read()
	quiet := 0
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		allocs, _, kept := read()
		delta := allocs - lastAllocs
		lastAllocs = allocs
		if delta >= idleAllocBytes {
			quiet = 0
			continue
		}
		quiet++
		if quiet < idleTicks || allocs-released < minAlloc {
			continue
		}
		t0 := time.Now()
		debug.FreeOSMemory()
		_, live, kept2 := read()
		released, minAlloc = allocs, max(live/4, releaseMinBytes)
		log.Debug("returned idle heap memory to the OS", "kept_before", kept, "kept_after", kept2, "live", live,
			"took", time.Since(t0))
	}
}

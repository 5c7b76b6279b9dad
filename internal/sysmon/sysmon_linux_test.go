package sysmon

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"
)

func TestHoldAddsOneP(t *testing.T) {
	defer func(b float64) { busyAbove = b }(busyAbove)
	busyAbove = 1e9 // held throughout, however loaded the machine
	before := runtime.GOMAXPROCS(0)
	release, ok := Hold()
	if !ok {
		t.Fatal("Hold() did not hold")
	}
	if got := runtime.GOMAXPROCS(0); got != before+1 {
		t.Errorf("GOMAXPROCS while held = %d, want %d", got, before+1)
	}
	if _, again := Hold(); again {
		t.Error("a second Hold() held another P")
	}
	release()
	release() // a second call does nothing
	if got := runtime.GOMAXPROCS(0); got != before {
		t.Errorf("GOMAXPROCS after release = %d, want %d", got, before)
	}
	release2, ok := Hold()
	if !ok {
		t.Fatal("Hold() after release did not hold")
	}
	release2()
}

// The held goroutine sleeps in a system call the runtime cannot interrupt by
// itself: a stop-the-world must still get its P by signal, within the runtime's
// 100 µs re-signal loop, not when the 50 ms sleep ends. The longest time a
// collection's stop-the-world waited for the Ps must stay under that sleep. (The
// bound that lets the P go is lifted, so that the P stays held on a loaded machine.)
func TestHoldDoesNotDelayStopTheWorld(t *testing.T) {
	defer func(b float64) { busyAbove = b }(busyAbove)
	busyAbove = 1e9
	release, ok := Hold()
	if !ok {
		t.Fatal("Hold() did not hold")
	}
	defer release()
	time.Sleep(50 * time.Millisecond) // let it park
	before := maxStopping(t)
	for range 20 {
		runtime.GC()
	}
	if after := maxStopping(t); after > before && after >= 0.045 {
		t.Fatalf("a collection waited %.1f ms to stop the world with a P held", after*1000)
	}
}

// maxStopping is the lower bound of the highest bucket of the runtime's histogram of
// time spent stopping the world for collections, in seconds.
func maxStopping(t *testing.T) float64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/sched/pauses/stopping/gc:seconds"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindFloat64Histogram {
		t.Fatalf("metric %s not available", s[0].Name)
	}
	h := s[0].Value.Float64Histogram()
	for i := len(h.Counts) - 1; i >= 0; i-- {
		if h.Counts[i] > 0 {
			return h.Buckets[i]
		}
	}
	return 0
}

func TestAsyncPreemptOff(t *testing.T) {
	for _, c := range []struct {
		godebug string
		want    bool
	}{
		{"", false},
		{"asyncpreemptoff=1", true},
		{"gctrace=1, asyncpreemptoff=1", true},
		{"asyncpreemptoff=1,asyncpreemptoff=0", false},
		{"asyncpreemptoff=0", false},
		{"xasyncpreemptoff=1", false},
	} {
		t.Setenv("GODEBUG", c.godebug)
		if got := asyncPreemptOff(); got != c.want {
			t.Errorf("GODEBUG=%q: asyncPreemptOff() = %v, want %v", c.godebug, got, c.want)
		}
	}
}

// A busy process lets the P go (GOMAXPROCS back to what it was) and holds one again
// once idle. The bounds are lowered so that a busy loop is busy enough even on a
// machine other tests load too.
func TestHoldLetsGoWhileBusy(t *testing.T) {
	defer func(b, i float64) { busyAbove, idleBelow = b, i }(busyAbove, idleBelow)
	busyAbove, idleBelow = 0.05, 0.02
	before := runtime.GOMAXPROCS(0)
	release, ok := Hold()
	if !ok {
		t.Fatal("Hold() did not hold")
	}
	defer release()
	waitProcs := func(want int, what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for runtime.GOMAXPROCS(0) != want {
			if time.Now().After(deadline) {
				t.Fatalf("%s: GOMAXPROCS = %d after 10 s, want %d", what, runtime.GOMAXPROCS(0), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	var stop atomic.Bool
	for range before {
		go func() {
			for !stop.Load() {
			}
		}()
	}
	waitProcs(before, "busy")
	stop.Store(true)
	waitProcs(before+1, "idle again")
}

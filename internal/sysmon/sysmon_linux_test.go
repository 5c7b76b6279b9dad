package sysmon

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

func TestHoldAddsOneP(t *testing.T) {
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
// itself: a stop-the-world must still get its P at once (by signal), not when the
// sleep of up to a second ends. Twenty collections, each stopping the world twice,
// would take at least ten seconds otherwise.
func TestHoldDoesNotDelayStopTheWorld(t *testing.T) {
	release, ok := Hold()
	if !ok {
		t.Fatal("Hold() did not hold")
	}
	defer release()
	time.Sleep(50 * time.Millisecond) // let it park
	start := time.Now()
	for range 20 {
		runtime.GC()
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("20 garbage collections took %v with a P held", took)
	}
	// The held P is not lost to the rest of the process: goroutines up to the
	// old GOMAXPROCS still all run.
	n := runtime.GOMAXPROCS(0) - 1
	doneAll := make(chan struct{})
	started := make(chan struct{}, n)
	for range n {
		go func() {
			started <- struct{}{}
			<-doneAll
		}()
	}
	for range n {
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("goroutines did not start while a P was held")
		}
	}
	close(doneAll)
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

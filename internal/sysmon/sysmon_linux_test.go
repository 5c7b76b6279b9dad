package sysmon

import (
	"runtime"
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

package bench

import (
	"os"
	"strings"
	"testing"
	"time"
)

// spinCPU burns CPU on this goroutine until the process has used d more of it
// (however long that takes on a busy machine).
func spinCPU(t *testing.T, d time.Duration) {
	t.Helper()
	start, err := processCPU(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for {
		for i := 0; i < 1e6; i++ {
		}
		now, err := processCPU(os.Getpid())
		if err != nil {
			t.Fatal(err)
		}
		if now-start >= d {
			return
		}
	}
}

// TestCPUWindow measures this test process: CPU burnt during the warm-up does not
// count, CPU burnt after it does; a workload over within its warm-up has no figure.
func TestCPUWindow(t *testing.T) {
	w := startCPUWindow([]int{os.Getpid()}, 100*time.Millisecond)
	spinCPU(t, 150*time.Millisecond) // the warm-up, and past it: counted only after
	<-w.sampled
	before, _ := processCPU(os.Getpid())
	spinCPU(t, 200*time.Millisecond)
	w.stop()
	used, err := w.result()
	if err != nil {
		t.Fatal(err)
	}
	// At least the 200 ms spun after the first sample; at most that plus what was
	// spun between the first sample and our own reading, plus a little for the rest
	// of the process.
	after, _ := processCPU(os.Getpid())
	if used < 200*time.Millisecond || used > after-before+150*time.Millisecond {
		t.Fatalf("measured %v of CPU; %v were used after the first sample", used, after-before)
	}

	early := startCPUWindow([]int{os.Getpid()}, time.Hour)
	early.stop()
	if _, err := early.result(); err == nil || !strings.Contains(err.Error(), "warm-up") {
		t.Fatalf("a window that ended in its warm-up: %v", err)
	}

	var res Result
	gone := startCPUWindow([]int{1 << 30}, 0)
	time.Sleep(20 * time.Millisecond)
	gone.stop()
	noteServerCPU(&res, gone)
	if res.ServerCPUSeconds != 0 || !strings.Contains(res.Note, "server CPU not measured") {
		t.Fatalf("a process that is gone: %+v", res)
	}
}

package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"
)

// clockTicks is the unit of utime and stime in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const clockTicks = 100

// processCPU returns the CPU time (user plus system, all threads) process pid has
// used, from /proc/PID/stat.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: fields
	// are counted from the last ')'. utime and stime are fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(string(s), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / clockTicks, nil
}

// processesCPU is the sum of processCPU over pids.
func processesCPU(pids []int) (time.Duration, error) {
	var sum time.Duration
	for _, p := range pids {
		d, err := processCPU(p)
		if err != nil {
			return 0, err
		}
		sum += d
	}
	return sum, nil
}

// cpuWindow measures the CPU time the server processes use during a workload's
// measured time: sampled when the warm-up ends and when the workload finishes.
// stop, then result, are called by the goroutine that runs the workload.
type cpuWindow struct {
	pids    []int
	timer   *time.Timer
	sampled chan struct{} // closed once the first sample is taken (start, err set)
	stopped bool
	start   time.Duration
	used    time.Duration
	err     error
}

// startCPUWindow samples pids after delay (the rest of the warm-up).
func startCPUWindow(pids []int, delay time.Duration) *cpuWindow {
	w := &cpuWindow{pids: pids, sampled: make(chan struct{})}
	w.timer = time.AfterFunc(max(delay, 0), func() {
		w.start, w.err = processesCPU(pids)
		close(w.sampled)
	})
	return w
}

// stop takes the second sample.
func (w *cpuWindow) stop() {
	w.stopped = true
	if w.timer.Stop() {
		w.err = errors.New("the workload ended within its warm-up")
		return
	}
	<-w.sampled // the first sample may be being taken right now
	if w.err != nil {
		return
	}
	d, err := processesCPU(w.pids)
	if err != nil {
		w.err = err
		return
	}
	w.used = d - w.start
}

// result is the CPU time used between the samples, or an error saying why there is none.
func (w *cpuWindow) result() (time.Duration, error) {
	if !w.stopped {
		return 0, errors.New("the workload did not finish")
	}
	return w.used, w.err
}

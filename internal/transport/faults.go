package transport

import (
	"math/rand/v2"
	"sync"
	"time"
)

// Faults injects network faults into the transports that share it; tests
// use it to drop, delay and partition traffic between members without
// closing any connection (as a real partition does not). The zero value is
// not usable; call NewFaults. A nil *Faults injects nothing.
type Faults struct {
	mu      sync.Mutex
	cut     map[[2]uint64]bool          // directed pairs whose traffic is dropped
	slow    map[[2]uint64]time.Duration // directed pairs whose traffic is held longer
	isoIn   map[uint64]bool             // all traffic to these members is dropped
	isoOut  map[uint64]bool             // all traffic from these members is dropped
	drop    float64
	delay   time.Duration
	jitter  time.Duration
	rng     *rand.Rand
	dropped uint64
}

// NewFaults returns a Faults that injects nothing until told to.
func NewFaults() *Faults {
	return &Faults{
		cut:    make(map[[2]uint64]bool),
		slow:   make(map[[2]uint64]time.Duration),
		isoIn:  make(map[uint64]bool),
		isoOut: make(map[uint64]bool),
		rng:    rand.New(rand.NewPCG(1, 2)),
	}
}

// Cut drops all traffic from a to b and from b to a.
func (f *Faults) Cut(a, b uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut[[2]uint64{a, b}] = true
	f.cut[[2]uint64{b, a}] = true
}

// CutOneWay drops the traffic from a to b only.
func (f *Faults) CutOneWay(a, b uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cut[[2]uint64{a, b}] = true
}

// Isolate drops all traffic to and from id.
func (f *Faults) Isolate(id uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.isoIn[id] = true
	f.isoOut[id] = true
}

// Partition splits the members into the given groups: traffic between
// members of different groups is dropped. Members not listed are unaffected.
func (f *Faults) Partition(groups ...[]uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, g := range groups {
		for j, h := range groups {
			if i == j {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					f.cut[[2]uint64{a, b}] = true
				}
			}
		}
	}
}

// SetDrop drops each message with probability p (0 disables).
func (f *Faults) SetDrop(p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.drop = p
}

// SetDelay delays each message by d plus a random jitter in [0, jitter).
// Delayed messages may be reordered, as raft allows.
func (f *Faults) SetDelay(d, jitter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delay, f.jitter = d, jitter
}

// DelayOneWay delays the traffic from a to b by d, on top of SetDelay's.
func (f *Faults) DelayOneWay(a, b uint64, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.slow[[2]uint64{a, b}] = d
}

// Heal removes every fault.
func (f *Faults) Heal() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.cut)
	clear(f.isoIn)
	clear(f.isoOut)
	clear(f.slow)
	f.drop, f.delay, f.jitter = 0, 0, 0
}

// Dropped returns how many messages the faults have dropped so far.
func (f *Faults) Dropped() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.dropped
}

// decide says whether a message from -> to passes and how long to hold it.
func (f *Faults) decide(from, to uint64) (pass bool, delay time.Duration) {
	if f == nil {
		return true, 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cut[[2]uint64{from, to}] || f.isoOut[from] || f.isoIn[to] ||
		(f.drop > 0 && f.rng.Float64() < f.drop) {
		f.dropped++
		return false, 0
	}
	delay = f.delay + f.slow[[2]uint64{from, to}]
	if f.jitter > 0 {
		delay += time.Duration(f.rng.Int64N(int64(f.jitter)))
	}
	return true, delay
}

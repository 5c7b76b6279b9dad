package bench

import (
	"math"
	"math/bits"
	"time"
)

// Histogram is a log-linear latency histogram in the spirit of HdrHistogram: values
// (nanoseconds) below 2^subBits are counted exactly, and every power-of-two range above
// is split into 2^subBits equal buckets, so a quantile is reported within 1/2^subBits
// (under 0.8 %) of the true value. Minimum, maximum and sum are tracked exactly.
//
// A Histogram is not safe for concurrent use; give each goroutine its own and Merge them.
type Histogram struct {
	counts []uint64
	n      uint64
	sum    float64
	min    int64
	max    int64
}

const (
	subBits    = 7
	subCount   = 1 << subBits
	maxExp     = 42 // values up to 2^43 ns (about 2.4 hours); larger ones are clamped
	numBuckets = (maxExp - subBits + 2) * subCount
	maxValue   = int64(1)<<(maxExp+1) - 1
)

// NewHistogram returns an empty histogram.
func NewHistogram() *Histogram {
	return &Histogram{counts: make([]uint64, numBuckets), min: math.MaxInt64}
}

// bucketOf returns the bucket index of v (0 <= v <= maxValue).
func bucketOf(v int64) int {
	if v < 2*subCount {
		return int(v)
	}
	shift := bits.Len64(uint64(v)) - 1 - subBits
	return (shift+1)*subCount + int(v>>shift) - subCount
}

// bucketHigh returns the largest value that falls in bucket i.
func bucketHigh(i int) int64 {
	if i < 2*subCount {
		return int64(i)
	}
	shift := i/subCount - 1
	sub := int64(i%subCount + subCount)
	return (sub+1)<<shift - 1
}

// Record adds one value, in nanoseconds. Negative values count as 0.
func (h *Histogram) Record(ns int64) {
	if ns < 0 {
		ns = 0
	}
	if ns > maxValue {
		ns = maxValue
	}
	h.counts[bucketOf(ns)]++
	h.n++
	h.sum += float64(ns)
	if ns < h.min {
		h.min = ns
	}
	if ns > h.max {
		h.max = ns
	}
}

// RecordDuration adds one duration.
func (h *Histogram) RecordDuration(d time.Duration) { h.Record(int64(d)) }

// Merge adds all of o's values to h.
func (h *Histogram) Merge(o *Histogram) {
	if o == nil || o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.min = min(h.min, o.min)
	h.max = max(h.max, o.max)
}

// Count is the number of recorded values.
func (h *Histogram) Count() int64 { return int64(h.n) }

// Max is the largest recorded value (0 when empty).
func (h *Histogram) Max() int64 {
	if h.n == 0 {
		return 0
	}
	return h.max
}

// Min is the smallest recorded value (0 when empty).
func (h *Histogram) Min() int64 {
	if h.n == 0 {
		return 0
	}
	return h.min
}

// Mean is the average of the recorded values (0 when empty).
func (h *Histogram) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the value at quantile q (0 < q <= 1): the upper edge of the bucket that
// holds the ceil(q*n)-th smallest value, clamped to [Min, Max]. It is 0 when empty.
func (h *Histogram) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return max(h.min, min(bucketHigh(i), h.max))
		}
	}
	return h.max
}

// Summary is a histogram's digest in milliseconds, as reported.
type Summary struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Summarize digests h into milliseconds.
func (h *Histogram) Summarize() Summary {
	ms := func(ns int64) float64 { return float64(ns) / 1e6 }
	return Summary{
		Count: h.Count(),
		Mean:  h.Mean() / 1e6,
		P50:   ms(h.Quantile(0.50)),
		P90:   ms(h.Quantile(0.90)),
		P99:   ms(h.Quantile(0.99)),
		P999:  ms(h.Quantile(0.999)),
		Max:   ms(h.Max()),
	}
}

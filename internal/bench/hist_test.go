package bench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramBuckets(t *testing.T) {
	// Every value maps to a bucket whose upper edge is at or above it and within the
	// relative error bound; bucket indices are monotonic.
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 257, 511, 512, 1000, 1 << 20, 123456789, maxValue} {
		i := bucketOf(v)
		if i < prev || i >= numBuckets {
			t.Fatalf("bucketOf(%d) = %d (prev %d, max %d)", v, i, prev, numBuckets)
		}
		prev = i
		hi := bucketHigh(i)
		if hi < v || float64(hi-v) > float64(v)/subCount+1 {
			t.Fatalf("bucketHigh(bucketOf(%d)) = %d", v, hi)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Fatalf("value %d also fits bucket %d", v, i-1)
		}
	}
}

func TestHistogramQuantiles(t *testing.T) {
	h := NewHistogram()
	var vals []int64
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		v := int64(r.ExpFloat64() * 1e6) // ~1 ms mean, in ns
		vals = append(vals, v)
		h.Record(v)
	}
	slices.Sort(vals)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		if got < want || float64(got-want) > float64(want)/subCount+1 {
			t.Errorf("q%.3f: got %d, want %d (within %.1f%%)", q, got, want, 100.0/subCount)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] || h.Count() != int64(len(vals)) {
		t.Errorf("max/min/count = %d/%d/%d", h.Max(), h.Min(), h.Count())
	}
	s := h.Summarize()
	if !(s.P50 <= s.P90 && s.P90 <= s.P99 && s.P99 <= s.P999 && s.P999 <= s.Max) {
		t.Errorf("summary out of order: %+v", s)
	}
}

func TestHistogramMerge(t *testing.T) {
	a, b, all := NewHistogram(), NewHistogram(), NewHistogram()
	for i := int64(1); i <= 1000; i++ {
		all.Record(i * 1000)
		if i%2 == 0 {
			a.Record(i * 1000)
		} else {
			b.Record(i * 1000)
		}
	}
	a.Merge(b)
	a.Merge(NewHistogram())
	if a.Summarize() != all.Summarize() {
		t.Errorf("merged %+v != %+v", a.Summarize(), all.Summarize())
	}
	if e := NewHistogram(); e.Quantile(0.5) != 0 || e.Max() != 0 || e.Mean() != 0 {
		t.Error("empty histogram should report zeros")
	}
	h := NewHistogram()
	h.Record(-5)
	h.Record(math.MaxInt64)
	if h.Min() != 0 || h.Max() != maxValue {
		t.Errorf("clamping: min %d max %d", h.Min(), h.Max())
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewHistogram()
	v := int64(12345)
	for b.Loop() {
		h.Record(v)
		v = v*7 + 13&0xffffff
	}
}

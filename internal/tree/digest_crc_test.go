package tree

import (
	"fmt"
	"hash/crc64"
	"math"
	"math/rand/v2"
	"testing"
)

// The digest is compared between members, so crcUpdate must give what
// hash/crc64 gives (and earlier versions of corral hashed with), at every length
// and alignment.
func TestCRCUpdateMatchesHashCRC64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 300)
	for i := range buf {
		buf[i] = byte(r.Uint32())
	}
	for start := 0; start < 8; start++ {
		for n := 0; start+n <= len(buf); n++ {
			p := buf[start : start+n]
			seed := r.Uint64()
			if got, want := crcUpdate(seed, p), crc64.Update(seed, crcTable, p); got != want {
				t.Fatalf("len %d at %d, seed %x: crcUpdate %x, crc64.Update %x", n, start, seed, got, want)
			}
		}
	}
}

// Sequential names are what ZooKeeper makes with String.format("%010d").
func TestSeqName(t *testing.T) {
	for _, n := range []int32{0, 1, 9, 10, 12345, 999999999, 1000000000, math.MaxInt32, -1, -12345, math.MinInt32} {
		if got, want := seqName("/a/b-", n), fmt.Sprintf("/a/b-%010d", n); got != want {
			t.Errorf("seqName(%d) = %q, want %q", n, got, want)
		}
	}
}

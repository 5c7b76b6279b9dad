package freeport

import "testing"

// TestGetNeverRepeats asks for more ports than a test cluster uses and checks
// that none comes back twice.
func TestGetNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		p, err := Get()
		if err != nil {
			t.Fatal(err)
		}
		if p <= 0 || seen[p] {
			t.Fatalf("Get returned %d (seen before: %v)", p, seen[p])
		}
		seen[p] = true
	}
}

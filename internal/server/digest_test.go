package server

import "testing"

func TestDivergedNeedsAMajorityAgainstUs(t *testing.T) {
	cases := []struct {
		name    string
		reports map[uint64]uint64
		size    int
		want    bool
	}{
		{"all agree", map[uint64]uint64{1: 7, 2: 7, 3: 7}, 3, false},
		{"we are the odd one", map[uint64]uint64{1: 9, 2: 7, 3: 7}, 3, true},
		{"another is the odd one", map[uint64]uint64{1: 7, 2: 9, 3: 7}, 3, false},
		{"only one other report", map[uint64]uint64{1: 9, 2: 7}, 3, false},
		{"no own report yet", map[uint64]uint64{2: 7, 3: 7}, 3, false},
		{"five members, three against", map[uint64]uint64{1: 9, 2: 7, 3: 7, 4: 7}, 5, true},
		{"five members, two against", map[uint64]uint64{1: 9, 2: 7, 3: 7}, 5, false},
	}
	for _, c := range cases {
		if _, got := diverged(c.reports, 1, c.size); got != c.want {
			t.Errorf("%s: diverged = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestDigestBookForgetsOldCheckpoints(t *testing.T) {
	b := newDigestBook()
	b.record(digestEvery, 1, 5)
	b.record(100*digestEvery, 1, 6)
	if _, ok := b.reports[digestEvery]; ok {
		t.Fatal("old checkpoint kept")
	}
	if r := b.record(100*digestEvery, 2, 6); len(r) != 2 {
		t.Fatalf("reports %v", r)
	}
}

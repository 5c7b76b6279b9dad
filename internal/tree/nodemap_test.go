package tree

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestNodeMapAgainstMap drives the node map's hash tables through growth, deletion
// (with its backward shifts, wrapping around the end of a table) and shrinking, and
// checks every step against a Go map.
func TestNodeMapAgainstMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var m nodeMap
	m.gen = 1
	want := map[string]*node{}
	// Few keys per shard at first, then many: 3 paths per shard on average, then
	// ~40, then back down to none.
	keys := make([]string, 40*nShards)
	for i := range keys {
		keys[i] = fmt.Sprintf("/k/%d", i)
	}
	check := func(stage string) {
		t.Helper()
		if m.len() != len(want) {
			t.Fatalf("%s: len %d, want %d", stage, m.len(), len(want))
		}
		seen := 0
		for n := range m.all() {
			if want[n.path()] != n {
				t.Fatalf("%s: iteration yields %q, not in the map", stage, n.path())
			}
			seen++
		}
		if seen != len(want) {
			t.Fatalf("%s: iteration yields %d nodes, want %d", stage, seen, len(want))
		}
		for i, s := range m.shards {
			if s == nil {
				continue
			}
			used := 0
			for _, tag := range s.tags {
				if tag != 0 {
					used++
				}
			}
			if used != s.n || len(s.tags) != len(s.nodes) {
				t.Fatalf("%s: shard %d counts %d, holds %d", stage, i, s.n, used)
			}
			if s.n*maxLoadDen > len(s.tags)*maxLoadNum {
				t.Fatalf("%s: shard %d holds %d in %d slots", stage, i, s.n, len(s.tags))
			}
			if len(s.tags) > minSlots && s.n*5 < len(s.tags) && s.n > 0 {
				t.Fatalf("%s: shard %d holds %d in %d slots: not shrunk", stage, i, s.n, len(s.tags))
			}
		}
		for _, k := range keys {
			if got := m.get(k); got != want[k] {
				t.Fatalf("%s: get(%q) = %v, want %v", stage, k, got, want[k])
			}
		}
	}
	apply := func(k string, insert bool) {
		if insert {
			n := newNode(k, nil, kindPersistent)
			m.set(n, false)
			want[k] = n
		} else {
			m.del(k, false)
			delete(want, k)
		}
	}
	for i := 0; i < 3*nShards; i++ {
		apply(keys[rng.IntN(len(keys))], rng.IntN(4) != 0)
	}
	check("sparse")
	for _, k := range keys {
		apply(k, true)
	}
	check("full")
	for i := 0; i < len(keys); i++ {
		apply(keys[rng.IntN(len(keys))], rng.IntN(3) == 0)
	}
	check("churned")
	for _, k := range rng.Perm(len(keys)) {
		apply(keys[k], false)
	}
	check("emptied")
}

// TestNodeShardWrap fills one shard's small table so that runs wrap around its end,
// then deletes in every order: lookups must still find every node left.
func TestNodeShardWrap(t *testing.T) {
	const size = 16
	var paths []string
	// Paths whose home is one of the last two slots of a 16-slot table.
	for i := 0; len(paths) < 12; i++ {
		p := fmt.Sprintf("/w/%d", i)
		if home(slotHash(p), size) >= size-2 {
			paths = append(paths, p)
		}
	}
	for round := range 20 {
		s := &nodeShard{tags: make([]uint8, size), nodes: make([]*node, size)}
		for _, p := range paths {
			s.place(newNode(p, nil, kindPersistent), slotHash(p))
			s.n++
		}
		if s.tags[0] == 0 {
			t.Fatal("the run does not wrap")
		}
		left := map[string]bool{}
		for _, p := range paths {
			left[p] = true
		}
		order := rand.New(rand.NewPCG(uint64(round), 7)).Perm(len(paths))
		for _, k := range order {
			i := s.find(paths[k], slotHash(paths[k]))
			if i < 0 {
				t.Fatalf("round %d: %q lost", round, paths[k])
			}
			s.removeAt(i)
			delete(left, paths[k])
			for p := range left {
				if j := s.find(p, slotHash(p)); j < 0 || s.nodes[j].path() != p {
					t.Fatalf("round %d: %q lost after deleting %q", round, p, paths[k])
				}
			}
		}
	}
}

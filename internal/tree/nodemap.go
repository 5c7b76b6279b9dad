package tree

import (
	"iter"
	"maps"
	"sync/atomic"
)

// Copy-on-write.
//
// A snapshot must be the state at one index, but writing a million znodes takes
// hundreds of milliseconds, and Apply cannot wait that long. So Freeze returns an
// immutable view in a few microseconds, and the tree copies what it would otherwise
// change under that view:
//
//   - The path → node map is split into nShards shards. Freeze copies the array of
//     shard pointers; the first change to a shard after a Freeze clones that shard (a
//     few hundred entries at 1M znodes), and later changes in the same generation go
//     to the clone.
//   - A node is copied (a flat struct copy) before its first change after a Freeze.
//     The copy takes over the children set, which the view never reads: a node's
//     child count is kept in the node (nchildren), and that is all a snapshot needs.
//   - Sessions and interned ACLs are few; Freeze copies them.
//
// Every shard and node carries the generation that made it. Freeze increments the
// tree's generation, so everything older may be shared with a view; it is copied
// only while some view is still held (views > 0): once the snapshot is written and
// the view released, changes go back to being made in place. Whether to copy is
// decided once per Apply (Tree.cow), so that within one entry (a multi and its
// rollback included) every stale pointer resolves to the same copy.

// nShards is the number of shards of the node map, a power of two.
const nShards = 4096

// shardOf returns the shard of path p. The function is fixed (no per-process seed), so
// a snapshot written shard by shard can be loaded shard by shard, in parallel, into the
// same shards (snapshot_read.go). Within a shard, Go's map hashing is seeded per map.
func shardOf(p string) int {
	h := uint64(len(p)) * 0x9e3779b97f4a7c15
	for ; len(p) >= 8; p = p[8:] {
		w := uint64(p[0]) | uint64(p[1])<<8 | uint64(p[2])<<16 | uint64(p[3])<<24 |
			uint64(p[4])<<32 | uint64(p[5])<<40 | uint64(p[6])<<48 | uint64(p[7])<<56
		h = (h ^ w) * 0xff51afd7ed558ccd
		h ^= h >> 29
	}
	for i := 0; i < len(p); i++ {
		h = (h ^ uint64(p[i])) * 0xc4ceb9fe1a85ec53
	}
	return int(mix64(h) & (nShards - 1))
}

type nodeShard struct {
	m   map[string]*node
	gen uint32
}

// nodeMap maps paths to nodes.
type nodeMap struct {
	shards [nShards]*nodeShard // nil: empty shard
	n      int
	gen    uint32       // current generation; >= 1
	views  atomic.Int32 // frozen views not yet released
}

func (m *nodeMap) get(p string) *node {
	if s := m.shards[shardOf(p)]; s != nil {
		return s.m[p]
	}
	return nil
}

func (m *nodeMap) len() int { return m.n }

// all iterates over every node, in no particular order. The map must not change
// during the iteration.
func (m *nodeMap) all() iter.Seq2[string, *node] {
	return shardsAll(m.shards[:])
}

func shardsAll(shards []*nodeShard) iter.Seq2[string, *node] {
	return func(yield func(string, *node) bool) {
		for _, s := range shards {
			if s == nil {
				continue
			}
			for p, n := range s.m {
				if !yield(p, n) {
					return
				}
			}
		}
	}
}

// wshard returns p's shard, ready to be changed: created if missing, cloned if it
// may be shared with a frozen view.
func (m *nodeMap) wshard(p string, cow bool) *nodeShard {
	i := shardOf(p)
	s := m.shards[i]
	switch {
	case s == nil:
		s = &nodeShard{m: make(map[string]*node), gen: m.gen}
		m.shards[i] = s
	case cow && s.gen != m.gen:
		s = &nodeShard{m: maps.Clone(s.m), gen: m.gen}
		m.shards[i] = s
	}
	return s
}

func (m *nodeMap) set(p string, n *node, cow bool) {
	s := m.wshard(p, cow)
	if _, ok := s.m[p]; !ok {
		m.n++
	}
	s.m[p] = n
}

func (m *nodeMap) del(p string, cow bool) {
	s := m.wshard(p, cow)
	if _, ok := s.m[p]; ok {
		m.n--
		delete(s.m, p)
	}
}

// reserve sizes the shards for about n nodes (a fresh map being loaded).
func (m *nodeMap) reserve(n uint64) {
	per := int(min(n, 1<<26) / nShards)
	if per < 8 {
		return
	}
	per += per / 8
	for i := range m.shards {
		if m.shards[i] == nil {
			m.shards[i] = &nodeShard{m: make(map[string]*node, per), gen: m.gen}
		}
	}
}

// writable returns the node at path, ready to be changed: n itself, unless n may be
// shared with a frozen view, in which case a copy takes its place in the map (or the
// copy already made in this generation, when n is a stale pointer to the original).
// Callers must use the returned node from then on.
func (t *Tree) writable(path string, n *node) *node {
	if !t.cow || n.gen() == t.nodes.gen {
		return n
	}
	s := t.nodes.wshard(path, true)
	cur := s.m[path]
	if cur != nil && cur != n && cur.gen() == t.nodes.gen {
		return cur
	}
	c := *n
	c.setGen(t.nodes.gen)
	if cur == n {
		s.m[path] = &c
	}
	return &c
}

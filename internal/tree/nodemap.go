package tree

import (
	"hash/maphash"
	"iter"
	"math/bits"
	"slices"
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
//     few hundred slots at 1M znodes), and later changes in the same generation go
//     to the clone.
//   - A node is copied (a flat struct copy, and a copy of its ext) before its first
//     change after a Freeze. The copy takes over the child names, which the view
//     never reads: the view's ext keeps the child count, pzxid, counter, owner and
//     aversion, and that is all a snapshot needs.
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
// same shards (snapshot_read.go). Within a shard, the position is seeded per process
// (slotHash).
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

// slotSeed seeds the hash that places a node within its shard. It is drawn per
// process, so that no client can pick paths that pile up in one run of slots (the
// shard itself is a fixed function of the path, see shardOf, but a shard is just a
// bigger table).
var slotSeed = maphash.MakeSeed()

func slotHash(p string) uint64 { return maphash.String(slotSeed, p) }

// nodeShard is one shard of the node map: an open-addressing hash table with linear
// probing, keyed by the nodes' own paths (node.path). A slot costs 9 bytes, the node
// pointer and a tag (0 for an empty slot, else 0x80 | 7 low bits of the path's hash),
// so that a probe reads a node only when its tag matches. The table is at most 4/5
// full and grows by half, so it holds about 14 bytes per node on average, where a Go
// map[string]*node takes about 50 (a 24-byte slot and its slack).
type nodeShard struct {
	tags  []uint8
	nodes []*node
	n     int
	gen   uint32
}

// Table sizing: a shard grows when an insert would make it more than maxLoadNum /
// maxLoadDen full, and halves when a delete leaves it less than a fifth full.
const (
	maxLoadNum = 4
	maxLoadDen = 5
	minSlots   = 8
)

func tagOf(h uint64) uint8 { return uint8(h) | 0x80 }

// home returns the first slot to probe for hash h in a table of size slots. It uses
// the hash's high bits, the tag its low ones.
func home(h uint64, size int) int {
	hi, _ := bits.Mul64(h, uint64(size))
	return int(hi)
}

// find returns the slot of path p (hash h), or -1.
func (s *nodeShard) find(p string, h uint64) int {
	size := len(s.tags)
	if size == 0 {
		return -1
	}
	tag := tagOf(h)
	for i := home(h, size); ; {
		switch s.tags[i] {
		case 0:
			return -1
		case tag:
			if s.nodes[i].path() == p {
				return i
			}
		}
		if i++; i == size {
			i = 0
		}
	}
}

// insert adds n (its path hashing to h), whose path must not be in the shard.
func (s *nodeShard) insert(n *node, h uint64) {
	if (s.n+1)*maxLoadDen > len(s.tags)*maxLoadNum {
		s.resize(max(minSlots, len(s.tags)*3/2, (s.n+1)*maxLoadDen/maxLoadNum+1))
	}
	s.place(n, h)
	s.n++
}

// place puts n in the first free slot from its home; there is always one.
func (s *nodeShard) place(n *node, h uint64) {
	size := len(s.tags)
	i := home(h, size)
	for s.tags[i] != 0 {
		if i++; i == size {
			i = 0
		}
	}
	s.tags[i], s.nodes[i] = tagOf(h), n
}

// resize rehashes the shard into a table of size slots.
func (s *nodeShard) resize(size int) {
	tags, nodes := s.tags, s.nodes
	s.tags, s.nodes = make([]uint8, size), make([]*node, size)
	for i, t := range tags {
		if t != 0 {
			s.place(nodes[i], slotHash(nodes[i].path()))
		}
	}
}

// removeAt empties slot i, then moves later nodes of the same run back into the hole
// where their home allows it (backward-shift deletion: no tombstones, so lookups stay
// as short as the load allows).
func (s *nodeShard) removeAt(i int) {
	size := len(s.tags)
	for j := i; ; {
		if j++; j == size {
			j = 0
		}
		if s.tags[j] == 0 {
			break
		}
		k := home(slotHash(s.nodes[j].path()), size)
		var stays bool // k lies cyclically in (i, j]: the node cannot move to i
		if i <= j {
			stays = i < k && k <= j
		} else {
			stays = i < k || k <= j
		}
		if !stays {
			s.tags[i], s.nodes[i] = s.tags[j], s.nodes[j]
			i = j
		}
	}
	s.tags[i], s.nodes[i] = 0, nil
	s.n--
	if size > minSlots && s.n*5 < size {
		s.resize(max(minSlots, size/2))
	}
}

func (s *nodeShard) clone(gen uint32) *nodeShard {
	return &nodeShard{tags: slices.Clone(s.tags), nodes: slices.Clone(s.nodes), n: s.n, gen: gen}
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
		if i := s.find(p, slotHash(p)); i >= 0 {
			return s.nodes[i]
		}
	}
	return nil
}

func (m *nodeMap) len() int { return m.n }

// all iterates over every node, in no particular order. The map must not change
// during the iteration.
func (m *nodeMap) all() iter.Seq[*node] {
	return shardsAll(m.shards[:])
}

func shardsAll(shards []*nodeShard) iter.Seq[*node] {
	return func(yield func(*node) bool) {
		for _, s := range shards {
			if s == nil {
				continue
			}
			for n := range s.all {
				if !yield(n) {
					return
				}
			}
		}
	}
}

// all iterates over the nodes of the shard.
func (s *nodeShard) all(yield func(*node) bool) {
	for i, t := range s.tags {
		if t != 0 && !yield(s.nodes[i]) {
			return
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
		s = &nodeShard{gen: m.gen}
		m.shards[i] = s
	case cow && s.gen != m.gen:
		s = s.clone(m.gen)
		m.shards[i] = s
	}
	return s
}

// set puts n at its path, in place of the node there if any.
func (m *nodeMap) set(n *node, cow bool) {
	s := m.wshard(n.path(), cow)
	h := slotHash(n.path())
	if i := s.find(n.path(), h); i >= 0 {
		s.nodes[i] = n
		return
	}
	s.insert(n, h)
	m.n++
}

func (m *nodeMap) del(p string, cow bool) {
	s := m.wshard(p, cow)
	if i := s.find(p, slotHash(p)); i >= 0 {
		s.removeAt(i)
		m.n--
	}
}

// reserve sizes the shards for about n nodes (a fresh map being loaded).
func (m *nodeMap) reserve(n uint64) {
	per := int(min(n, 1<<26) / nShards)
	if per < minSlots {
		return
	}
	size := per*maxLoadDen/maxLoadNum + per/16 + 1
	for i := range m.shards {
		if m.shards[i] == nil {
			m.shards[i] = &nodeShard{tags: make([]uint8, size), nodes: make([]*node, size), gen: m.gen}
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
	var cur *node
	i := s.find(path, slotHash(path))
	if i >= 0 {
		cur = s.nodes[i]
	}
	if cur != nil && cur != n && cur.gen() == t.nodes.gen {
		return cur
	}
	c := *n
	c.setGen(t.nodes.gen)
	if n.ext != nil {
		d := *n.ext // the view keeps n's values; the names stay shared
		c.ext = &d
	}
	if cur == n {
		s.nodes[i] = &c
	}
	return &c
}

package tree

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
)

// Snapshot format (all integers varint-encoded unless noted):
//
//	magic "CRLTREE2"
//	lastZxid
//	nACL, then per ACL list: its jute encoding as a length-prefixed byte string
//	nSessions, then per session: id, timeout, passwd (length -1 = null), created
//	nNodes, then the nodes in chunks; per chunk: count (> 0), first shard, end shard
//	  (exclusive), byte length, then count node records: path, data (length -1 =
//	  null), ACL index, czxid, mzxid, pzxid, ctime, mtime, owner, version, cversion,
//	  aversion, kind (one byte), number of children (a size hint)
//	0 (the end of the chunks)
//	digest (8 bytes little-endian), checked on load
//
// A chunk holds every node of shards [first, end) of the node map (shardOf is fixed),
// and chunks come in shard order, so a reader can decode chunks in parallel, each
// filling its own shards (snapshot_read.go). Within a shard nodes are in map order (no
// sorting, no path building), so two snapshots of equal states may differ in bytes;
// their digests do not.
//
// Version 1 ("CRLTREE1") had the node records as one stream without chunks; it is still
// read (serially).
const (
	snapshotMagic   = "CRLTREE2"
	snapshotMagicV1 = "CRLTREE1"
)

// snapChunkTarget is the size at which the writer closes a chunk (at a shard boundary).
const snapChunkTarget = 1 << 20

// ErrBadSnapshot is returned by ReadSnapshot for input that is not a whole snapshot.
var ErrBadSnapshot = errors.New("tree: malformed snapshot")

const (
	maxSnapPath = 1 << 20
	maxSnapData = 1 << 30
)

type snapWriter struct {
	w   *bufio.Writer
	buf []byte
}

func (s *snapWriter) varint(v int64)   { s.buf = binary.AppendVarint(s.buf, v) }
func (s *snapWriter) uvarint(v uint64) { s.buf = binary.AppendUvarint(s.buf, v) }
func (s *snapWriter) str(v string)     { s.uvarint(uint64(len(v))); s.buf = append(s.buf, v...) }
func (s *snapWriter) bytes(b []byte) {
	if b == nil {
		s.varint(-1)
		return
	}
	s.varint(int64(len(b)))
	s.buf = append(s.buf, b...)
}

// flush writes out the buffer.
func (s *snapWriter) flush() error {
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	return err
}

// snapState is what a snapshot holds: the live tree's state (WriteSnapshot) or a
// frozen view's (Frozen.WriteSnapshot).
type snapState struct {
	lastZxid int64
	digest   uint64
	acls     []frozenACL   // every interned ACL, any order
	sessions []SessionInfo // any order
	shards   []*nodeShard  // nShards entries, nil for an empty shard
	count    int
}

type frozenACL struct {
	key string
	e   *aclEntry
}

// WriteSnapshot streams the whole state (nodes, sessions, last zxid) to w. It only
// reads the tree; to write a snapshot while the tree keeps changing, use Freeze.
func (t *Tree) WriteSnapshot(w io.Writer) error {
	return writeSnapshot(w, &snapState{
		lastZxid: t.lastZxid,
		digest:   t.Digest(),
		acls:     t.frozenACLs(),
		sessions: t.Sessions(),
		shards:   t.nodes.shards[:],
		count:    t.nodes.len(),
	})
}

func (t *Tree) frozenACLs() []frozenACL {
	out := make([]frozenACL, 0, len(t.acls))
	for k, a := range t.acls {
		out = append(out, frozenACL{key: k, e: a})
	}
	return out
}

// Frozen is an immutable view of a Tree at one moment, returned by Freeze. Its
// methods may be called from any goroutine, concurrently with changes to the tree;
// Release it once done, so that the tree stops copying what it changes.
type Frozen struct {
	st       snapState
	shards   [nShards]*nodeShard
	views    *atomic.Int32
	released atomic.Bool
}

// Freeze returns an immutable view of the current state, for writing a snapshot
// while Apply goes on. It costs a copy of the shard table (32 KB), of the sessions
// and of the interned ACLs, whatever the number of znodes; afterwards, the first
// change to each shard and node copies it (see nodemap.go) until the view is
// released. Like Apply, it must not run concurrently with other calls on the tree.
func (t *Tree) Freeze() *Frozen {
	f := &Frozen{views: &t.nodes.views}
	f.shards = t.nodes.shards
	sessions := make([]SessionInfo, 0, len(t.sessions))
	for _, s := range t.sessions {
		sessions = append(sessions, s.info)
	}
	f.st = snapState{
		lastZxid: t.lastZxid,
		digest:   t.Digest(),
		acls:     t.frozenACLs(),
		sessions: sessions,
		count:    t.nodes.len(),
	}
	f.st.shards = f.shards[:]
	t.nodes.views.Add(1)
	if t.nodes.gen = (t.nodes.gen + 1) & genMask; t.nodes.gen == 0 {
		t.nodes.gen = 1 // 0 marks a node not yet inserted (insertNode)
	}
	return f
}

// LastZxid returns the zxid of the last entry applied before the view was frozen.
func (f *Frozen) LastZxid() int64 { return f.st.lastZxid }

// Digest returns the digest of the frozen state (Tree.Digest at Freeze time).
func (f *Frozen) Digest() uint64 { return f.st.digest }

// WriteSnapshot streams the frozen state to w, in the format of Tree.WriteSnapshot.
// It fails once the view is released.
func (f *Frozen) WriteSnapshot(w io.Writer) error {
	if f.released.Load() {
		return errors.New("tree: snapshot of a released view")
	}
	return writeSnapshot(w, &f.st)
}

// Release ends the view; later calls do nothing. WriteSnapshot must not be running.
func (f *Frozen) Release() {
	if f.released.CompareAndSwap(false, true) {
		f.shards = [nShards]*nodeShard{}
		f.st = snapState{}
		f.views.Add(-1)
	}
}

func writeSnapshot(w io.Writer, st *snapState) error {
	s := &snapWriter{w: bufio.NewWriterSize(w, 1<<20), buf: make([]byte, 0, snapChunkTarget+64<<10)}
	s.buf = append(s.buf, snapshotMagic...)
	s.varint(st.lastZxid)

	acls := slices.Clone(st.acls)
	slices.SortFunc(acls, func(a, b frozenACL) int { return strings.Compare(a.key, b.key) })
	aclIdx := make(map[*aclEntry]uint64, len(acls))
	s.uvarint(uint64(len(acls)))
	for i, a := range acls {
		aclIdx[a.e] = uint64(i)
		s.str(a.key)
	}

	sessions := slices.Clone(st.sessions)
	slices.SortFunc(sessions, func(a, b SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
	s.uvarint(uint64(len(sessions)))
	for _, si := range sessions {
		s.varint(si.ID)
		s.varint(int64(si.Timeout))
		s.bytes(si.Passwd)
		s.varint(si.Created)
	}

	s.uvarint(uint64(st.count))
	if err := s.flush(); err != nil {
		return err
	}
	written, first, inChunk := 0, 0, 0
	for i, sh := range st.shards {
		if sh != nil {
			for n := range sh.all {
				s.node(n, aclIdx)
				written++
				inChunk++
				if written%4096 == 0 {
					// Let Apply (and the network) have the CPU now and then: on a
					// small machine a writer that keeps its P for a whole time
					// slice shows up in the tail latency of requests.
					runtime.Gosched()
				}
			}
		}
		if inChunk > 0 && (len(s.buf) >= snapChunkTarget || i == len(st.shards)-1) {
			if err := s.chunk(inChunk, first, i+1); err != nil {
				return err
			}
			first, inChunk = i+1, 0
		}
	}
	if written != st.count {
		return fmt.Errorf("tree: snapshot found %d nodes, expected %d", written, st.count)
	}
	s.uvarint(0)
	s.buf = binary.LittleEndian.AppendUint64(s.buf, st.digest)
	if err := s.flush(); err != nil {
		return err
	}
	return s.w.Flush()
}

// node appends one node record.
func (s *snapWriter) node(n *node, aclIdx map[*aclEntry]uint64) {
	s.str(n.path())
	s.bytes(n.data())
	s.uvarint(aclIdx[n.acl])
	s.varint(n.czxid)
	s.varint(n.mzxid)
	s.varint(n.pzxid())
	s.varint(n.ctime)
	s.varint(n.mtime)
	s.varint(n.owner())
	s.varint(int64(n.version))
	s.varint(int64(n.cversion()))
	s.varint(int64(n.aversion()))
	s.buf = append(s.buf, byte(n.kind()))
	s.uvarint(uint64(n.nchildren()))
}

// chunk writes the buffered records (count nodes of shards [first, end)) as a chunk.
func (s *snapWriter) chunk(count, first, end int) error {
	var hdr [4 * binary.MaxVarintLen64]byte
	h := binary.AppendUvarint(hdr[:0], uint64(count))
	h = binary.AppendUvarint(h, uint64(first))
	h = binary.AppendUvarint(h, uint64(end))
	h = binary.AppendUvarint(h, uint64(len(s.buf)))
	if _, err := s.w.Write(h); err != nil {
		return err
	}
	return s.flush()
}

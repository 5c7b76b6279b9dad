package tree

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/corral-io/corral/proto"
)

// Snapshot format (all integers varint-encoded unless noted):
//
//	magic "CRLTREE1"
//	lastZxid
//	nACL, then per ACL list: its jute encoding as a length-prefixed byte string
//	nSessions, then per session: id, timeout, passwd (length -1 = null), created
//	nNodes, then per node, in no particular order: path, data (length -1 = null),
//	  ACL index, czxid, mzxid, pzxid, ctime, mtime, owner, version, cversion,
//	  aversion, kind (one byte), number of children (a size hint)
//	digest (8 bytes little-endian), checked on load
//
// Nodes are written in map order (no sorting, no path building), so two snapshots of
// equal states may differ in bytes; their digests do not.
const snapshotMagic = "CRLTREE1"

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

// flush writes the buffered record once it is large enough (or when forced).
func (s *snapWriter) flush(force bool) error {
	if len(s.buf) < 64<<10 && !force {
		return nil
	}
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
	nodes    iter.Seq2[string, *node]
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
		nodes:    t.nodes.all(),
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
	f.st.nodes = shardsAll(f.shards[:])
	t.nodes.views.Add(1)
	t.nodes.gen++
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
	s := &snapWriter{w: bufio.NewWriterSize(w, 1<<20), buf: make([]byte, 0, 128<<10)}
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
	written := 0
	for p, n := range st.nodes {
		s.str(p)
		s.bytes(n.data)
		s.uvarint(aclIdx[n.acl])
		s.varint(n.czxid)
		s.varint(n.mzxid)
		s.varint(n.pzxid)
		s.varint(n.ctime)
		s.varint(n.mtime)
		s.varint(n.owner)
		s.varint(int64(n.version))
		s.varint(int64(n.cversion))
		s.varint(int64(n.aversion))
		s.buf = append(s.buf, byte(n.kind))
		s.uvarint(uint64(n.nchildren))
		written++
		if err := s.flush(false); err != nil {
			return err
		}
		if written%4096 == 0 {
			// Let Apply (and the network) have the CPU now and then: on a small
			// machine a writer that keeps its P for a whole time slice shows up
			// in the tail latency of requests.
			runtime.Gosched()
		}
	}
	if written != st.count {
		return fmt.Errorf("tree: snapshot found %d nodes, expected %d", written, st.count)
	}
	s.buf = binary.LittleEndian.AppendUint64(s.buf, st.digest)
	if err := s.flush(true); err != nil {
		return err
	}
	return s.w.Flush()
}

type snapReader struct {
	r   *bufio.Reader
	err error
}

func (s *snapReader) fail(err error) {
	if s.err == nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		s.err = fmt.Errorf("%w: %v", ErrBadSnapshot, err)
	}
}

func (s *snapReader) varint() int64 {
	if s.err != nil {
		return 0
	}
	v, err := binary.ReadVarint(s.r)
	if err != nil {
		s.fail(err)
	}
	return v
}

func (s *snapReader) uvarint() uint64 {
	if s.err != nil {
		return 0
	}
	v, err := binary.ReadUvarint(s.r)
	if err != nil {
		s.fail(err)
	}
	return v
}

func (s *snapReader) int32() int32 {
	v := s.varint()
	if v < -1<<31 || v >= 1<<31 {
		s.fail(errors.New("int32 out of range"))
	}
	return int32(v)
}

func (s *snapReader) raw(n int) []byte {
	if s.err != nil {
		return nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(s.r, b); err != nil {
		s.fail(err)
		return nil
	}
	return b
}

func (s *snapReader) str(max uint64) string {
	n := s.uvarint()
	if n > max {
		s.fail(fmt.Errorf("string of %d bytes", n))
		return ""
	}
	if s.err != nil || n == 0 {
		return ""
	}
	return string(s.raw(int(n)))
}

func (s *snapReader) bytes() []byte {
	n := s.varint()
	if n == -1 || s.err != nil {
		return nil
	}
	if n < 0 || n > maxSnapData {
		s.fail(fmt.Errorf("buffer of %d bytes", n))
		return nil
	}
	if n == 0 {
		return []byte{}
	}
	return s.raw(int(n))
}

// ReadSnapshot loads a tree written by WriteSnapshot. It checks the structure (every
// node's parent present, valid kinds and references) and the digest.
func ReadSnapshot(r io.Reader) (*Tree, error) {
	s := &snapReader{r: bufio.NewReaderSize(r, 1<<20)}
	if m := s.raw(len(snapshotMagic)); s.err != nil || string(m) != snapshotMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrBadSnapshot)
	}
	t := newEmpty()
	t.lastZxid = s.varint()

	nACL := s.uvarint()
	var acls []*aclEntry
	for i := uint64(0); i < nACL && s.err == nil; i++ {
		k := s.str(maxSnapData)
		d := proto.NewDecoder([]byte(k))
		acl := proto.DecodeACLs(d)
		if d.Err() != nil || d.Remaining() != 0 || aclKey(acl) != k {
			s.fail(errors.New("bad ACL"))
			break
		}
		acls = append(acls, t.internACL(acl))
	}

	nSess := s.uvarint()
	for i := uint64(0); i < nSess && s.err == nil; i++ {
		si := SessionInfo{ID: s.varint(), Timeout: s.int32(), Passwd: s.bytes(), Created: s.varint()}
		if _, dup := t.sessions[si.ID]; dup {
			s.fail(fmt.Errorf("duplicate session %d", si.ID))
			break
		}
		ss := &session{info: si}
		t.sessions[si.ID] = ss
		t.digest += hashSession(ss)
	}

	nNodes := s.uvarint()
	var hintSum uint64 // the children hints must add up to nNodes-1
	if s.err == nil {
		t.nodes.reserve(nNodes)
	}
	for i := uint64(0); i < nNodes && s.err == nil; i++ {
		p := s.str(maxSnapPath)
		n := &node{data: s.bytes()}
		ai := s.uvarint()
		n.czxid, n.mzxid, n.pzxid = s.varint(), s.varint(), s.varint()
		n.ctime, n.mtime, n.owner = s.varint(), s.varint(), s.varint()
		n.version, n.cversion, n.aversion = s.int32(), s.int32(), s.int32()
		kb := s.raw(1)
		nc := s.uvarint()
		if s.err != nil {
			break
		}
		if ai >= uint64(len(acls)) || kb[0] > byte(kindTTL) || (p != rootPath && !validPath(p)) || p == "" {
			s.fail(fmt.Errorf("bad node %q", p))
			break
		}
		if t.nodes.get(p) != nil {
			s.fail(fmt.Errorf("duplicate node %q", p))
			break
		}
		n.kind = nodeKind(kb[0])
		n.acl = acls[ai]
		hintSum += nc
		if nc > 0 {
			n.children = make(map[string]struct{}, min(nc, 1<<20))
		}
		if n.kind == kindEphemeral && t.sessions[n.owner] == nil {
			s.fail(fmt.Errorf("ephemeral %q of unknown session", p))
			break
		}
		t.insertNode(p, n, nil)
	}
	if s.err == nil {
		if t.nodes.get(rootPath) == nil || hintSum != nNodes-1 {
			s.fail(errors.New("no root or inconsistent child counts"))
		}
	}
	if s.err == nil {
		for p := range t.nodes.all() {
			if p == rootPath {
				continue
			}
			parent := t.nodes.get(parentOf(p))
			if parent == nil || parent.kind == kindEphemeral {
				s.fail(fmt.Errorf("node %q has no valid parent", p))
				break
			}
			if parent.children == nil {
				parent.children = make(map[string]struct{}, 1)
			}
			parent.children[childName(p)] = struct{}{}
			parent.nchildren++
		}
	}
	var sum [8]byte
	if s.err == nil {
		if _, err := io.ReadFull(s.r, sum[:]); err != nil {
			s.fail(err)
		}
	}
	if s.err != nil {
		return nil, s.err
	}
	if binary.LittleEndian.Uint64(sum[:]) != t.Digest() {
		return nil, fmt.Errorf("%w: digest mismatch", ErrBadSnapshot)
	}
	return t, nil
}

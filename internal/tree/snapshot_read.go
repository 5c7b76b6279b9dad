package tree

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/corral-io/corral/proto"
)

// Loading a snapshot.
//
// The header (ACLs, sessions) is read serially. The nodes of a version 2 snapshot come
// in chunks, each holding whole shards of the node map (see snapshot.go), so workers
// decode chunks in parallel and insert the nodes into their shards without locking:
// no two chunks share a shard. Each worker sums its part of the digest, data size and
// ACL references; the parts are merged at the end. Children sets are then linked in
// parallel too, each worker taking the parents in its own range of shards. A
// version 1 snapshot is one stream of records and is loaded serially.

// maxSnapChunk bounds the byte length of a chunk: a record holds at most one path and
// one data buffer.
const maxSnapChunk = snapChunkTarget + maxSnapPath + maxSnapData + 1<<10

type snapReader struct {
	r   *bufio.Reader
	err error
}

func badSnapshot(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSnapshot, fmt.Sprintf(format, args...))
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

// rawGrow reads n bytes into buf (reused when large enough), growing it in steps as
// the bytes arrive, so that a corrupted length fails at the end of the input instead
// of allocating it at once.
func (s *snapReader) rawGrow(buf []byte, n int) []byte {
	if s.err != nil {
		return nil
	}
	if cap(buf) >= n {
		buf = buf[:n]
		if _, err := io.ReadFull(s.r, buf); err != nil {
			s.fail(err)
			return nil
		}
		return buf
	}
	buf = buf[:0]
	for len(buf) < n {
		step := min(n-len(buf), max(len(buf), 4<<20))
		buf = append(buf, make([]byte, step)...)
		if _, err := io.ReadFull(s.r, buf[len(buf)-step:]); err != nil {
			s.fail(err)
			return nil
		}
	}
	return buf
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

// ReadSnapshot loads a tree written by WriteSnapshot (or a version 1 snapshot). It
// checks the structure (every node's parent present, valid kinds and references) and
// the digest.
func ReadSnapshot(r io.Reader) (*Tree, error) {
	s := &snapReader{r: bufio.NewReaderSize(r, 1<<20)}
	magic := string(s.raw(len(snapshotMagic)))
	if s.err != nil || (magic != snapshotMagic && magic != snapshotMagicV1) {
		return nil, fmt.Errorf("%w: bad magic", ErrBadSnapshot)
	}
	t := newEmpty()
	t.lastZxid = s.varint()
	acls := s.readACLs(t)
	s.readSessions(t)
	nNodes := s.uvarint()
	if s.err != nil {
		return nil, s.err
	}
	t.nodes.reserve(nNodes)
	if magic == snapshotMagicV1 {
		s.readNodesV1(t, acls, nNodes)
	} else {
		s.readNodes(t, acls, nNodes)
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

func (s *snapReader) readACLs(t *Tree) []*aclEntry {
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
	return acls
}

func (s *snapReader) readSessions(t *Tree) {
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
}

// snapChunk is a chunk of node records, as read from a version 2 snapshot.
type snapChunk struct {
	count      int
	first, end int // shards [first, end)
	buf        []byte
}

// loadPart is what one worker adds to the tree; the parts are merged at the end.
type loadPart struct {
	nodes      int
	hintSum    uint64
	digest     uint64
	dataSize   int64
	aclRefs    []int
	ephemerals []ephemeralRef
	containers []string
	ttls       []string
	// children[w] lists the nodes whose parent is in worker w's range of shards
	// (linkChildren).
	children [][]string
	err      error
}

type ephemeralRef struct {
	path  string
	owner int64
}

// readNodes reads the chunks of a version 2 snapshot and has workers load them.
func (s *snapReader) readNodes(t *Tree, acls []*aclEntry, nNodes uint64) {
	workers := max(1, min(runtime.GOMAXPROCS(0), 8))
	parts := make([]loadPart, workers)
	jobs := make(chan snapChunk, workers)
	free := make(chan []byte, 2*workers+1)
	var failed atomic.Bool
	var wg sync.WaitGroup
	for w := range parts {
		part := &parts[w]
		part.aclRefs = make([]int, len(acls))
		part.children = make([][]string, workers)
		wg.Go(func() {
			for c := range jobs {
				if part.err == nil && !failed.Load() {
					if part.err = t.loadChunk(c, acls, part); part.err != nil {
						failed.Store(true)
					}
				}
				select {
				case free <- c.buf:
				default:
				}
			}
		})
	}
	var total uint64
	prevEnd := 0
	for s.err == nil && !failed.Load() {
		count := s.uvarint()
		if count == 0 {
			break
		}
		c := snapChunk{first: int(min(s.uvarint(), nShards)), end: int(min(s.uvarint(), nShards+1))}
		size := s.uvarint()
		if s.err != nil {
			break
		}
		total += count
		if c.first < prevEnd || c.end <= c.first || c.end > nShards || size > maxSnapChunk || total > nNodes || count > size {
			s.fail(fmt.Errorf("bad chunk of %d nodes, shards [%d, %d), %d bytes", count, c.first, c.end, size))
			break
		}
		prevEnd = c.end
		c.count = int(count)
		var buf []byte
		select {
		case buf = <-free:
		default:
		}
		if c.buf = s.rawGrow(buf, int(size)); s.err != nil {
			break
		}
		jobs <- c
	}
	close(jobs)
	wg.Wait()
	if s.err != nil {
		return
	}
	for i := range parts {
		if parts[i].err != nil {
			s.err = parts[i].err
			return
		}
	}
	if total != nNodes {
		s.fail(fmt.Errorf("%d nodes in chunks, %d announced", total, nNodes))
		return
	}
	t.mergeParts(parts, acls)
	t.nodes.n = int(nNodes)
	s.checkStructure(t, nNodes, parts)
	if s.err == nil {
		s.err = t.linkChildren(parts)
	}
}

// loadChunk decodes the records of one chunk and inserts them into their shards
// (owned by this worker for the duration of the chunk).
func (t *Tree) loadChunk(c snapChunk, acls []*aclEntry, part *loadPart) error {
	d := chunkDecoder{b: c.buf}
	for range c.count {
		p := d.str(maxSnapPath)
		n := newNode(p, d.bytes(), 0)
		n.setGen(t.nodes.gen)
		ai := d.uvarint()
		var pzxid, owner int64
		var cversion, aversion int32
		n.czxid, n.mzxid, pzxid = d.varint(), d.varint(), d.varint()
		n.ctime, n.mtime, owner = d.varint(), d.varint(), d.varint()
		n.version, cversion, aversion = d.int32(), d.int32(), d.int32()
		kb := d.byte()
		nc := d.uvarint()
		if d.err != nil {
			return d.err
		}
		if ai >= uint64(len(acls)) || kb > byte(kindTTL) || p == "" || (p != rootPath && !validPath(p)) {
			return badSnapshot("bad node %q", p)
		}
		si := shardOf(p)
		if si < c.first || si >= c.end {
			return badSnapshot("node %q outside the shards of its chunk", p)
		}
		if p != rootPath {
			w := shardOf(parentOf(p)) * len(part.children) / nShards
			part.children[w] = append(part.children[w], p)
		}
		n.setKind(nodeKind(kb))
		n.acl = acls[ai]
		n.initExt(pzxid, cversion, nc, owner, aversion)
		switch n.kind() {
		case kindEphemeral:
			if t.sessions[n.owner()] == nil {
				return badSnapshot("ephemeral %q of unknown session", p)
			}
			part.ephemerals = append(part.ephemerals, ephemeralRef{p, n.owner()})
		case kindContainer:
			part.containers = append(part.containers, p)
		case kindTTL:
			part.ttls = append(part.ttls, p)
		}
		sh := t.nodes.shards[si]
		if sh == nil {
			sh = &nodeShard{gen: t.nodes.gen}
			t.nodes.shards[si] = sh
		}
		h := slotHash(p)
		if sh.find(p, h) >= 0 {
			return badSnapshot("duplicate node %q", p)
		}
		sh.insert(n, h)
		part.nodes++
		part.hintSum += nc
		part.aclRefs[ai]++
		part.dataSize += int64(len(p)) + int64(n.dataLen)
		part.digest += hashData(p, n.data()) + hashMeta(p, n)
	}
	if len(d.b) != 0 {
		return badSnapshot("%d bytes left at the end of a chunk", len(d.b))
	}
	return nil
}

// mergeParts adds the workers' parts to the tree's indexes and counters.
func (t *Tree) mergeParts(parts []loadPart, acls []*aclEntry) {
	for i := range parts {
		p := &parts[i]
		t.digest += p.digest
		t.dataSize += p.dataSize
		for ai, refs := range p.aclRefs {
			if refs > 0 {
				a := acls[ai]
				if a.refs == 0 {
					t.acls[a.key] = a
				}
				a.refs += refs
			}
		}
		for _, e := range p.ephemerals {
			t.ephemerals++
			t.sessions[e.owner].addEphemeral(e.path)
		}
		for _, c := range p.containers {
			t.containers[c] = struct{}{}
		}
		for _, c := range p.ttls {
			t.ttls[c] = struct{}{}
		}
	}
}

// checkStructure checks that the root is there and that the children hints add up.
func (s *snapReader) checkStructure(t *Tree, nNodes uint64, parts []loadPart) {
	var hintSum uint64
	for i := range parts {
		hintSum += parts[i].hintSum
	}
	if t.nodes.get(rootPath) == nil || hintSum != nNodes-1 {
		s.fail(errors.New("no root or inconsistent child counts"))
	}
}

// linkChildren fills the children sets of a freshly loaded node map, in parallel:
// worker w links the nodes that loadChunk listed in parts[*].children[w], whose
// parents all lie in w's range of shards, so no two workers change one parent.
func (t *Tree) linkChildren(parts []loadPart) error {
	errs := make([]error, len(parts))
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() {
			for i := range parts {
				if errs[w] = t.link(parts[i].children[w]); errs[w] != nil {
					return
				}
				parts[i].children[w] = nil
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// link adds each of paths to its parent's children set.
func (t *Tree) link(paths []string) error {
	for _, p := range paths {
		parent := t.nodes.get(parentOf(p))
		if parent == nil || parent.kind() == kindEphemeral {
			return badSnapshot("node %q has no valid parent", p)
		}
		parent.ensureExt().addChild(childName(p))
	}
	return nil
}

// chunkDecoder decodes node records from a chunk in memory.
type chunkDecoder struct {
	b   []byte
	err error
}

func (d *chunkDecoder) fail(what string) {
	if d.err == nil {
		d.err = badSnapshot("chunk: bad %s", what)
	}
	d.b = nil
}

func (d *chunkDecoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("uvarint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *chunkDecoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *chunkDecoder) int32() int32 {
	v := d.varint()
	if v < -1<<31 || v >= 1<<31 {
		d.fail("int32")
	}
	return int32(v)
}

func (d *chunkDecoder) byte() byte {
	if len(d.b) == 0 {
		d.fail("byte")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *chunkDecoder) str(max uint64) string {
	n := d.uvarint()
	if n > max || n > uint64(len(d.b)) {
		d.fail("string")
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

func (d *chunkDecoder) bytes() []byte {
	n := d.varint()
	switch {
	case d.err != nil || n == -1:
		return nil
	case n < 0 || n > int64(len(d.b)):
		d.fail("buffer")
		return nil
	case n == 0:
		return []byte{}
	}
	v := make([]byte, n)
	copy(v, d.b)
	d.b = d.b[n:]
	return v
}

// readNodesV1 loads the node stream of a version 1 snapshot, serially.
func (s *snapReader) readNodesV1(t *Tree, acls []*aclEntry, nNodes uint64) {
	var hintSum uint64 // the children hints must add up to nNodes-1
	for i := uint64(0); i < nNodes && s.err == nil; i++ {
		p := s.str(maxSnapPath)
		n := newNode(p, s.bytes(), 0)
		ai := s.uvarint()
		var pzxid, owner int64
		var cversion, aversion int32
		n.czxid, n.mzxid, pzxid = s.varint(), s.varint(), s.varint()
		n.ctime, n.mtime, owner = s.varint(), s.varint(), s.varint()
		n.version, cversion, aversion = s.int32(), s.int32(), s.int32()
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
		n.setKind(nodeKind(kb[0]))
		n.acl = acls[ai]
		hintSum += nc
		n.initExt(pzxid, cversion, nc, owner, aversion)
		if n.kind() == kindEphemeral && t.sessions[n.owner()] == nil {
			s.fail(fmt.Errorf("ephemeral %q of unknown session", p))
			break
		}
		t.insertNode(n, nil)
	}
	if s.err == nil {
		s.checkStructure(t, nNodes, []loadPart{{hintSum: hintSum}})
	}
	if s.err == nil {
		var paths []string
		for n := range t.nodes.all() {
			if n.path() != rootPath {
				paths = append(paths, n.path())
			}
		}
		s.err = t.link(paths)
	}
}

package raftnode

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// Snapshot file format (all integers big-endian):
//
//	header  magic "CRLSNAP3" | term u64 | index u64 | confStateLen u32 | confState (raftpb.ConfState)
//	        | metaLen u32 | meta (JSON object, snapMeta: the peer addresses, the index and
//	        time of the last membership change, the members' client addresses)
//	body    the state machine's WriteSnapshot output, streamed
//	trailer bodyLen u64 | crc u32 | magic "CRLSEND1"
//
// crc is CRC-32C (Castagnoli) of every byte before it (header, body and
// bodyLen). A file whose trailer is missing, whose lengths disagree with the
// file size, or whose checksum does not match is rejected as a whole.
// Files with magic "CRLSNAP1" (written before clusters existed) have no
// meta field, and files with magic "CRLSNAP2" have a plain JSON object of
// member id -> peer address in its place; both are still read (the index of
// the last membership change is then unknown: 0).
const (
	snapMagic      = "CRLSNAP3"
	snapMagicV2    = "CRLSNAP2"
	snapMagicV1    = "CRLSNAP1"
	snapEndMagic   = "CRLSEND1"
	snapSuffix     = ".snap"
	snapFixedHdr   = 8 + 8 + 8 + 4
	snapTrailerLen = 8 + 4 + 8
	maxConfState   = 1 << 20
	maxAddrs       = 1 << 20
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// snapFile is a snapshot file in the snap directory.
type snapFile struct {
	name        string
	term, index uint64
}

func snapName(term, index uint64) string {
	return fmt.Sprintf("%016x-%016x%s", term, index, snapSuffix)
}

func parseSnapName(name string) (term, index uint64, ok bool) {
	if len(name) != 16+1+16+len(snapSuffix) || !strings.HasSuffix(name, snapSuffix) {
		return 0, 0, false
	}
	if _, err := fmt.Sscanf(name, "%016x-%016x.snap", &term, &index); err != nil {
		return 0, 0, false
	}
	return term, index, snapName(term, index) == name
}

// listSnaps returns the snapshot files in dir, newest (highest index) first.
func listSnaps(dir string) ([]snapFile, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []snapFile
	for _, de := range des {
		if term, index, ok := parseSnapName(de.Name()); ok && de.Type().IsRegular() {
			out = append(out, snapFile{name: de.Name(), term: term, index: index})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].index != out[j].index {
			return out[i].index > out[j].index
		}
		return out[i].term > out[j].term
	})
	return out, nil
}

// countingWriter counts and checksums what passes through it.
type countingWriter struct {
	w   io.Writer
	h   hash.Hash32
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	c.err = err
	return n, err
}

// writeSnapshotFile streams sm's state into dir/<term>-<index>.snap via a
// temporary file, fsync, rename and directory fsync. On error the temporary
// file is removed (with remove) and no snapshot file is left behind.
func writeSnapshotFile(dir string, term, index uint64, cs raftpb.ConfState, meta snapMeta, sm interface{ WriteSnapshot(io.Writer) error }, remove func(string) error) (name string, size int64, err error) {
	name = snapName(term, index)
	final := filepath.Join(dir, name)
	tmp := final + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fileutil.PrivateFileMode)
	if err != nil {
		return "", 0, err
	}
	defer func() {
		if err != nil {
			f.Close()
			remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	cw := &countingWriter{w: bw, h: crc32.New(crc32c)}

	csb, err := cs.Marshal()
	if err != nil {
		return "", 0, err
	}
	ab, err := json.Marshal(meta)
	if err != nil {
		return "", 0, err
	}
	hdr := make([]byte, snapFixedHdr, snapFixedHdr+len(csb)+4+len(ab))
	copy(hdr, snapMagic)
	binary.BigEndian.PutUint64(hdr[8:], term)
	binary.BigEndian.PutUint64(hdr[16:], index)
	binary.BigEndian.PutUint32(hdr[24:], uint32(len(csb)))
	hdr = append(hdr, csb...)
	hdr = binary.BigEndian.AppendUint32(hdr, uint32(len(ab)))
	hdr = append(hdr, ab...)
	if _, err = cw.Write(hdr); err != nil {
		return "", 0, err
	}
	hdrLen := cw.n
	if err = sm.WriteSnapshot(cw); err != nil {
		return "", 0, fmt.Errorf("state machine WriteSnapshot: %w", err)
	}
	if cw.err != nil {
		return "", 0, cw.err
	}
	var tr [snapTrailerLen]byte
	binary.BigEndian.PutUint64(tr[0:], uint64(cw.n-hdrLen))
	cw.h.Write(tr[:8])
	binary.BigEndian.PutUint32(tr[8:], cw.h.Sum32())
	copy(tr[12:], snapEndMagic)
	if _, err = bw.Write(tr[:]); err != nil {
		return "", 0, err
	}
	if err = bw.Flush(); err != nil {
		return "", 0, err
	}
	if err = fileutil.Fsync(f); err != nil {
		return "", 0, err
	}
	size = cw.n + snapTrailerLen
	if err = f.Close(); err != nil {
		return "", 0, err
	}
	if err = os.Rename(tmp, final); err != nil {
		return "", 0, err
	}
	if err = syncDir(dir); err != nil {
		return "", 0, err
	}
	return name, size, nil
}

// snapMeta is the membership detail a snapshot carries besides raft's
// ConfState.
type snapMeta struct {
	Addrs map[uint64]string `json:"addrs,omitempty"` // peer addresses of the members
	// ConfIndex and ConfTime are the raft index and the proposer's clock
	// (unix ms) of the last applied membership change.
	ConfIndex uint64            `json:"conf_index,omitempty"`
	ConfTime  int64             `json:"conf_time,omitempty"`
	Clients   map[uint64]string `json:"clients,omitempty"` // client addresses, where known
}

// snapInfo is what verifySnapshotFile learns about a valid snapshot file.
type snapInfo struct {
	term, index uint64
	confState   raftpb.ConfState
	addrs       map[uint64]string // nil in version 1 files
	meta        snapMeta          // addrs and, in version 3 files, the rest
	bodyOff     int64
	bodyLen     int64
	crc         uint32
}

// verifySnapshotFile reads the whole file at path, checks its framing and
// checksum, and that the header agrees with the file name.
func verifySnapshotFile(path string) (snapInfo, error) {
	return verifySnapshotAs(path, filepath.Base(path))
}

// verifySnapshotAs is verifySnapshotFile for a file that will be called name
// (a temporary file being received).
func verifySnapshotAs(path, name string) (snapInfo, error) {
	var si snapInfo
	f, err := os.Open(path)
	if err != nil {
		return si, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return si, err
	}
	size := st.Size()
	if size < snapFixedHdr+snapTrailerLen {
		return si, fmt.Errorf("snapshot %s: truncated (%d bytes)", path, size)
	}
	var tr [snapTrailerLen]byte
	if _, err := f.ReadAt(tr[:], size-snapTrailerLen); err != nil {
		return si, fmt.Errorf("snapshot %s: reading trailer: %w", path, err)
	}
	if string(tr[12:]) != snapEndMagic {
		return si, fmt.Errorf("snapshot %s: bad trailer magic at offset %d (torn write?)", path, size-snapTrailerLen+12)
	}
	hdr := make([]byte, snapFixedHdr)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		return si, fmt.Errorf("snapshot %s: reading header: %w", path, err)
	}
	v1 := string(hdr[:8]) == snapMagicV1
	v2 := string(hdr[:8]) == snapMagicV2
	if !v1 && !v2 && string(hdr[:8]) != snapMagic {
		return si, fmt.Errorf("snapshot %s: bad header magic at offset 0", path)
	}
	si.term = binary.BigEndian.Uint64(hdr[8:])
	si.index = binary.BigEndian.Uint64(hdr[16:])
	csLen := int64(binary.BigEndian.Uint32(hdr[24:]))
	si.bodyLen = int64(binary.BigEndian.Uint64(tr[0:]))
	if csLen > maxConfState || snapFixedHdr+csLen+snapTrailerLen > size {
		return si, fmt.Errorf("snapshot %s: confState length %d disagrees with file size %d", path, csLen, size)
	}
	si.bodyOff = snapFixedHdr + csLen
	var addrsLen int64
	if !v1 {
		var lb [4]byte
		if _, err := f.ReadAt(lb[:], si.bodyOff); err != nil {
			return si, fmt.Errorf("snapshot %s: reading header: %w", path, err)
		}
		addrsLen = int64(binary.BigEndian.Uint32(lb[:]))
		if addrsLen > maxAddrs {
			return si, fmt.Errorf("snapshot %s: addresses length %d", path, addrsLen)
		}
		si.bodyOff += 4 + addrsLen
	}
	if si.bodyLen < 0 || si.bodyOff+si.bodyLen+snapTrailerLen != size {
		return si, fmt.Errorf("snapshot %s: lengths (confState %d, body %d) disagree with file size %d", path, csLen, si.bodyLen, size)
	}
	h := crc32.New(crc32c)
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, size-snapTrailerLen+8)); err != nil {
		return si, fmt.Errorf("snapshot %s: %w", path, err)
	}
	si.crc = binary.BigEndian.Uint32(tr[8:])
	if got := h.Sum32(); got != si.crc {
		return si, fmt.Errorf("snapshot %s: checksum mismatch (crc32c %08x, trailer says %08x)", path, got, si.crc)
	}
	csb := make([]byte, csLen)
	if _, err := f.ReadAt(csb, snapFixedHdr); err != nil {
		return si, fmt.Errorf("snapshot %s: %w", path, err)
	}
	if err := si.confState.Unmarshal(csb); err != nil {
		return si, fmt.Errorf("snapshot %s: confState at offset %d: %w", path, snapFixedHdr, err)
	}
	if !v1 {
		ab := make([]byte, addrsLen)
		if _, err := f.ReadAt(ab, snapFixedHdr+csLen+4); err != nil {
			return si, fmt.Errorf("snapshot %s: %w", path, err)
		}
		if v2 {
			if err := json.Unmarshal(ab, &si.addrs); err != nil {
				return si, fmt.Errorf("snapshot %s: addresses at offset %d: %w", path, snapFixedHdr+csLen+4, err)
			}
			si.meta.Addrs = si.addrs
		} else {
			if err := json.Unmarshal(ab, &si.meta); err != nil {
				return si, fmt.Errorf("snapshot %s: membership meta at offset %d: %w", path, snapFixedHdr+csLen+4, err)
			}
			si.addrs = si.meta.Addrs
			if si.addrs == nil {
				si.addrs = map[uint64]string{}
			}
		}
	}
	if term, index, ok := parseSnapName(name); !ok || term != si.term || index != si.index {
		return si, fmt.Errorf("snapshot %s: header says term %d index %d, not what the file name %s says", path, si.term, si.index, name)
	}
	return si, nil
}

// restoreSnapshotFile streams the body of a verified snapshot file into sm.
// The body is checksummed again as it is read, so a file that changed after
// verification is detected (Start then fails: sm holds a partial state).
func restoreSnapshotFile(path string, si snapInfo, sm StateMachine) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := crc32.New(crc32c)
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, si.bodyOff)); err != nil {
		return err
	}
	body := io.TeeReader(bufio.NewReaderSize(io.NewSectionReader(f, si.bodyOff, si.bodyLen), 256<<10), h)
	if err := sm.RestoreSnapshot(si.index, body); err != nil {
		return fmt.Errorf("state machine RestoreSnapshot from %s: %w", path, err)
	}
	// Whatever the state machine did not read still counts for the checksum.
	if _, err := io.Copy(io.Discard, body); err != nil {
		return err
	}
	var lenb [8]byte
	binary.BigEndian.PutUint64(lenb[:], uint64(si.bodyLen))
	h.Write(lenb[:])
	if h.Sum32() != si.crc {
		return fmt.Errorf("%w: snapshot %s changed while being restored (checksum mismatch)", ErrCorrupt, path)
	}
	return nil
}

// loadSnapshot picks the newest snapshot file that is recorded in the WAL
// (known: index -> term) and intact. Intact files that the WAL does not know,
// newer than the chosen one, were written just before a crash and are removed;
// damaged files are renamed to *.broken and skipped. It returns ok=false when no
// usable snapshot exists.
func (n *Node) loadSnapshot(dir string, known map[uint64]uint64) (sf snapFile, si snapInfo, ok bool, err error) {
	snaps, err := listSnaps(dir)
	if err != nil {
		return sf, si, false, err
	}
	lg := n.lg
	for _, s := range snaps {
		path := filepath.Join(dir, s.name)
		if term, rec := known[s.index]; !rec || term != s.term {
			if !ok {
				lg.Warn("removing snapshot file not recorded in the WAL (crash before it was recorded)", "file", path)
				if err := n.bin.Remove(path); err != nil {
					return sf, si, false, err
				}
			}
			continue
		}
		if ok {
			continue
		}
		info, verr := verifySnapshotFile(path)
		if verr != nil {
			lg.Error("skipping damaged snapshot file; falling back to an older one", "file", path, "err", verr)
			if err := os.Rename(path, path+".broken"); err != nil {
				return sf, si, false, err
			}
			continue
		}
		sf, si, ok = s, info, true
	}
	if err := syncDir(dir); err != nil {
		return sf, si, false, err
	}
	return sf, si, ok, nil
}

// removeTmpFiles deletes leftovers of interrupted snapshot writes and of
// snapshots received but never installed, each with remove.
func removeTmpFiles(dir string, remove func(string) error) error {
	des, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, de := range des {
		if strings.HasSuffix(de.Name(), ".tmp") || strings.HasSuffix(de.Name(), recvSuffix) {
			if err := remove(filepath.Join(dir, de.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// syncDir fsyncs a directory so renames and removals in it are durable.
func syncDir(dir string) error {
	d, err := fileutil.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return fileutil.Fsync(d)
}

// maybeSnapshot starts a snapshot once SnapshotCount entries have been applied
// since the last one, unless one is still being written: it is written,
// recorded in the WAL, and old files purged in the background (snapshot_bg.go),
// so the loop only pays for the state machine's capture. It returns false
// after a fatal WAL error.
func (n *Node) maybeSnapshot() bool {
	n.maybeCompactAlone()
	if n.bg.done != nil {
		return true
	}
	if n.applied.Load()-n.snapAttempt < n.cfg.SnapshotCount &&
		n.appliedBytes-n.snapAttemptBytes < max(snapshotBytes, n.snapSize) {
		return true
	}
	n.startSnapshot()
	return true
}

// maybeCompactAlone drops applied entries from raft's in-memory log while this
// member is the whole cluster (one voter, no learners): no follower can need
// them, and between snapshots they would otherwise pile up (SnapshotCount
// entries, all held in memory). It compacts in steps of catchUpEntries, once a
// first snapshot exists (raft needs one to send in place of compacted entries).
// Should members be added later, they get a snapshot: refreshSnapshots replaces
// one that the log no longer continues.
func (n *Node) maybeCompactAlone() {
	cs := n.confState
	if n.snapIndex == 0 || len(cs.Voters) != 1 || cs.Voters[0] != n.cfg.ID || len(cs.Learners) > 0 ||
		len(cs.VotersOutgoing) > 0 || len(cs.LearnersNext) > 0 {
		return
	}
	to := n.applied.Load()
	if n.bg.done != nil {
		to = min(to, n.snapAttempt) // the snapshot in flight records its index's term from the log
	}
	first, err := n.ms.FirstIndex()
	if err != nil || to < first+catchUpEntries {
		return // checked first against applied: an atomic load, not raft's lock, on every Ready
	}
	// raft's applied index is at most applied (early.go applies ahead of raft).
	if to = min(to, n.rn.Applied()); to < first+catchUpEntries {
		return
	}
	n.compactLog(to)
}

// compactLog drops the entries up to to from raft's in-memory log, but none
// raft may still read: those after the index raft counts as applied, which
// lags applied while early.go applies ahead of raft.
func (n *Node) compactLog(to uint64) {
	to = min(to, n.rn.Applied())
	if to == 0 {
		return
	}
	if err := n.ms.Compact(to); err != nil && !errors.Is(err, raft.ErrCompacted) {
		n.lg.Error("raft storage Compact failed", "index", to, "err", err)
	}
}

// snapshotNow writes a snapshot of the applied state, records it in the
// WAL, compacts raft's in-memory log and purges old files, and waits for all
// that (after the one in flight, if any). It returns false after a fatal WAL
// error.
func (n *Node) snapshotNow() bool {
	if !n.waitSnapshot() {
		return false
	}
	n.startSnapshot()
	return n.waitSnapshot()
}

// purge keeps the newest SnapshotRetain snapshot files and deletes older ones,
// then deletes the WAL segments that only hold entries before the oldest
// snapshot kept (so start-up can fall back to any kept snapshot). The files go
// to the trash bin, which frees their blocks gradually (see package trash).
func (n *Node) purge() error {
	snaps, err := listSnaps(n.snapDir)
	if err != nil {
		return err
	}
	if len(snaps) == 0 {
		return nil
	}
	keep := min(n.cfg.SnapshotRetain, len(snaps))
	oldest := snaps[keep-1].index
	for _, s := range snaps[keep:] {
		p := filepath.Join(n.snapDir, s.name)
		if err := n.bin.Remove(p); err != nil {
			return err
		}
		n.lg.Info("purged snapshot", "file", p) // durably: Remove fsyncs snapDir
	}
	if err := n.w.ReleaseLockTo(oldest); err != nil {
		return err
	}
	return purgeWAL(n.lg, n.walDir, oldest, n.bin)
}

// refreshSnapshots rewrites MsgSnap messages whose snapshot predates the
// recipient's membership (a member just added needs a snapshot, but the
// newest one was taken before the conf change that added it, and it would
// reject it): a snapshot of the applied state, which includes that change,
// is taken now and sent instead. raft accepts a newer snapshot than the one
// it asked for. It returns false after a fatal WAL error.
func (n *Node) refreshSnapshots(msgs []raftpb.Message) bool {
	for i := range msgs {
		m := &msgs[i]
		if m.Type != raftpb.MsgSnap || m.Snapshot == nil ||
			inConfState(m.Snapshot.Metadata.ConfState, m.To) && !n.logSkips(m.Snapshot.Metadata.Index) {
			continue
		}
		if n.snapIndex < n.applied.Load() {
			n.lg.Info("taking a snapshot for a member the newest snapshot predates", "peer", fmt.Sprintf("%x", m.To),
				"snapshot", n.snapIndex, "applied", n.applied.Load())
			if !n.snapshotNow() {
				return false
			}
		}
		s, err := n.ms.Snapshot()
		if err != nil || !inConfState(s.Metadata.ConfState, m.To) || n.logSkips(s.Metadata.Index) {
			n.lg.Warn("no snapshot includes the member yet; it will be retried", "peer", fmt.Sprintf("%x", m.To), "err", err)
			continue
		}
		m.Snapshot = &s
	}
	return true
}

// logSkips reports whether raft's in-memory log does not continue right after
// a snapshot at index (maybeCompactAlone dropped entries past it): a member
// that installed it could not catch up from the log.
func (n *Node) logSkips(index uint64) bool {
	first, err := n.ms.FirstIndex()
	return err == nil && index+1 < first
}

func inConfState(cs raftpb.ConfState, id uint64) bool {
	for _, ids := range [][]uint64{cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext} {
		if slices.Contains(ids, id) {
			return true
		}
	}
	return false
}

package raftnode

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"

	"github.com/corral-io/corral/internal/trash"
	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// WAL metadata, recorded at the head of every WAL segment. Version 1 held
// only the member id; version 2 adds the cluster id and the membership the
// data dir was bootstrapped with (for diagnostics and identity checks; the
// current membership lives in the raft log and snapshots).
const (
	walMetaFormatV1 = "corral-raftnode/1 id=%016x"
	walMetaPrefixV2 = "corral-raftnode/2 "
)

// walMeta is the identity stored in the WAL.
type walMeta struct {
	ID        uint64            `json:"id"`
	ClusterID string            `json:"cluster,omitempty"`
	Peers     map[uint64]string `json:"peers,omitempty"`    // initial members and addresses
	Learners  []uint64          `json:"learners,omitempty"` // initial learners
	Join      bool              `json:"join,omitempty"`     // created to join a running cluster
	v1        bool
}

func (m walMeta) encode() []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic(err) // plain data
	}
	return append([]byte(walMetaPrefixV2), b...)
}

func parseWALMetadata(b []byte) (walMeta, error) {
	var m walMeta
	if rest, ok := bytes.CutPrefix(b, []byte(walMetaPrefixV2)); ok {
		if err := json.Unmarshal(rest, &m); err != nil {
			return m, fmt.Errorf("unrecognised WAL metadata %q: %v", b, err)
		}
		return m, nil
	}
	if _, err := fmt.Sscanf(string(b), walMetaFormatV1, &m.ID); err != nil {
		return m, fmt.Errorf("unrecognised WAL metadata %q", b)
	}
	m.v1 = true
	return m, nil
}

// walSegmentBytes is the size of a WAL segment. Start-up decodes the whole
// segment that holds the snapshot's index, entries before it included, so
// segments smaller than etcd's 64 MB default keep that cost down (16 MB of
// records decode in about 40 ms).
const walSegmentBytes = 16 << 20

func init() { wal.SegmentSizeBytes = walSegmentBytes }

// walState is what replaying the WAL yields.
type walState struct {
	w    *wal.WAL
	meta walMeta
	hs   raftpb.HardState
	ents []raftpb.Entry
}

// openWAL opens the WAL in dir for appending, positioned at snap, and reads
// all records after it. A torn tail of the last segment (io.ErrUnexpectedEOF)
// is repaired once with wal.Repair; any other error is returned wrapped in
// ErrCorrupt, naming the directory and, through the WAL's own message, the
// segment file and offset.
func openWAL(lg *slog.Logger, zl *zap.Logger, dir string, snap walpb.Snapshot) (walState, error) {
	for attempt := 0; ; attempt++ {
		w, err := wal.Open(zl, dir, snap)
		if err != nil {
			return walState{}, fmt.Errorf("%w: opening WAL in %s at snapshot index %d: %v", ErrCorrupt, dir, snap.Index, err)
		}
		meta, hs, ents, err := w.ReadAll()
		if err == nil {
			m, perr := parseWALMetadata(meta)
			if perr != nil {
				w.Close()
				return walState{}, fmt.Errorf("%w: WAL in %s: %v", ErrCorrupt, dir, perr)
			}
			return walState{w: w, meta: m, hs: hs, ents: ents}, nil
		}
		w.Close()
		if !errors.Is(err, io.ErrUnexpectedEOF) || attempt > 0 {
			return walState{}, fmt.Errorf("%w: reading WAL in %s: %v", ErrCorrupt, dir, err)
		}
		lg.Warn("WAL ends in a torn record (write interrupted before fsync); truncating the last segment after its last complete record",
			"dir", dir, "err", err)
		if !wal.Repair(zl, dir) {
			return walState{}, fmt.Errorf("%w: WAL in %s: torn tail could not be repaired: %v", ErrCorrupt, dir, err)
		}
		logRepair(lg, dir)
	}
}

// walSegment is a WAL segment file name and its parsed fields.
type walSegment struct {
	name       string
	seq, index uint64
}

func listWALSegments(dir string) ([]walSegment, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []walSegment
	for _, de := range des {
		var s walSegment
		if _, err := fmt.Sscanf(de.Name(), "%016x-%016x.wal", &s.seq, &s.index); err != nil ||
			de.Name() != fmt.Sprintf("%016x-%016x.wal", s.seq, s.index) {
			continue
		}
		s.name = de.Name()
		segs = append(segs, s)
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].seq < segs[j].seq })
	return segs, nil
}

// purgeWAL removes the WAL segments that hold nothing at or after index:
// every segment before the last one whose first index is <= index (the
// segment wal.Open(index) starts reading from), into bin (which makes each
// removal durable). The caller must have released the WAL's locks on them
// (wal.ReleaseLockTo).
func purgeWAL(lg *slog.Logger, dir string, index uint64, bin *trash.Bin) error {
	segs, err := listWALSegments(dir)
	if err != nil {
		return err
	}
	keep := -1
	for i := len(segs) - 1; i >= 0; i-- {
		if segs[i].index <= index {
			keep = i
			break
		}
	}
	if keep <= 0 {
		return nil
	}
	for _, s := range segs[:keep] {
		p := filepath.Join(dir, s.name)
		if err := bin.Remove(p); err != nil {
			return err
		}
		lg.Info("purged WAL segment", "file", p)
	}
	return nil
}

// logRepair reports what wal.Repair cut from the last segment: the new end
// and how far non-zero bytes reached in the original (kept as .broken). A
// torn write leaves only the unsynced tail of the last write; a long
// discarded span deserves an operator's look.
func logRepair(lg *slog.Logger, dir string) {
	segs, err := listWALSegments(dir)
	if err != nil || len(segs) == 0 {
		lg.Warn("WAL repaired", "dir", dir)
		return
	}
	p := filepath.Join(dir, segs[len(segs)-1].name)
	st, err := os.Stat(p)
	if err != nil {
		lg.Warn("WAL repaired", "file", p)
		return
	}
	end := int64(-1)
	if b, err := os.ReadFile(p + ".broken"); err == nil {
		for end = int64(len(b)) - 1; end >= 0 && b[end] == 0; end-- {
		}
	}
	lg.Warn("WAL repaired: last segment truncated after its last complete record; original kept as .broken",
		"file", p, "truncatedAt", st.Size(), "discardedNonZeroBytesUpTo", end+1)
}

package raftnode

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/fileutil"
	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3/raftpb"
)

// recvSuffix marks a snapshot file received from the leader, verified, but
// not yet installed: <term>-<index>.snap.recv. Installing renames it to its
// final name; start-up deletes leftovers. Keeping it out of the *.snap
// namespace means retention and WAL purging only ever count snapshots the
// WAL records.
const recvSuffix = ".recv"

// receiveSnapshot stores a snapshot streamed from the leader (transport
// goroutine): it writes r to a temporary file, fsyncs it, verifies the
// checksum and that the header matches m's metadata, and renames it to
// <name>.recv. m.Snapshot.Data is set to the file's final name. The raft
// loop installs it when raft hands the snapshot back in a Ready.
func (n *Node) receiveSnapshot(m *raftpb.Message, r io.Reader, size int64) (err error) {
	md := m.Snapshot.Metadata
	name := snapName(md.Term, md.Index)
	m.Snapshot.Data = []byte(name)
	if md.Index <= n.applied.Load() {
		// raft will ignore it; do not keep the file.
		_, err := io.Copy(io.Discard, r)
		return err
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(n.snapDir, name+"."+hex.EncodeToString(rnd[:])+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileutil.PrivateFileMode)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			n.bin.Remove(tmp) // a partial snapshot can be large (see package trash)
		}
	}()
	bw := bufio.NewWriterSize(f, 256<<10)
	got, err := io.Copy(bw, r)
	if err != nil {
		return err
	}
	if got != size {
		return fmt.Errorf("snapshot stream ended after %d of %d bytes", got, size)
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = fileutil.Fsync(f); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	si, err := verifySnapshotAs(tmp, name)
	if err != nil {
		return fmt.Errorf("received snapshot fails verification: %w", err)
	}
	if !confStateEqual(si.confState, md.ConfState) {
		return fmt.Errorf("received snapshot %s: its membership %v differs from the message's %v", name, si.confState, md.ConfState)
	}
	if err = os.Rename(tmp, filepath.Join(n.snapDir, name+recvSuffix)); err != nil {
		return err
	}
	return syncDir(n.snapDir)
}

func confStateEqual(a, b raftpb.ConfState) bool {
	ab, err1 := a.Marshal()
	bb, err2 := b.Marshal()
	return err1 == nil && err2 == nil && bytes.Equal(ab, bb)
}

// recordSnapshot makes a snapshot handed out by raft durable before the
// HardState that refers to it: the received file gets its final name, is
// verified, and is recorded in the WAL. ok is false after a fatal error.
func (n *Node) recordSnapshot(s raftpb.Snapshot) (si snapInfo, ok bool) {
	md := s.Metadata
	name := snapName(md.Term, md.Index)
	final := filepath.Join(n.snapDir, name)
	if err := os.Rename(final+recvSuffix, final); err == nil {
		if err := syncDir(n.snapDir); err != nil {
			return si, n.fatal("syncing the snap dir", err)
		}
	} else if !os.IsNotExist(err) {
		return si, n.fatal("installing received snapshot "+name, err)
	}
	si, err := verifySnapshotFile(final)
	if err != nil {
		// The transport verified it before raft saw it; it cannot be
		// missing or damaged now unless the disk is failing.
		return si, n.fatal("installing received snapshot", err)
	}
	cs := md.ConfState
	if err := n.w.SaveSnapshot(walpb.Snapshot{Index: md.Index, Term: md.Term, ConfState: &cs}); err != nil {
		return si, n.fatal("WAL snapshot record failed", err)
	}
	return si, true
}

// installSnapshot replaces the state machine's state with a snapshot
// received from the leader, once it and the HardState are durable: raft's
// storage, the state machine, membership and addresses. It returns false
// after a fatal error.
func (n *Node) installSnapshot(s raftpb.Snapshot, si snapInfo) bool {
	t0 := time.Now()
	md := s.Metadata
	if err := n.ms.ApplySnapshot(s); err != nil {
		return n.fatal("raft storage ApplySnapshot failed", err)
	}
	path := filepath.Join(n.snapDir, snapName(md.Term, md.Index))
	if err := restoreSnapshotFile(path, si, n.sm); err != nil {
		// The state machine holds a partial state: nothing may be served.
		return n.fatal("restoring the state machine from a received snapshot", err)
	}
	n.confState = md.ConfState
	n.snapIndex, n.snapAttempt, n.snapAttemptBytes = md.Index, md.Index, n.appliedBytes
	n.appliedTerm = md.Term
	for id, addr := range si.addrs {
		n.book[id] = addr
	}
	n.restoreSnapMeta(si.meta)
	m := n.publishMembers()
	for id, addr := range m.Addrs {
		n.tr.SetPeer(id, addr)
	}
	for id := range n.book {
		if !m.IsMember(id) && id != n.cfg.ID && n.cfg.Peers[id] == "" {
			delete(n.book, id)
			n.tr.RemovePeer(id)
		}
	}
	n.applied.Store(md.Index)
	n.notifyApplied()
	n.lg.Info("installed snapshot from the leader", "index", md.Index, "term", md.Term, "bytes", si.bodyLen,
		"voters", m.Voters, "learners", m.Learners, "took", time.Since(t0).Round(time.Millisecond))
	if err := n.purge(); err != nil {
		n.lg.Error("purging old snapshots and WAL segments failed", "err", err)
	}
	return true
}

package raftnode

import (
	"bytes"
	"errors"
	"io"
	"math"
	"time"

	"go.etcd.io/etcd/server/v3/storage/wal/walpb"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// SnapshotCapturer is an optional extension of StateMachine. A state machine that
// can capture its state cheaply (copy-on-write) lets the Node write snapshots on a
// background goroutine while entries go on being applied, so a snapshot costs the
// apply path only the capture.
//
// Without it the Node serialises WriteSnapshot into memory on the loop goroutine
// and only the file write, fsync and WAL record happen in the background.
type SnapshotCapturer interface {
	// CaptureSnapshot is called on the loop goroutine between Apply calls and must
	// be quick. It captures the state as of the last applied index; the returned
	// function writes exactly that state to w in WriteSnapshot's format and then
	// releases whatever the capture holds. The Node calls it exactly once, on
	// another goroutine, concurrently with later Apply and RestoreSnapshot calls;
	// when w fails it should return promptly.
	CaptureSnapshot() (write func(w io.Writer) error)
}

// bgSnapshot is the snapshot being written in the background, if any (at most one).
// Owned by the loop goroutine.
type bgSnapshot struct {
	done  chan snapResult // receives the result; nil when none is in flight
	abort chan struct{}   // closed to make the writer give up (shutdown)
}

// snapResult is how a background snapshot ended.
type snapResult struct {
	index    uint64
	recorded bool   // the file is written and recorded in the WAL
	size     uint64 // of the file, when recorded
	fatal    error  // the WAL record failed: memory may be ahead of disk
}

var errSnapshotAborted = errors.New("raftnode: snapshot aborted: node stopping")

// funcSnapshotter adapts a write function to writeSnapshotFile.
type funcSnapshotter func(io.Writer) error

func (f funcSnapshotter) WriteSnapshot(w io.Writer) error { return f(w) }

// abortWriter fails once abort is closed, so a writer stops early on shutdown.
type abortWriter struct {
	w     io.Writer
	abort <-chan struct{}
}

func (a abortWriter) Write(p []byte) (int, error) {
	select {
	case <-a.abort:
		return 0, errSnapshotAborted
	default:
	}
	return a.w.Write(p)
}

// failWriter is handed to a capture that must be released without being written.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errSnapshotAborted }

// startSnapshot captures the state machine at the applied index and starts writing
// it on a background goroutine, which then records it in the WAL, compacts raft's
// in-memory log and purges old files; the loop learns the outcome through
// bgSnapshot.done (snapshotDone). The caller checks that none is in flight.
//
// Crash safety is that of the synchronous path: the file goes to a temporary name,
// is fsynced and renamed, the directory fsynced, and only then is it recorded in
// the WAL; start-up only uses snapshot files the WAL records.
func (n *Node) startSnapshot() {
	applied := n.applied.Load()
	n.snapAttempt = applied
	n.snapAttemptBytes = n.appliedBytes
	term, cs, meta := n.appliedTerm, n.confState, n.snapMeta()
	t0 := time.Now()
	var write func(io.Writer) error
	if c, ok := n.sm.(SnapshotCapturer); ok {
		write = c.CaptureSnapshot()
	} else {
		var buf bytes.Buffer
		err := n.sm.WriteSnapshot(&buf)
		write = func(w io.Writer) error {
			if err != nil {
				return err
			}
			_, err := buf.WriteTo(w)
			return err
		}
	}
	captured := time.Since(t0)
	if n.bg.abort == nil {
		n.bg.abort = make(chan struct{})
	}
	done := make(chan snapResult, 1)
	n.bg.done = done
	abort := n.bg.abort
	saved := n.app.sent // the appends that carry the HardState committing applied
	go func() {
		done <- n.writeSnapshot(applied, term, cs, meta, write, abort, t0, captured, saved)
	}()
}

// writeSnapshot is the background half of startSnapshot.
func (n *Node) writeSnapshot(index, term uint64, cs raftpb.ConfState, meta snapMeta, write func(io.Writer) error,
	abort <-chan struct{}, t0 time.Time, captured time.Duration, saved uint64) snapResult {
	called := false
	w := funcSnapshotter(func(w io.Writer) error {
		called = true
		return write(abortWriter{w: w, abort: abort})
	})
	name, size, err := writeSnapshotFile(n.snapDir, term, index, cs, meta, w, n.bin.Remove)
	if !called {
		write(failWriter{}) // release the capture
	}
	if err != nil {
		if !errors.Is(err, errSnapshotAborted) {
			// Nothing is lost: the WAL still holds every entry. Retry later.
			n.lg.Error("writing snapshot failed; retrying after SnapshotCount more entries", "index", index, "err", err)
		}
		return snapResult{index: index}
	}
	written := time.Since(t0)
	// Recorded only behind the HardState that commits index (see waitWritten).
	if !n.app.waitWritten(saved) {
		return snapResult{index: index}
	}
	if err := n.w.SaveSnapshot(walpb.Snapshot{Index: index, Term: term, ConfState: &cs}); err != nil {
		return snapResult{index: index, fatal: err}
	}
	if _, err := n.ms.CreateSnapshot(index, &cs, []byte(name)); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
		n.lg.Error("raft storage CreateSnapshot failed", "index", index, "err", err)
	}
	n.compactLog(n.catchUpStart(index))
	n.lg.Info("snapshot saved", "file", name, "index", index, "term", term, "bytes", size,
		"capture", captured, "written", written, "took", time.Since(t0))
	if err := n.purge(); err != nil {
		n.lg.Error("purging old snapshots and WAL segments failed", "err", err)
	}
	return snapResult{index: index, recorded: true, size: uint64(size)}
}

// catchUpStart returns the index to compact raft's in-memory log to behind a
// snapshot at index: it keeps at most catchUpEntries entries and catchUpBytes of
// entry data after it (0: nothing to compact).
func (n *Node) catchUpStart(index uint64) uint64 {
	to := uint64(0)
	if index > catchUpEntries {
		to = index - catchUpEntries
	}
	first, err := n.ms.FirstIndex()
	if err != nil || index < first {
		return to
	}
	lo := max(first, to+1)
	ents, err := n.ms.Entries(lo, index+1, math.MaxUint64)
	if err != nil {
		return to
	}
	var kept uint64
	for i := len(ents) - 1; i >= 0; i-- {
		kept += uint64(len(ents[i].Data))
		if kept > catchUpBytes {
			return ents[i].Index
		}
	}
	return to
}

// snapshotDone takes in the outcome of a background snapshot (loop goroutine). It
// returns false after a fatal WAL error.
func (n *Node) snapshotDone(r snapResult) bool {
	n.bg.done = nil
	if r.fatal != nil {
		return n.fatal("WAL snapshot record failed", r.fatal)
	}
	n.noteSnapshot(r)
	// Entries applied while it was written may already call for the next one.
	return n.maybeSnapshot()
}

// waitSnapshot waits for the background snapshot in flight, if any (loop
// goroutine). It returns false after a fatal WAL error.
func (n *Node) waitSnapshot() bool {
	if n.bg.done == nil {
		return true
	}
	return n.snapshotDone(<-n.bg.done)
}

// noteSnapshot records a background snapshot that was written and recorded as the
// newest, if it is.
func (n *Node) noteSnapshot(r snapResult) {
	if r.recorded && r.index > n.snapIndex {
		n.snapIndex, n.snapSize = r.index, r.size
	}
}

// finishSnapshot waits for the background snapshot in flight, if any, before the
// WAL is closed (shutdown): a graceful stop keeps the work done, so the next start
// replays less. After a fatal storage error the writer is told to give up instead;
// a file it had completed stays unrecorded, and start-up removes it.
func (n *Node) finishSnapshot() {
	if n.failErr.Load() != nil && n.bg.abort != nil {
		close(n.bg.abort)
		n.bg.abort = nil
	}
	if n.bg.done != nil {
		r := <-n.bg.done
		n.bg.done = nil
		n.noteSnapshot(r)
	}
}

// stopSnapshotMin is how many entries applied since the newest snapshot make a
// graceful stop write one more (so the next start restores it instead of
// replaying them). A variable for tests.
var stopSnapshotMin uint64 = 10000

// snapshotOnStop writes a snapshot of the applied state before the WAL is
// closed, when Stop (not a crash or a fatal error) ends the loop and enough
// entries were applied since the newest one. Replaying entries costs the next
// start several times what restoring their effect from a snapshot does.
func (n *Node) snapshotOnStop() {
	if !n.graceful.Load() || n.failErr.Load() != nil || n.bg.done != nil ||
		n.applied.Load() < n.snapIndex+stopSnapshotMin {
		return
	}
	n.startSnapshot()
	r := <-n.bg.done
	n.bg.done = nil
	if r.fatal != nil {
		// The loop is over: nothing depends on this record any more, and
		// start-up ignores a snapshot file the WAL does not record.
		n.lg.Error("recording the snapshot taken on stop failed", "index", r.index, "err", r.fatal)
		return
	}
	n.noteSnapshot(r)
}

// Package raftnode runs etcd-raft (go.etcd.io/raft/v3) around a StateMachine,
// with etcd's write-ahead log (go.etcd.io/etcd/server/v3/storage/wal) for
// durability and checksummed snapshot files for log compaction.
//
// Even a single server is a one-member raft group, so a cluster is the same
// code with more members; messages to other members go through a Transport
// (NopTransport for one member).
//
// # The Ready loop
//
// One goroutine (Node.run) owns raft's Ready channel, the WAL and the state
// machine. For every Ready, in this order:
//
//  1. Persist: the Ready's HardState and Entries are written to the WAL with
//     one Save, i.e. one write and one fsync (fdatasync) for the whole batch.
//     Proposals that arrived while the previous Ready was being handled are
//     in this batch, so concurrent proposers share an fsync (group commit).
//     If Save fails the process exits (see below): nothing later in the list
//     may happen with memory ahead of disk.
//  2. Append the entries to raft's MemoryStorage (raft's view of stable storage).
//  3. Send the Ready's messages through the Transport; they may promise
//     entries or votes that are durable only now.
//  4. Deliver ReadStates to waiting ReadIndex callers.
//  5. Apply CommittedEntries to the StateMachine in index order (conf changes
//     are also passed to raft's ApplyConfChange; entries without data apply as
//     nil). Then maybe take a snapshot.
//  6. Advance.
//
// Any WAL write or fsync error, including when recording a snapshot, is
// logged at Error level and ends the process through the package variable
// exit (os.Exit(1)); after an fsync error the page cache can no longer be
// trusted, and continuing would acknowledge writes that may be gone.
//
// # On-disk layout
//
//	<DataDir>/LOCK                          flock held while a Node runs
//	<DataDir>/wal/<seq>-<index>.wal         etcd WAL segments (64 MB preallocated, %016x names);
//	                                        records: CRC chain, metadata "corral-raftnode/1 id=<id>",
//	                                        raft entries, HardState, snapshot markers
//	<DataDir>/wal/<n>.tmp                   the WAL's preallocated next segment
//	<DataDir>/wal/*.wal.broken              copy of a segment before its torn tail was repaired
//	<DataDir>/snap/<term>-<index>.snap      snapshots, %016x each (see snapshot.go for the format:
//	                                        header with term, index and ConfState, the state machine's
//	                                        stream, trailer with length and CRC-32C)
//	<DataDir>/snap/*.snap.broken            snapshot files that failed verification at start-up
//
// # Snapshots and compaction
//
// Every Config.SnapshotCount applied entries the state machine streams its
// state into snap/<term>-<index>.snap.tmp, which is fsynced, renamed and its
// directory fsynced; only then is the snapshot recorded in the WAL
// (wal.SaveSnapshot). raft's MemoryStorage is then compacted, keeping 5000
// entries behind the snapshot for lagging followers, and the newest
// Config.SnapshotRetain snapshot files are kept: older ones, and WAL segments
// holding only entries before the oldest kept snapshot, are deleted.
//
// # Start-up
//
// Start takes the newest snapshot file that is both recorded in the WAL and
// intact (a damaged one is renamed *.broken and an older one used; one the
// WAL does not record, from a crash between writing and recording it, is
// removed), opens the WAL at that snapshot and reads the rest of it. A torn
// last record (io.ErrUnexpectedEOF: a write that was never fsynced) is
// truncated away with wal.Repair and logged; any other damage (a CRC mismatch,
// missing committed entries) makes Start fail with ErrCorrupt and a message
// naming the file. The snapshot is streamed into the state machine, raft
// re-delivers the committed WAL tail, and Start returns once that has been
// applied and, for a single member, once it is leader (it campaigns at once).
package raftnode

// Package raftnode runs etcd-raft (go.etcd.io/raft/v3) around a StateMachine,
// with etcd's write-ahead log (go.etcd.io/etcd/server/v3/storage/wal) for
// durability and checksummed snapshot files for log compaction.
//
// Even a single server is a one-member raft group, so a cluster is the same
// code with more members; messages to other members go through the peer
// transport (package transport; NopTransport for a single member without
// Config.PeerAddr).
//
// # Cluster
//
// Config.Peers bootstraps a new cluster: the first entries of every
// member's log are one conf change per member (voters, then
// Config.Learners), each carrying the member's peer address in its Context,
// committed at term 1; members bootstrapped with the same Peers write the
// same entries. From then on membership lives only in the raft log and in
// snapshots (the ConfState, plus the members' addresses in the snapshot
// header): a restarted member rebuilds its peer list from them and uses
// Config.Peers only for addresses the log does not give. Membership changes
// (AddVoter, AddLearner, Promote, Remove, ProposeConfChange) carry the
// added members' addresses in the conf change Context. A member started
// with Config.Join and an empty data dir does not bootstrap: it waits for
// the leader to send it the log or a snapshot once it has been added.
//
// The WAL metadata records the member id, the cluster id and the initial
// peers; Start refuses a data dir of another member or cluster.
//
// raft runs with PreVote and CheckQuorum. Followers and learners forward
// proposals and ReadIndex requests to the leader. Propose and ReadIndex
// fail fast with ErrNotLeader when no leader is known, and when the leader
// changes while they wait (raft drops such requests silently).
//
// # Failover
//
// A frozen or partitioned leader is replaced by raft after the election
// timeout (10 ticks of 100 ms by default, randomized up to twice that). A
// leader whose process died is noticed at once: its streams end (EOF,
// reset, refused), the transport calls PeerLost, and each follower forgets
// the leader (raft's ForgetLeader, so it grants pre-votes immediately) and
// campaigns after a random 50-150 ms, unless a new leader appeared
// meanwhile. Only the loss of the current leader does this. A graceful Stop
// of a leader first transfers leadership to the most up-to-date voter.
//
// # The Ready loop
//
// Raft itself is etcd-raft's RawNode behind a mutex (lockedRaft): the
// goroutine that receives a message or makes a proposal steps raft itself,
// and wakes the loop, without a hand-off between goroutines for each of them.
// Raft runs with AsyncStorageWrites: a Ready asks for storage work by
// messages, and the replies to those messages, not Advance, tell raft the
// work is done. Two goroutines do it:
//
//   - The Ready loop (Node.run) takes the Readys and owns the state machine.
//     For each Ready, in this order:
//
//     1. Messages to other members are sent at once. Raft keeps back those
//     that promise something not yet durable (acknowledgements of entries,
//     votes) as responses of the append below; a leader's appends go now,
//     so the followers write while it writes (Raft thesis 10.2.1): raft
//     counts the leader's own entries toward commit only once its append
//     is acknowledged. A MsgSnap for a member that the newest snapshot
//     predates (just added), or whose snapshot the in-memory log no longer
//     continues (see maybeCompactAlone), gets a fresh snapshot of the
//     applied state instead, which includes that member.
//     2. The append (new entries, HardState) goes to the appender, in Ready
//     order. An append carrying a snapshot from the leader (the transport
//     has already stored and verified its file as snap/<name>.recv) is done
//     here instead, once the appender has written everything before it: the
//     snapshot is renamed into place and recorded in the WAL before the
//     HardState that points past it, restored into the state machine, and
//     its membership and addresses adopted.
//     3. ReadStates go to the waiting ReadIndex callers.
//     4. The committed entries raft hands out (only those already durable on
//     this member) are applied in index order (conf changes are also passed
//     to raft's ApplyConfChange; entries without data apply as nil), then
//     raft is told they are applied. Then the committed normal entries still
//     being written here are applied too, from the appends handed to the
//     appender (early.go: a committed entry is durable on a quorum; raft
//     hands them out again later and they are skipped). Then maybe a
//     snapshot is started.
//
//   - The appender (appender.run, raft's LocalAppendThread) writes the appends
//     in order, all those waiting with one WAL Save: one write and one fsync
//     (fdatasync) for the batch (group commit). Then it appends the entries
//     to raft's MemoryStorage (raft's view of stable storage) and only then
//     delivers the responses: acknowledgements and votes to other members,
//     raft's own MsgStorageAppendResp (the entries are stable) stepped.
//
// So nothing waits for the disk but what must: a commit is not held back
// behind the fsync of a later batch, as it was with the synchronous
// Ready/Advance interface, where every Ready waited for its own fsync before
// the next could carry the new commit index to the followers and the clients.
//
// Any WAL write or fsync error, including when recording a snapshot, is
// logged at Error level and ends the process through the package variable
// exit (os.Exit(1)); after an fsync error the page cache can no longer be
// trusted, and continuing would acknowledge writes that may be gone.
//
// # On-disk layout
//
//	<DataDir>/LOCK                          flock held while a Node runs
//	<DataDir>/wal/<seq>-<index>.wal         etcd WAL segments (16 MB preallocated, %016x names);
//	                                        records: CRC chain, metadata "corral-raftnode/2 {json:
//	                                        id, cluster, initial peers}" ("corral-raftnode/1 id=<id>" before),
//	                                        raft entries, HardState, snapshot markers
//	<DataDir>/wal/<n>.tmp                   the WAL's preallocated next segment
//	<DataDir>/wal/*.wal.broken              copy of a segment before its torn tail was repaired
//	<DataDir>/snap/<term>-<index>.snap      snapshots, %016x each (see snapshot.go for the format:
//	                                        header with term, index, ConfState and addresses, the state machine's
//	                                        stream, trailer with length and CRC-32C)
//	<DataDir>/snap/*.snap.broken            snapshot files that failed verification at start-up
//	<DataDir>/snap/*.snap.recv              a snapshot received from the leader, not yet installed
//	<DataDir>/snap/*.tmp                    a snapshot being written or received
//
// # Snapshots and compaction
//
// Every Config.SnapshotCount applied entries the state machine streams its
// state into snap/<term>-<index>.snap.tmp, which is fsynced, renamed and its
// directory fsynced; only then is the snapshot recorded in the WAL
// (wal.SaveSnapshot). raft's MemoryStorage is then compacted, keeping 5000
// entries behind the snapshot for lagging followers, and the newest
// Config.SnapshotRetain snapshot files are kept: older ones, and WAL segments
// holding only entries before the oldest kept snapshot, are deleted. A member
// that is the whole cluster has no followers to keep entries for: once it has
// a snapshot, it compacts its in-memory log up to the applied index every 5000
// entries, so memory does not hold up to SnapshotCount entries.
//
// A graceful Stop (not a crash, not a fatal error) writes one more snapshot
// when at least 10000 entries were applied since the newest one, so that the
// next start restores it rather than replaying them.
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
// A member of a larger group does not wait for a leader (it may be the only
// one up); the lowest voter of a cluster bootstrapped by this very start
// campaigns at once, the others elect by timeout.
package raftnode

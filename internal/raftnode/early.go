package raftnode

import "go.etcd.io/raft/v3/raftpb"

// With AsyncStorageWrites raft hands out for applying only entries that are
// durable in this member's own log. A committed entry is durable on a quorum
// already, so it can never be lost, and applying it needs nothing from this
// member's disk: a follower that applied only what its own fsync had covered
// answered its clients (writes it forwarded, watch events) one local fsync
// after the commit reached it; ZooKeeper's followers and etcd's servers apply
// on commit, in parallel with their own log write.
//
// The loop therefore keeps the entries it has handed to the appender (raft's
// log past what was durable, in the order raft wrote it) and applies those at
// or below the commit index as soon as it learns of it, ahead of raft's
// MsgStorageApply, which later hands them out again and is skipped for them
// (applyEntries ignores indexes at or below applied). Conf changes wait for
// raft (they change raft's own configuration, in its order). raft's log
// storage is compacted only up to the index raft counts as applied
// (compactLog): raft still reads what follows it.
//
// Nothing durable depends on what was applied early: after a crash the member
// restarts from its WAL and snapshot and fetches the rest again from the
// leader (a client that saw a newer zxid is refused until it has it, see
// the server's handshake), and a snapshot of the applied state is recorded
// only after the appends handed over before it was taken are written
// (startSnapshot, waitWritten).

// trackUnsynced records the entries of a MsgStorageAppend handed to the
// appender. An append that starts at or below the last tracked index replaces
// the tracked entries from its first index on, as it replaces raft's log.
func (n *Node) trackUnsynced(ents []raftpb.Entry) {
	if len(ents) == 0 {
		return
	}
	u := n.unsynced
	if len(u) > 0 {
		first, last := u[0].Index, u[len(u)-1].Index
		switch i := ents[0].Index; {
		case i <= first:
			clear(u)
			u = u[:0]
		case i <= last:
			clear(u[i-first:])
			u = u[:i-first]
		case i > last+1: // cannot happen; never track a gap
			clear(u)
			u = u[:0]
		}
	}
	n.unsynced = append(u, ents...)
}

// resetUnsynced forgets the tracked entries (a snapshot from the leader
// replaced the log).
func (n *Node) resetUnsynced() {
	clear(n.unsynced)
	n.unsynced = n.unsynced[:0]
}

// applyUnsynced applies the tracked entries that are committed and next in
// line (the first at applied+1), up to the first conf change, and drops the
// tracked entries that are applied. It reports whether it applied any.
func (n *Node) applyUnsynced() bool {
	u := n.unsynced
	applied := n.applied.Load()
	k := 0
	for k < len(u) && u[k].Index <= applied {
		k++
	}
	start := k
	if k < len(u) && u[k].Index == applied+1 {
		for k < len(u) && u[k].Index <= n.commit && u[k].Type == raftpb.EntryNormal {
			k++
		}
	}
	if k > start {
		n.applyEntries(u[start:k])
	}
	if k > 0 {
		clear(u[:k])
		if k == len(u) {
			u = u[:0] // reuse the array
		} else {
			u = u[k:]
		}
		n.unsynced = u
	}
	return k > start
}

package raftnode

import (
	"fmt"
	"slices"

	"go.etcd.io/raft/v3/raftpb"
)

// forceNewCluster turns this member's recovered log into that of a one-member
// cluster, for recovery after the quorum is lost for good: every entry in its log is
// taken as committed (keeping all the data this member has, including entries whose
// commit it had not yet heard of or recorded), and committed conf changes are
// appended that remove every other member.
// The member then elects itself and serves; new members are added with reconfig.
// This is an operator's last resort: writes acknowledged by a quorum this member
// had not yet heard of are lost.
func (n *Node) forceNewCluster(ws *walState, snap raftpb.Snapshot) error {
	committed := ws.ents
	members := map[uint64]bool{}
	cs := snap.Metadata.ConfState
	for _, ids := range [][]uint64{cs.Voters, cs.Learners, cs.VotersOutgoing, cs.LearnersNext} {
		for _, id := range ids {
			members[id] = true
		}
	}
	for _, e := range committed {
		if e.Type != raftpb.EntryConfChange && e.Type != raftpb.EntryConfChangeV2 {
			continue
		}
		cc, err := decodeConfChange(e)
		if err != nil {
			return fmt.Errorf("%w: conf change at index %d: %v", ErrCorrupt, e.Index, err)
		}
		for _, c := range cc.AsV2().Changes {
			switch c.Type {
			case raftpb.ConfChangeRemoveNode:
				delete(members, c.NodeID)
			default:
				members[c.NodeID] = true
			}
		}
	}
	last := snap.Metadata.Index
	if len(committed) > 0 {
		last = committed[len(committed)-1].Index
	}
	term := ws.hs.Term
	var ents []raftpb.Entry
	add := func(typ raftpb.ConfChangeType, id uint64) {
		cc := raftpb.ConfChange{Type: typ, NodeID: id, Context: ccContext{}.encode()}
		data, err := cc.Marshal()
		if err != nil {
			panic(err)
		}
		last++
		ents = append(ents, raftpb.Entry{Type: raftpb.EntryConfChange, Term: term, Index: last, Data: data})
	}
	if !slices.Contains(cs.Voters, n.cfg.ID) || !members[n.cfg.ID] {
		add(raftpb.ConfChangeAddNode, n.cfg.ID)
	}
	ids := make([]uint64, 0, len(members))
	for id := range members {
		if id != n.cfg.ID {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		add(raftpb.ConfChangeRemoveNode, id)
	}
	hs := ws.hs
	hs.Commit = last
	if err := n.w.Save(hs, ents); err != nil {
		return fmt.Errorf("raftnode: writing the forced-recovery entries to the WAL: %w", err)
	}
	n.lg.Warn("FORCED RECOVERY: this member is now a one-member cluster", "removed", ids,
		"previous_commit", ws.hs.Commit, "commit", hs.Commit)
	ws.hs = hs
	ws.ents = append(slices.Clip(committed), ents...)
	return nil
}

package server

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Members compare a digest of the tree at the same applied index. Every
// digestEvery entries each member sends its digest to the others; a member whose
// digest differs from one that a majority of the members reported stops serving
// and says why: serving from a state the others do not have would be silent data
// corruption.

// digestEvery is how many log entries lie between digest checkpoints.
const digestEvery = 1000

// msgDigest carries (index, digest) from one member to the others.
const msgDigest uint8 = 2

// digestBook keeps the digests reported for recent checkpoints.
type digestBook struct {
	mu      sync.Mutex
	reports map[uint64]map[uint64]uint64 // index -> member -> digest
}

func newDigestBook() *digestBook {
	return &digestBook{reports: make(map[uint64]map[uint64]uint64)}
}

// record stores member's digest at index and returns the reports for index.
func (b *digestBook) record(index, member, digest uint64) map[uint64]uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.reports[index]
	if r == nil {
		r = make(map[uint64]uint64)
		b.reports[index] = r
		// Forget checkpoints far behind this one.
		for i := range b.reports {
			if i+64*digestEvery < index {
				delete(b.reports, i)
			}
		}
	}
	r[member] = digest
	out := make(map[uint64]uint64, len(r))
	for k, v := range r {
		out[k] = v
	}
	return out
}

// diverged decides whether self's digest disagrees with a majority of members
// (size: how many members the group has). It returns the majority digest when so.
func diverged(reports map[uint64]uint64, self uint64, size int) (uint64, bool) {
	mine, ok := reports[self]
	if !ok {
		return 0, false
	}
	counts := map[uint64]int{}
	for _, d := range reports {
		counts[d]++
	}
	for d, n := range counts {
		if d != mine && n > size/2 {
			return d, true
		}
	}
	return 0, false
}

// checkpointDigest is called by Apply (mu held) at every applied index.
func (s *Server) checkpointDigest(index uint64) {
	if index%digestEvery != 0 || !s.nodeReady.Load() {
		return
	}
	d := s.tree.Digest()
	msg := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, index), d)
	go s.shareDigest(index, d, msg)
}

// shareDigest sends this member's digest to the others and checks it.
func (s *Server) shareDigest(index, d uint64, msg []byte) {
	m := s.node.Members()
	if len(m.Voters)+len(m.Learners) <= 1 {
		return
	}
	for _, id := range append(append([]uint64(nil), m.Voters...), m.Learners...) {
		if id != s.cfg.ID {
			s.node.SendApp(id, msgDigest, msg)
		}
	}
	s.judgeDigest(index, s.cfg.ID, d)
}

// judgeDigest records a digest report and stops serving if this member diverged.
func (s *Server) judgeDigest(index, member, d uint64) {
	reports := s.digests.record(index, member, d)
	m := s.node.Members()
	size := len(m.Voters) + len(m.Learners)
	if _, mine := reports[s.cfg.ID]; mine && len(reports) == size {
		agree := true
		for _, d := range reports {
			agree = agree && d == reports[s.cfg.ID]
		}
		if agree {
			s.digestsAgreed.Add(1)
		}
	}
	if want, bad := diverged(reports, s.cfg.ID, size); bad {
		reason := fmt.Sprintf("state digest at index %d is %016x, but a majority of members have %016x: this member's data diverged; it stops serving (rebuild it from the others: remove its data dir and rejoin)",
			index, reports[s.cfg.ID], want)
		if s.divergence.CompareAndSwap(nil, &reason) {
			s.log.Error(reason)
			for _, c := range s.connList() {
				c.close("member diverged")
			}
		}
	}
}

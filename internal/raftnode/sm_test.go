package raftnode

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// fakeSM is an in-memory StateMachine: it keeps the user entries in order and
// a hash chain over (index, data) of every applied entry.
type fakeSM struct {
	mu           sync.Mutex
	applied      uint64
	entries      [][]byte
	hash         [32]byte
	applyCalls   int
	restoreCalls int
	err          error // first ordering violation seen
}

func (s *fakeSM) Apply(index uint64, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applyCalls++
	if index != s.applied+1 && s.err == nil {
		s.err = fmt.Errorf("apply index %d after %d", index, s.applied)
	}
	s.applied = index
	h := sha256.New()
	h.Write(s.hash[:])
	binary.Write(h, binary.BigEndian, index)
	h.Write(data)
	copy(s.hash[:], h.Sum(nil))
	if data != nil {
		s.entries = append(s.entries, append([]byte(nil), data...))
	}
}

func (s *fakeSM) WriteSnapshot(w io.Writer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	bw := bufio.NewWriter(w)
	binary.Write(bw, binary.BigEndian, s.applied)
	bw.Write(s.hash[:])
	binary.Write(bw, binary.BigEndian, uint64(len(s.entries)))
	for _, e := range s.entries {
		binary.Write(bw, binary.BigEndian, uint32(len(e)))
		bw.Write(e)
	}
	return bw.Flush()
}

func (s *fakeSM) RestoreSnapshot(index uint64, r io.Reader) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restoreCalls++
	br := bufio.NewReader(r)
	var applied, n uint64
	if err := binary.Read(br, binary.BigEndian, &applied); err != nil {
		return err
	}
	if applied != index {
		return fmt.Errorf("snapshot says applied %d, restoring at %d", applied, index)
	}
	if _, err := io.ReadFull(br, s.hash[:]); err != nil {
		return err
	}
	if err := binary.Read(br, binary.BigEndian, &n); err != nil {
		return err
	}
	s.entries = make([][]byte, 0, n)
	for range n {
		var l uint32
		if err := binary.Read(br, binary.BigEndian, &l); err != nil {
			return err
		}
		e := make([]byte, l)
		if _, err := io.ReadFull(br, e); err != nil {
			return err
		}
		s.entries = append(s.entries, e)
	}
	s.applied = applied
	return nil
}

type smState struct {
	applied uint64
	hash    [32]byte
	n       int
}

func (s *fakeSM) state() smState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return smState{s.applied, s.hash, len(s.entries)}
}

func (s *fakeSM) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

func (s *fakeSM) calls() (apply, restore int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.applyCalls, s.restoreCalls
}

func (s *fakeSM) orderErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *fakeSM) entry(i int) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entries[i]
}

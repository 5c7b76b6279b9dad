package raftnode

import (
	"testing"
	"time"

	"go.etcd.io/raft/v3/raftpb"
)

// A follower answers the MsgApp that only moves the commit index with the same
// acknowledgement it sent for the entries: that repeat is not sent, unless the
// last one went out long enough ago that it may have been lost.
func TestSkipRepeatedAck(t *testing.T) {
	a := &appender{n: &Node{cfg: Config{ID: 2}}}
	t0 := time.Unix(1000, 0)
	ack := func(index uint64) raftpb.Message {
		return raftpb.Message{Type: raftpb.MsgAppResp, From: 2, To: 1, Term: 3, Index: index}
	}
	indexes := func(ms []raftpb.Message) []uint64 {
		var out []uint64
		for _, m := range ms {
			out = append(out, m.Index)
		}
		return out
	}
	steps := []struct {
		name string
		at   time.Duration
		in   []raftpb.Message
		want []uint64
	}{
		{"first ack", 0, []raftpb.Message{ack(10)}, []uint64{10}},
		{"repeat at once", time.Millisecond, []raftpb.Message{ack(10)}, nil},
		{"new entries", 2 * time.Millisecond, []raftpb.Message{ack(12)}, []uint64{12}},
		{"repeat among others", 3 * time.Millisecond,
			[]raftpb.Message{{Type: raftpb.MsgStorageAppendResp, To: 2, Index: 7}, ack(12), {Type: raftpb.MsgHeartbeatResp, To: 1, Index: 8}},
			[]uint64{7, 8}},
		{"repeat after the window", 3*time.Millisecond + repeatAckWindow, []raftpb.Message{ack(12)}, []uint64{12}},
		{"rejection", 4*time.Millisecond + repeatAckWindow,
			[]raftpb.Message{{Type: raftpb.MsgAppResp, To: 1, Term: 3, Index: 12, Reject: true}}, []uint64{12}},
	}
	for _, s := range steps {
		got := indexes(a.skipRepeatedAck(s.in, t0.Add(s.at)))
		if len(got) != len(s.want) {
			t.Fatalf("%s: sent %v, want %v", s.name, got, s.want)
		}
		for i := range got {
			if got[i] != s.want[i] {
				t.Fatalf("%s: sent %v, want %v", s.name, got, s.want)
			}
		}
	}
	// Another term (a new leader) or another leader is never a repeat.
	m := ack(12)
	m.Term = 4
	if got := a.skipRepeatedAck([]raftpb.Message{m}, t0.Add(5*time.Millisecond+repeatAckWindow)); len(got) != 1 {
		t.Fatalf("ack in a new term dropped")
	}
	m.To = 3
	if got := a.skipRepeatedAck([]raftpb.Message{m}, t0.Add(6*time.Millisecond+repeatAckWindow)); len(got) != 1 {
		t.Fatalf("ack to another leader dropped")
	}
}

// The responses of appends written with one Save carry one acknowledgement per
// leader and term, the highest; everything else goes out as it was, in order.
func TestLatestAcks(t *testing.T) {
	ack := func(to, term, index uint64) raftpb.Message {
		return raftpb.Message{Type: raftpb.MsgAppResp, From: 2, To: to, Term: term, Index: index}
	}
	self := raftpb.Message{Type: raftpb.MsgStorageAppendResp, To: 2, Index: 11}
	reject := raftpb.Message{Type: raftpb.MsgAppResp, From: 2, To: 1, Term: 3, Index: 9, Reject: true, RejectHint: 8}
	hb := raftpb.Message{Type: raftpb.MsgHeartbeatResp, From: 2, To: 1, Term: 3}
	in := []raftpb.Message{
		ack(1, 3, 10), self, ack(1, 3, 12), hb, ack(1, 3, 11), reject,
		ack(1, 3, 12), // as much as the one before, later: this one is kept
		ack(3, 4, 13), // a new leader in a new term
		ack(3, 4, 12),
	}
	want := []raftpb.Message{self, hb, reject, ack(1, 3, 12), ack(3, 4, 13)}
	got := latestAcks(in, 2)
	if len(got) != len(want) {
		t.Fatalf("kept %d messages, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Type != want[i].Type || got[i].To != want[i].To || got[i].Term != want[i].Term ||
			got[i].Index != want[i].Index || got[i].Reject != want[i].Reject {
			t.Fatalf("message %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// One acknowledgement, or none, goes through untouched.
	if got := latestAcks([]raftpb.Message{self, ack(1, 3, 10)}, 2); len(got) != 2 {
		t.Fatalf("a lone acknowledgement was dropped: %v", got)
	}
}

package server

import (
	"errors"
	"testing"

	"github.com/corral-io/corral/internal/raftnode"
	"github.com/corral-io/corral/proto"
)

func TestParseMemberSpec(t *testing.T) {
	ok := []struct {
		in   string
		want memberSpec
	}{
		{"server.4=127.0.0.1:2891:3891:observer;127.0.0.1:2184", memberSpec{4, "127.0.0.1:2891", "127.0.0.1:2184", true}},
		{"server.4=h:2891:participant;2184", memberSpec{4, "h:2891", "0.0.0.0:2184", false}},
		{"4=h:2891", memberSpec{4, "h:2891", "", false}},
		{"server.5=[::1]:2891:3891:OBSERVER", memberSpec{5, "[::1]:2891", "", true}},
		{" server.6=h:1:2 ;[::1]:2186", memberSpec{6, "h:1", "[::1]:2186", false}},
	}
	for _, tt := range ok {
		got, err := parseMemberSpec(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseMemberSpec(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"server.4", "server.x=h:1", "server.0=h:1", "server.4=h", "server.4=h:0", "server.4=h:1:2:leader",
		"server.4=h:1:2:observer:9", "server.4=h:1;nohost:", "server.4=:1", "server.4=[::1:1"} {
		if sp, err := parseMemberSpec(in); err == nil {
			t.Errorf("parseMemberSpec(%q) = %+v, want an error", in, sp)
		}
	}
}

func TestPlanReconfig(t *testing.T) {
	m := raftnode.Membership{Voters: []uint64{1, 2, 3}, Learners: []uint64{4},
		Addrs: map[uint64]string{1: "h:1", 2: "h:2", 3: "h:3", 4: "h:4"}}
	plan := func(req proto.ReconfigRequest, self uint64) []reconfigStep {
		t.Helper()
		steps, err := planReconfig(m, &req, self)
		if err != nil {
			t.Fatalf("planReconfig(%+v): %v", req, err)
		}
		return steps
	}
	got := plan(proto.ReconfigRequest{JoiningServers: "server.5=h:5:participant,server.4=h:4:4:participant,server.6=h:6:observer;7", LeavingServers: "1,2"}, 1)
	want := []reconfigStep{{stepAddLearner, 6, "h:6", "0.0.0.0:7"}, {stepPromote, 4, "", ""}, {stepAddVoter, 5, "h:5", ""},
		{stepRemove, 2, "", ""}, {stepRemove, 1, "", ""}}
	if len(got) != len(want) {
		t.Fatalf("plan %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("plan %+v, want %+v", got, want)
		}
	}
	// Already so, or not a member: nothing to do.
	if got := plan(proto.ReconfigRequest{JoiningServers: "server.1=h:1", LeavingServers: "9"}, 1); len(got) != 0 {
		t.Fatalf("no-op plan %+v", got)
	}
	// Non-incremental: 4 promoted, 3 removed.
	got = plan(proto.ReconfigRequest{NewMembers: "server.1=h:1,server.2=h:2,server.4=h:4:participant"}, 2)
	if len(got) != 2 || got[0] != (reconfigStep{kind: stepPromote, id: 4}) || got[1] != (reconfigStep{kind: stepRemove, id: 3}) {
		t.Fatalf("non-incremental plan %+v", got)
	}
	for _, req := range []proto.ReconfigRequest{
		{},
		{JoiningServers: "server.5=h:5", NewMembers: "server.1=h:1"},
		{JoiningServers: "server.1=h:1:observer"},             // demotion
		{JoiningServers: "server.2=other:2"},                  // address change
		{JoiningServers: "server.5=h:5", LeavingServers: "5"}, // both
		{LeavingServers: "1,2,3"},                             // no voter left
		{NewMembers: "server.4=h:4:observer"},                 // no voter left
		{JoiningServers: "server.5=h:5,server.5=h:6"},         // twice
		{LeavingServers: "x"},
	} {
		if steps, err := planReconfig(m, &req, 1); err == nil {
			t.Errorf("planReconfig(%+v) = %+v, want an error", req, steps)
		} else if ba := (*badArgs)(nil); !errors.As(err, &ba) {
			t.Errorf("planReconfig(%+v): %v is not badArgs", req, err)
		}
	}
}

func TestConfigText(t *testing.T) {
	m := raftnode.Membership{Voters: []uint64{3, 1}, Learners: []uint64{2},
		Addrs:       map[uint64]string{1: "10.0.0.1:2888", 2: "[::1]:2890", 3: "h3:2889"},
		ClientAddrs: map[uint64]string{2: "0.0.0.0:2182"}, ConfIndex: 0x1a}
	want := "server.1=10.0.0.1:2888:2888:participant\n" +
		"server.2=[::1]:2890:2890:observer;0.0.0.0:2182\n" +
		"server.3=h3:2889:2889:participant\n" +
		"version=1a"
	if got := string(configText(m)); got != want {
		t.Fatalf("configText:\n%s\nwant:\n%s", got, want)
	}
	// What configText writes parses back to the same members.
	specs, err := parseMemberSpecs(want)
	if err != nil || len(specs) != 3 || !specs[1].observer || specs[1].peer != "[::1]:2890" || specs[1].client != "0.0.0.0:2182" {
		t.Fatalf("parseMemberSpecs(configText) = %+v, %v", specs, err)
	}
}

package raftnode

import "go.etcd.io/raft/v3/raftpb"

// Transport carries raft messages between members. The Node calls Send from
// its Ready loop only after the Ready's entries and HardState are durable.
// Incoming messages are handed to Node.Step.
//
// Send must not block for long (queue and return) and must not retain or
// modify msgs beyond the call unless it copies them.
type Transport interface {
	Send(msgs []raftpb.Message)
	Stop()
}

// NopTransport is the Transport of a single-member group: a one-member raft
// group never addresses another member, so any message is dropped.
type NopTransport struct{}

// Send drops msgs.
func (NopTransport) Send(msgs []raftpb.Message) {}

// Stop does nothing.
func (NopTransport) Stop() {}

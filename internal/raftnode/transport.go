package raftnode

import (
	"github.com/corral-io/corral/internal/transport"
	"go.etcd.io/raft/v3/raftpb"
)

// Transport carries raft messages between members. The Node calls Send from
// its Ready loop only after the Ready's entries and HardState are durable.
// Incoming messages are handed to Node.Step. A multi-member Node uses
// *transport.Transport; a single member without PeerAddr uses NopTransport.
//
// Send must not block for long (queue and return) and must not retain or
// modify msgs beyond the call unless it copies them.
type Transport interface {
	Send(msgs []raftpb.Message)
	// SendApp queues an application message for member to.
	SendApp(to uint64, kind uint8, data []byte) error
	// SetPeer adds member id at addr or changes its address.
	SetPeer(id uint64, addr string)
	// RemovePeer stops sending to member id.
	RemovePeer(id uint64)
	Stop()
}

var _ Transport = (*transport.Transport)(nil)

// NopTransport is the Transport of a single-member group: a one-member raft
// group never addresses another member, so any message is dropped.
type NopTransport struct{}

// Send drops msgs.
func (NopTransport) Send(msgs []raftpb.Message) {}

// SendApp fails: a single member has no peers.
func (NopTransport) SendApp(to uint64, kind uint8, data []byte) error {
	return transport.ErrUnknownPeer
}

// SetPeer does nothing.
func (NopTransport) SetPeer(id uint64, addr string) {}

// RemovePeer does nothing.
func (NopTransport) RemovePeer(id uint64) {}

// Stop does nothing.
func (NopTransport) Stop() {}

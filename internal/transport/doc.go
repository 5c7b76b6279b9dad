// Package transport carries raft messages, snapshots and small application
// messages between the members of a corral cluster over TCP.
//
// # Streams
//
// Every member listens on its peer address. For every other member it keeps
// one persistent outbound TCP stream, written by one goroutine fed from a
// bounded queue: Send never blocks; a message that does not fit in the queue,
// or that is queued when the stream breaks, is dropped and reported to raft
// (Handler.ReportUnreachable). A broken stream is re-dialled with a jittered
// exponential backoff; the peer's host name is resolved again on every dial,
// so a member whose address changes in DNS is found again, and an
// unresolvable name is retried, never fatal. Messages from a peer arrive on
// the stream that peer dialled, so each stream carries data one way only.
//
// # Failure detection
//
// When a stream ends because the peer's process is gone (EOF or reset on a
// stream, connection refused on a dial) the Handler's PeerLost is called. A
// timeout (a frozen or partitioned peer) is not reported: raft's election
// timeout handles those. A stream closed on purpose while the member keeps
// running (a changed address, a removed member) says goodbye first, so its
// end is not mistaken for a death.
//
// # Wire format
//
// All integers are big-endian. A stream starts with a handshake from the
// dialler:
//
//	magic "CRLPEER1" | kind u8 | from u64 | to u64 | clusterLen u16 | cluster id
//
// kind is 1 for a message stream and 2 for a snapshot. The acceptor answers
//
//	status u8 | msgLen u16 | msg
//
// with status 0 to accept, or 1 and a reason (cluster id mismatch, or the
// dialler reached a member other than to), which both sides log; the
// dialler then backs off.
//
// A message stream is then a sequence of frames:
//
//	len u32 | type u8 | payload     (len counts type and payload)
//
// with type 1 a marshalled raftpb.Message, type 2 an application message
// (kind u8 | data) and type 3 a goodbye (empty payload) sent before an
// intentional close.
//
// A snapshot stream carries exactly one type-1 frame holding the MsgSnap,
// then size u64 and size bytes of the snapshot file as the sender's
// Handler.OpenSnapshot returned it. The receiver hands those bytes to
// Handler.ReceiveSnapshot (which stores and verifies them), then steps the
// MsgSnap (Handler.Process), then answers status u8 | msgLen u16 | msg; the
// sender reports the outcome to raft (Handler.ReportSnapshot).
package transport

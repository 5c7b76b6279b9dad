package raftnode

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/corral-io/corral/internal/transport"
	"github.com/corral-io/corral/internal/trash"
)

// Defaults applied by Start to zero Config fields.
const (
	DefaultTickInterval   = 100 * time.Millisecond
	DefaultElectionTicks  = 10
	DefaultHeartbeatTicks = 1
	DefaultSnapshotCount  = 100000
	DefaultSnapshotRetain = 3
	DefaultMaxEntryBytes  = 1<<20 + 4096
	DefaultClusterID      = "corral"

	// maxSizePerMsg bounds the bytes of entries in one append message.
	maxSizePerMsg = 1 << 20
	// maxCommittedPerReady bounds the bytes of committed entries handed out per
	// Ready (raft's default, maxSizePerMsg, applies megabyte entries one per
	// Ready, i.e. one per fsync, while new ones keep coming in).
	maxCommittedPerReady = 32 << 20
	// maxInflightMsgs and maxInflightBytes bound the append messages in flight to
	// each follower. A small window makes fewer, larger appends: while it is
	// full, new entries wait at the leader and leave together in one message
	// when an acknowledgement frees a slot, so a follower writes (and fsyncs)
	// them in one Ready instead of one per leader Ready. Each message still
	// carries up to maxSizePerMsg, so 8 in flight is 8 MB per round trip, far
	// more than a coordination service's write rate. Three members on loopback,
	// 2-core VM, WAL on a virtio disk, corral bench 16 x 16: set 36k -> 50k
	// requests/s, create 30k -> 36k, session churn +5-10 %, p99 lower, with 8
	// instead of 256 (raft's and etcd's usual WAN-sized window).
	maxInflightMsgs  = 8
	maxInflightBytes = 32 << 20
)

// catchUpEntries is how many entries are kept in raft's in-memory log
// behind a snapshot, so a slightly lagging follower can catch up from the
// log instead of receiving a whole snapshot. A variable for tests.
var catchUpEntries uint64 = 5000

// Raft's in-memory log holds every entry since the last compaction, so counting
// entries alone does not bound it: a client writing 1 MB values would have a member
// hold gigabytes before SnapshotCount entries are reached. So a snapshot is also
// taken once snapshotBytes of entry data (or, for a large tree, as much as the last
// snapshot file) have been applied since the last one, and the tail kept behind a
// snapshot for catch-up is at most catchUpBytes as well as catchUpEntries. Variables
// for tests.
var (
	snapshotBytes uint64 = 128 << 20
	catchUpBytes  uint64 = 64 << 20
)

// Sentinel errors returned by the Node.
var (
	// ErrEntryTooLarge is returned by Propose for data longer than Config.MaxEntryBytes.
	ErrEntryTooLarge = errors.New("raftnode: entry too large")
	// ErrEmptyEntry is returned by Propose for empty data: an entry without data
	// is indistinguishable from raft's own empty entries, which apply as nil.
	ErrEmptyEntry = errors.New("raftnode: empty entry")
	// ErrStopped is returned by calls on a Node that has been stopped (by Stop,
	// or because a fatal storage error ended its loop).
	ErrStopped = errors.New("raftnode: stopped")
	// ErrNotLeader is returned when raft drops a proposal or a read-index
	// request because this member knows of no leader it can serve it through
	// (during an election, a leadership transfer, or when removed).
	ErrNotLeader = errors.New("raftnode: no leader to serve the request")
	// ErrCorrupt is wrapped by Start errors caused by a corrupted WAL or
	// unrecoverable on-disk inconsistency; the message names the file (and,
	// where known, the offset).
	ErrCorrupt = errors.New("raftnode: corrupted data")
	// ErrNotMember is returned by calls that need a member the cluster does
	// not have (e.g. transferring leadership to an unknown id).
	ErrNotMember = errors.New("raftnode: no such member")
)

// Config configures a Node. Zero fields take the documented defaults.
//
// A Node with no Peers (or only itself) and no PeerAddr is a single-member
// group, as before clusters existed. With Peers listing other members, or
// with PeerAddr set, it runs the peer transport (package transport) on
// PeerAddr.
type Config struct {
	ID             uint64        // this member's id (1 for a single node); must be non-zero
	DataDir        string        // holds wal/ and snap/ subdirectories; created if missing
	TickInterval   time.Duration // raft logical clock tick; default 100ms
	ElectionTicks  int           // ticks without a leader before an election; default 10
	HeartbeatTicks int           // ticks between leader heartbeats; default 1
	SnapshotCount  uint64        // applied entries between snapshots (also taken by bytes: snapshotBytes); default 100000
	// SnapshotRetain is the number of snapshot files kept; default 3. Older
	// snapshots and the WAL segments only they need are deleted.
	SnapshotRetain int
	// MaxEntryBytes bounds the data of one proposal; Propose rejects larger
	// data with ErrEntryTooLarge. Default 1<<20 + 4096.
	MaxEntryBytes int
	Logger        *slog.Logger // default slog.Default()

	// Peers maps member ids to their peer addresses (host:port), this
	// member included. It bootstraps a new cluster: on first start the
	// voters are Peers minus Learners. Afterwards membership comes only from
	// the raft log and snapshots (see ProposeConfChange); Peers then only
	// supplies addresses of members the log does not give one for (e.g. for
	// a member that joins with an empty log). Empty, or only this member:
	// a single-member group.
	Peers map[uint64]string
	// PeerAddr is the address the peer transport listens on (may differ
	// from the address others dial, e.g. ":2888"). Required when Peers
	// names other members; optional for a single member (set it to be able
	// to add members later).
	PeerAddr string
	// PeerListener, if set, is an already bound listener used instead of
	// listening on PeerAddr (tests bind port 0 first).
	PeerListener net.Listener
	// Learners lists the members of Peers that start as non-voting raft
	// learners (ZooKeeper's observers). Only used to bootstrap.
	Learners []uint64
	// ClusterID names the cluster; peers presenting another id are refused,
	// and a data dir created for another cluster is refused. Default "corral".
	ClusterID string
	// Join starts a member that is being added to a running cluster: with
	// an empty data dir it does not bootstrap but waits for the leader to
	// send it the log or a snapshot. The member must be added with AddVoter
	// or AddLearner on the cluster. Ignored once the data dir exists.
	Join bool
	// ForceNewCluster recovers from a lost quorum: on start, this member drops
	// its uncommitted entries and removes every other member, becoming a
	// one-member cluster (see forceNewCluster). For operators, once.
	ForceNewCluster bool
	// OnLeaderChange, if set, is called from the raft loop whenever the
	// known leader changes (0: no leader known). It must return quickly and
	// must not call Node methods that wait for the loop (Propose, ReadIndex,
	// TransferLeadership, the conf-change calls, Stop).
	OnLeaderChange func(leader uint64)

	// PeerFaults injects network faults into the peer transport (tests).
	PeerFaults *transport.Faults

	// beforeSave, when set (tests), runs in the appender before each WAL save.
	beforeSave func()
	// trash, when set (tests), paces the removal of purged files.
	trash trash.Options
}

// multiMember reports whether the config asks for the peer transport.
func (c *Config) multiMember() bool {
	if c.PeerAddr != "" || c.PeerListener != nil {
		return true
	}
	for id := range c.Peers {
		if id != c.ID {
			return true
		}
	}
	return false
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.ID == 0 {
		return cfg, errors.New("raftnode: Config.ID must be non-zero")
	}
	if cfg.DataDir == "" {
		return cfg, errors.New("raftnode: Config.DataDir must be set")
	}
	if cfg.TickInterval <= 0 {
		cfg.TickInterval = DefaultTickInterval
	}
	if cfg.ElectionTicks <= 0 {
		cfg.ElectionTicks = DefaultElectionTicks
	}
	if cfg.HeartbeatTicks <= 0 {
		cfg.HeartbeatTicks = DefaultHeartbeatTicks
	}
	if cfg.ElectionTicks <= cfg.HeartbeatTicks {
		return cfg, fmt.Errorf("raftnode: ElectionTicks (%d) must exceed HeartbeatTicks (%d)", cfg.ElectionTicks, cfg.HeartbeatTicks)
	}
	if cfg.SnapshotCount == 0 {
		cfg.SnapshotCount = DefaultSnapshotCount
	}
	if cfg.SnapshotRetain <= 0 {
		cfg.SnapshotRetain = DefaultSnapshotRetain
	}
	if cfg.MaxEntryBytes <= 0 {
		cfg.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ClusterID == "" {
		cfg.ClusterID = DefaultClusterID
	}
	for id, addr := range cfg.Peers {
		if id == 0 {
			return cfg, errors.New("raftnode: Config.Peers: member id 0 is invalid")
		}
		if addr == "" && id != cfg.ID {
			return cfg, fmt.Errorf("raftnode: Config.Peers: no address for member %d", id)
		}
	}
	for _, id := range cfg.Learners {
		if _, ok := cfg.Peers[id]; !ok {
			return cfg, fmt.Errorf("raftnode: Config.Learners: member %d is not in Peers", id)
		}
	}
	if cfg.multiMember() && cfg.PeerAddr == "" && cfg.PeerListener == nil {
		return cfg, errors.New("raftnode: Config.PeerAddr must be set for a multi-member cluster")
	}
	return cfg, nil
}

// exit ends the process after a fatal storage error. It is a variable so tests
// can intercept it; when it returns (only in tests) the Node's loop stops
// without touching raft or the state machine again.
var exit = os.Exit

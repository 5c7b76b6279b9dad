package raftnode

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"
)

// Defaults applied by Start to zero Config fields.
const (
	DefaultTickInterval   = 100 * time.Millisecond
	DefaultElectionTicks  = 10
	DefaultHeartbeatTicks = 1
	DefaultSnapshotCount  = 100000
	DefaultSnapshotRetain = 3
	DefaultMaxEntryBytes  = 1<<20 + 4096

	// catchUpEntries is how many entries are kept in raft's in-memory log
	// behind a snapshot, so a slightly lagging follower can catch up from the
	// log instead of receiving a whole snapshot.
	catchUpEntries = 5000

	// maxSizePerMsg bounds the bytes of entries in one append message (and of
	// committed entries handed out per Ready).
	maxSizePerMsg = 1 << 20
	// maxInflightMsgs bounds in-flight append messages per follower.
	maxInflightMsgs = 256
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
)

// Config configures a Node. Zero fields take the documented defaults.
type Config struct {
	ID             uint64        // this member's id (1 for a single node); must be non-zero
	DataDir        string        // holds wal/ and snap/ subdirectories; created if missing
	TickInterval   time.Duration // raft logical clock tick; default 100ms
	ElectionTicks  int           // ticks without a leader before an election; default 10
	HeartbeatTicks int           // ticks between leader heartbeats; default 1
	SnapshotCount  uint64        // applied entries between snapshots; default 100000
	// SnapshotRetain is the number of snapshot files kept; default 3. Older
	// snapshots and the WAL segments only they need are deleted.
	SnapshotRetain int
	// MaxEntryBytes bounds the data of one proposal; Propose rejects larger
	// data with ErrEntryTooLarge. Default 1<<20 + 4096.
	MaxEntryBytes int
	Logger        *slog.Logger // default slog.Default()
	// Transport carries raft messages to other members. Nil means a
	// single-member group (NopTransport).
	Transport Transport
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
	if cfg.Transport == nil {
		cfg.Transport = NopTransport{}
	}
	return cfg, nil
}

// exit ends the process after a fatal storage error. It is a variable so tests
// can intercept it; when it returns (only in tests) the Node's loop stops
// without touching raft or the state machine again.
var exit = os.Exit

// Package config holds the configuration of `corral server` and builds it from
// defaults, an optional zoo.cfg-style file, environment variables and
// command-line flags, in that order of increasing precedence.
//
// Every setting has one flag name (for example --client-addr); its environment
// variable is CORRAL_ followed by the flag name in upper snake case
// (CORRAL_CLIENT_ADDR), and, where ZooKeeper has an equivalent, the zoo.cfg key
// is accepted in the file given by --config (or CORRAL_CONFIG).
//
// Defaults differ from ZooKeeper's where ZooKeeper's are known to hurt
// (ZOOKEEPER.md part 2): snapshot retention is always on, the cheap read-only
// four-letter words are enabled, and the per-IP connection limit is 1000
// instead of 60.
//
// A member's id comes from --id or, as in ZooKeeper, from the myid file in the data dir.
package config

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Server is the configuration of `corral server`.
type Server struct {
	// ClientAddr is the host:port clients connect to (zoo.cfg clientPortAddress + clientPort).
	ClientAddr string
	// DataDir holds the write-ahead log and the snapshots (zoo.cfg dataDir).
	DataDir string
	// TickTime is the basic time unit; session timeout bounds default to multiples of it (zoo.cfg tickTime, ms).
	TickTime time.Duration
	// MinSessionTimeout is the smallest session timeout granted; defaults to 2*TickTime (zoo.cfg minSessionTimeout, ms).
	MinSessionTimeout time.Duration
	// MaxSessionTimeout is the largest session timeout granted; defaults to 20*TickTime (zoo.cfg maxSessionTimeout, ms).
	MaxSessionTimeout time.Duration
	// MaxClientCnxns limits concurrent connections from one IP address; 0 = unlimited (zoo.cfg maxClientCnxns).
	MaxClientCnxns int
	// MaxConnections limits concurrent client connections in total; 0 = unlimited (zoo.cfg maxCnxns).
	MaxConnections int
	// MaxBuffer is the largest frame accepted or sent, in bytes (jute.maxbuffer).
	MaxBuffer int
	// MaxOutstanding is how many requests of one connection may be in flight
	// before the server stops reading its socket.
	MaxOutstanding int
	// MaxSendQueueBytes is how many unsent reply and event bytes a connection
	// may accumulate before it is disconnected.
	MaxSendQueueBytes int
	// MaxInflightBytes bounds the bytes of requests read and not yet answered,
	// across all connections; past it, sockets are not read until replies go out.
	MaxInflightBytes int
	// ContainerCheckInterval is how often empty containers and expired TTL
	// nodes are looked for (znode.container.checkIntervalMs).
	ContainerCheckInterval time.Duration
	// ContainerMaxPerMinute bounds container deletions per minute (znode.container.maxPerMinute).
	ContainerMaxPerMinute int
	// ContainerMaxNeverUsed, when positive, deletes containers that never had
	// a child after this long (znode.container.maxNeverUsedIntervalMs); 0 = never.
	ContainerMaxNeverUsed time.Duration
	// FourLetterWords lists the enabled four-letter words; "*" enables all (4lw.commands.whitelist).
	FourLetterWords []string
	// SnapshotCount is the number of log entries between snapshots (snapCount).
	SnapshotCount uint64
	// SnapshotRetain is how many snapshots are kept, at least 3 (autopurge.snapRetainCount).
	SnapshotRetain int
	// AdminAddr is the host:port of the HTTP admin and metrics server; "" = disabled
	// (admin.serverAddress + admin.serverPort).
	AdminAddr string
	// LogLevel is one of debug, info, warn, error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// ID is this member's id, 1..254 (default: DataDir/myid if present, else 1).
	ID uint64
	// PeerAddr is the host:port this member listens on for its peers (cluster mode).
	PeerAddr string
	// Peers lists the members as "1=host:port,2=host:port" (zoo.cfg server.N lines).
	Peers string
	// Observers lists the ids among Peers that are non-voting members (raft
	// learners), comma-separated (zoo.cfg server.N=…:observer).
	Observers string
	// Join starts a new member that is added to a running cluster: it waits
	// for the leader to send it the state instead of bootstrapping.
	Join bool
	// ClusterID names the cluster; members of another cluster are refused.
	ClusterID string
	// MinFreeDisk is the free space on the data dir's disk below which client
	// writes are refused (QUOTAEXCEEDED) instead of filling the disk; 0 = off.
	MinFreeDisk int
	// ForceNewCluster makes this member, alone, a new one-member cluster from its
	// data dir: the documented recovery after losing the quorum for good.
	ForceNewCluster bool
	// ReadOnlyMode lets a member cut off from the quorum serve reads to clients
	// that accept a read-only server (zoo.cfg readonlymode.enabled). Default on.
	ReadOnlyMode bool
	// ReconfigEnabled accepts membership changes through the reconfig request
	// (zoo.cfg reconfigEnabled). Default on.
	ReconfigEnabled bool
	// SuperDigest is the super user's digest id, "user:base64(sha1(user:password))"
	// (ZooKeeper's DigestAuthenticationProvider.superDigest). A client that
	// authenticates (addauth digest) as that user passes every ACL check, and once
	// it is set, reconfig needs WRITE on /zookeeper/config, which by default only
	// the super user has. Empty: no super user, and reconfig is open to every
	// client (see ReconfigEnabled).
	SuperDigest string
	// HoldSysmon keeps the Go runtime's monitor thread out of deep sleep, so it
	// does not wake every 20 µs after each idle spell (see internal/sysmon): one
	// more P, held by a thread asleep in the kernel. Default off: on a host with
	// more runnable threads than cores it can stall the process for up to
	// seconds (see the package comment).
	HoldSysmon bool
	// SteadySysmon keeps the Go runtime's monitor thread out of deep sleep the
	// other way: the server runs with GODEBUG=schedtrace set to its longest
	// period (re-executing itself once at start to get it), under which the
	// runtime never puts sysmon into deep sleep, so that it stays at its slow
	// interval instead of polling every 20 µs after each idle spell (see
	// internal/sysmon). Default on.
	SteadySysmon bool
}

// Default values that are not derived from others.
const (
	DefaultClientAddr             = "0.0.0.0:2181"
	DefaultDataDir                = "./corral-data"
	DefaultTickTime               = 2 * time.Second
	DefaultMaxClientCnxns         = 1000
	DefaultMaxConnections         = 10000
	DefaultMaxBuffer              = 0xfffff
	DefaultMaxOutstanding         = 1000
	DefaultMaxSendQueueBytes      = 16 << 20
	DefaultMaxInflightBytes       = 128 << 20
	DefaultContainerCheckInterval = 5 * time.Second // ZooKeeper: 60s; the candidate index makes a check cheap
	DefaultContainerMaxPerMinute  = 10000
	DefaultSnapshotCount          = 100000
	DefaultSnapshotRetain         = 3
	DefaultLogLevel               = "info"
	DefaultLogFormat              = "text"
	DefaultID                     = 1

	// MinMaxBuffer and MaxMaxBuffer bound MaxBuffer.
	MinMaxBuffer = 1024
	MaxMaxBuffer = 64 << 20
	// MinSnapshotRetain is the fewest snapshots kept, as in ZooKeeper.
	MinSnapshotRetain = 3
	// MaxID is the largest member id.
	MaxID = 254
)

// AllFourLetterWords lists every four-letter word corral knows, in the order
// ZooKeeper documents them.
var AllFourLetterWords = []string{
	"ruok", "srvr", "stat", "mntr", "conf", "isro", "dirs", "envi",
	"cons", "wchs", "wchc", "wchp", "crst", "srst", "dump", "gtmk", "stmk",
}

// DefaultFourLetterWords are the cheap, read-only words enabled by default.
var DefaultFourLetterWords = []string{"ruok", "srvr", "stat", "mntr", "conf", "isro", "dirs", "envi"}

// Default returns the configuration used when nothing is set.
func Default() Server {
	return Server{
		ClientAddr:             DefaultClientAddr,
		DataDir:                DefaultDataDir,
		TickTime:               DefaultTickTime,
		MinSessionTimeout:      2 * DefaultTickTime,
		MaxSessionTimeout:      20 * DefaultTickTime,
		MaxClientCnxns:         DefaultMaxClientCnxns,
		MaxConnections:         DefaultMaxConnections,
		MaxBuffer:              DefaultMaxBuffer,
		MaxOutstanding:         DefaultMaxOutstanding,
		MaxSendQueueBytes:      DefaultMaxSendQueueBytes,
		MaxInflightBytes:       DefaultMaxInflightBytes,
		MinFreeDisk:            64 << 20,
		AdminAddr:              "127.0.0.1:7181",
		ContainerCheckInterval: DefaultContainerCheckInterval,
		ReadOnlyMode:           true,
		ReconfigEnabled:        true,
		ContainerMaxPerMinute:  DefaultContainerMaxPerMinute,
		FourLetterWords:        slices.Clone(DefaultFourLetterWords),
		SnapshotCount:          DefaultSnapshotCount,
		SnapshotRetain:         DefaultSnapshotRetain,
		SteadySysmon:           true,
		LogLevel:               DefaultLogLevel,
		LogFormat:              DefaultLogFormat,
		ID:                     DefaultID,
	}
}

// FourLetterWordEnabled reports whether the four-letter word w may be executed.
func (c Server) FourLetterWordEnabled(w string) bool {
	return slices.Contains(c.FourLetterWords, "*") || slices.Contains(c.FourLetterWords, w)
}

// Peer is one member named in Server.Peers.
type Peer struct {
	ID   uint64
	Addr string // host:port of the member's peer listener
}

// ParsePeers parses "1=host:port,2=host:port". Blank input gives no peers.
// Ids must be 1..254 and unique; addresses must be host:port.
func ParsePeers(s string) ([]Peer, error) {
	var peers []Peer
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	seen := map[uint64]bool{}
	for item := range strings.SplitSeq(s, ",") {
		item = strings.TrimSpace(item)
		idStr, addr, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("peer %q: want id=host:port", item)
		}
		id, err := strconv.ParseUint(strings.TrimSpace(idStr), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("peer %q: id %q is not a number", item, idStr)
		}
		if id == 0 || id > MaxID {
			return nil, fmt.Errorf("peer %q: id %d out of range 1..%d", item, id, MaxID)
		}
		if seen[id] {
			return nil, fmt.Errorf("peer %q: id %d listed twice", item, id)
		}
		seen[id] = true
		addr = strings.TrimSpace(addr)
		if err := checkHostPort(addr, false); err != nil {
			return nil, fmt.Errorf("peer %q: %v", item, err)
		}
		peers = append(peers, Peer{ID: id, Addr: addr})
	}
	return peers, nil
}

// checkHostPort checks a host:port address; the host may be empty (all
// interfaces) and the port may be 0 (any free port) unless strict.
func checkHostPort(addr string, allowZero bool) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 || (n == 0 && !allowZero) {
		return fmt.Errorf("%q: bad port %q", addr, port)
	}
	return nil
}

// Validate reports every invalid setting, each naming the flag (and the
// zoo.cfg key where there is one) and the offending value.
func (c Server) Validate() error {
	var errs []error
	bad := func(flag, zk string, value any, why string) {
		name := "--" + flag
		if zk != "" {
			name += " (" + zk + ")"
		}
		errs = append(errs, fmt.Errorf("config: %s = %v: %s", name, value, why))
	}
	if err := checkHostPort(c.ClientAddr, true); err != nil {
		bad("client-addr", "clientPortAddress:clientPort", strconv.Quote(c.ClientAddr), "want host:port with a port 0..65535")
	}
	if c.DataDir == "" {
		bad("data-dir", "dataDir", `""`, "must not be empty")
	}
	if c.TickTime <= 0 {
		bad("tick-time", "tickTime", c.TickTime, "must be positive")
	}
	if c.MinSessionTimeout <= 0 {
		bad("min-session-timeout", "minSessionTimeout", c.MinSessionTimeout, "must be positive")
	}
	if c.MaxSessionTimeout <= 0 {
		bad("max-session-timeout", "maxSessionTimeout", c.MaxSessionTimeout, "must be positive")
	}
	if c.MinSessionTimeout > 0 && c.MaxSessionTimeout > 0 && c.MinSessionTimeout > c.MaxSessionTimeout {
		bad("min-session-timeout", "minSessionTimeout", c.MinSessionTimeout,
			fmt.Sprintf("must not exceed --max-session-timeout %v", c.MaxSessionTimeout))
	}
	if c.MaxClientCnxns < 0 {
		bad("max-client-cnxns", "maxClientCnxns", c.MaxClientCnxns, "must be >= 0 (0 = unlimited)")
	}
	if c.MaxConnections < 0 {
		bad("max-connections", "maxCnxns", c.MaxConnections, "must be >= 0 (0 = unlimited)")
	}
	if c.MaxBuffer < MinMaxBuffer || c.MaxBuffer > MaxMaxBuffer {
		bad("max-buffer", "jute.maxbuffer", c.MaxBuffer, fmt.Sprintf("must be between %d and %d bytes", MinMaxBuffer, MaxMaxBuffer))
	}
	if c.MaxOutstanding <= 0 {
		bad("max-outstanding", "", c.MaxOutstanding, "must be positive")
	}
	if c.MaxSendQueueBytes < c.MaxBuffer {
		bad("max-send-queue", "", c.MaxSendQueueBytes, fmt.Sprintf("must be at least --max-buffer (%d) so one full reply fits", c.MaxBuffer))
	}
	if c.MaxInflightBytes < c.MaxBuffer {
		bad("max-inflight-bytes", "", c.MaxInflightBytes, fmt.Sprintf("must be at least --max-buffer (%d) so one full request fits", c.MaxBuffer))
	}
	if c.ContainerCheckInterval <= 0 {
		bad("container-check-interval", "znode.container.checkIntervalMs", c.ContainerCheckInterval, "must be positive")
	}
	if c.ContainerMaxPerMinute <= 0 {
		bad("container-max-per-minute", "znode.container.maxPerMinute", c.ContainerMaxPerMinute, "must be positive")
	}
	if c.ContainerMaxNeverUsed < 0 {
		bad("container-max-never-used", "znode.container.maxNeverUsedIntervalMs", c.ContainerMaxNeverUsed, "must be >= 0 (0 = never)")
	}
	for _, w := range c.FourLetterWords {
		if w != "*" && !slices.Contains(AllFourLetterWords, w) {
			bad("4lw", "4lw.commands.whitelist", strconv.Quote(w),
				"unknown four-letter word (known: "+strings.Join(AllFourLetterWords, " ")+", or *)")
		}
	}
	if c.SuperDigest != "" {
		if err := checkDigestID(c.SuperDigest); err != nil {
			bad("super-digest", "DigestAuthenticationProvider.superDigest", strconv.Quote(c.SuperDigest), err.Error())
		}
	}
	if c.SnapshotCount == 0 {
		bad("snapshot-count", "snapCount", c.SnapshotCount, "must be positive")
	}
	if c.SnapshotRetain < MinSnapshotRetain {
		bad("snapshot-retain", "autopurge.snapRetainCount", c.SnapshotRetain, fmt.Sprintf("must be at least %d", MinSnapshotRetain))
	}
	if c.AdminAddr != "" {
		if err := checkHostPort(c.AdminAddr, true); err != nil {
			bad("admin-addr", "admin.serverAddress:admin.serverPort", strconv.Quote(c.AdminAddr), `want host:port, or "" to disable`)
		}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log-level", "", strconv.Quote(c.LogLevel), "want debug, info, warn or error")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log-format", "", strconv.Quote(c.LogFormat), "want text or json")
	}
	if c.ID == 0 || c.ID > MaxID {
		bad("id", "", c.ID, fmt.Sprintf("must be between 1 and %d", MaxID))
	}
	if c.PeerAddr != "" {
		if err := checkHostPort(c.PeerAddr, true); err != nil {
			bad("peer-addr", "", strconv.Quote(c.PeerAddr), "want host:port")
		}
	}
	if _, err := ParseIDs(c.Observers); err != nil {
		bad("observers", "server.N=…:observer", strconv.Quote(c.Observers), err.Error())
	}
	if _, err := ParsePeers(c.Peers); err != nil {
		bad("peers", "server.N", strconv.Quote(c.Peers), err.Error())
	}
	return errors.Join(errs...)
}

// Dump renders the configuration as the `conf` four-letter word prints it:
// key=value lines, each ending in "\n". The first lines are ZooKeeper 3.8's
// standalone `conf` output, with the same keys in the same order
// (clientPort, secureClientPort, dataDir, dataDirSize, dataLogDir,
// dataLogSize, tickTime, maxClientCnxns, minSessionTimeout,
// maxSessionTimeout, clientPortListenBacklog, serverId); corral keeps its log
// in dataDir, so dataLogDir repeats it. The caller supplies the directory
// sizes in bytes (ZooKeeper: snapshot directory and transaction log
// directory). Corral's further settings follow under their zoo.cfg names, and
// one server.N=host:port line per peer.
func (c Server) Dump(dataDirSize, dataLogSize int64) string {
	var b strings.Builder
	kv := func(k string, v any) { fmt.Fprintf(&b, "%s=%v\n", k, v) }
	host, port, err := net.SplitHostPort(c.ClientAddr)
	if err != nil {
		port = "-1"
	}
	kv("clientPort", port)
	kv("secureClientPort", -1)
	kv("dataDir", c.DataDir)
	kv("dataDirSize", dataDirSize)
	kv("dataLogDir", c.DataDir)
	kv("dataLogSize", dataLogSize)
	kv("tickTime", c.TickTime.Milliseconds())
	kv("maxClientCnxns", c.MaxClientCnxns)
	kv("minSessionTimeout", c.MinSessionTimeout.Milliseconds())
	kv("maxSessionTimeout", c.MaxSessionTimeout.Milliseconds())
	kv("clientPortListenBacklog", -1)
	kv("serverId", c.ID)
	// corral's additions.
	kv("clientPortAddress", host)
	kv("maxCnxns", c.MaxConnections)
	kv("jute.maxbuffer", c.MaxBuffer)
	kv("snapCount", c.SnapshotCount)
	kv("autopurge.snapRetainCount", c.SnapshotRetain)
	kv("4lw.commands.whitelist", strings.Join(c.FourLetterWords, ","))
	kv("znode.container.checkIntervalMs", c.ContainerCheckInterval.Milliseconds())
	kv("znode.container.maxPerMinute", c.ContainerMaxPerMinute)
	kv("znode.container.maxNeverUsedIntervalMs", c.ContainerMaxNeverUsed.Milliseconds())
	kv("maxOutstanding", c.MaxOutstanding)
	kv("maxSendQueueBytes", c.MaxSendQueueBytes)
	kv("maxInflightBytes", c.MaxInflightBytes)
	if peers, err := ParsePeers(c.Peers); err == nil {
		for _, p := range peers {
			kv("server."+strconv.FormatUint(p.ID, 10), p.Addr)
		}
	}
	return b.String()
}

// String renders every setting as flag-name=value lines, in the order the
// flags are registered; meant for the start-up log.
func (c Server) String() string {
	var b strings.Builder
	for _, s := range settings {
		fmt.Fprintf(&b, "%s=%s\n", s.name, s.get(&c))
	}
	return b.String()
}

// ParseIDs parses a comma-separated list of member ids ("4,5"). Blank input gives none.
func ParseIDs(s string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		n, err := strconv.ParseUint(f, 10, 64)
		if err != nil || n == 0 || n > MaxID {
			return nil, fmt.Errorf("bad member id %q (want 1..%d)", f, MaxID)
		}
		out = append(out, n)
	}
	return out, nil
}

// checkDigestID reports whether id has the form of a digest id,
// user:base64(sha1(user:password)), as `corral digest` prints it.
func checkDigestID(id string) error {
	user, hash, ok := strings.Cut(id, ":")
	if !ok || user == "" {
		return errors.New("want user:base64(sha1(user:password)), as `corral digest user:password` prints it")
	}
	if b, err := base64.StdEncoding.DecodeString(hash); err != nil || len(b) != sha1.Size {
		return errors.New("the part after the user is not a base64 SHA-1 digest; `corral digest user:password` prints the id")
	}
	return nil
}

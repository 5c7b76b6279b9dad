package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// ConfigFlag is the flag (and, as CORRAL_CONFIG, the environment variable)
// naming the optional zoo.cfg-style file.
const ConfigFlag = "config"

// setting is one configurable field: its flag name, how to print it and how
// to parse it. Flags and environment variables use the same syntax; the file
// parser translates zoo.cfg values into it.
type setting struct {
	name  string // flag name
	typ   string // shown in --help
	usage string
	get   func(*Server) string
	set   func(*Server, string) error
}

// EnvName returns the environment variable for a flag name:
// CORRAL_ followed by the name in upper snake case ("client-addr" → CORRAL_CLIENT_ADDR).
func EnvName(flag string) string {
	return "CORRAL_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func strSetting(name, usage string, f func(*Server) *string) setting {
	return setting{name: name, typ: "string", usage: usage,
		get: func(c *Server) string { return *f(c) },
		set: func(c *Server, v string) error { *f(c) = strings.TrimSpace(v); return nil }}
}

func boolSetting(name, usage string, f func(*Server) *bool) setting {
	return setting{name: name, typ: "bool", usage: usage,
		get: func(c *Server) string { return strconv.FormatBool(*f(c)) },
		set: func(c *Server, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid boolean %q for --%s", v, name)
			}
			*f(c) = b
			return nil
		}}
}

func addrSetting(name, usage string, f func(*Server) *string) setting {
	s := strSetting(name, usage, f)
	s.typ = "host:port"
	return s
}

func durSetting(name, usage string, f func(*Server) *time.Duration) setting {
	return setting{name: name, typ: "duration", usage: usage,
		get: func(c *Server) string { return f(c).String() },
		set: func(c *Server, v string) error {
			d, err := time.ParseDuration(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid duration %q for --%s (want e.g. 2s or 1500ms)", v, name)
			}
			*f(c) = d
			return nil
		}}
}

func intSetting(name, usage string, f func(*Server) *int) setting {
	return setting{name: name, typ: "int", usage: usage,
		get: func(c *Server) string { return strconv.Itoa(*f(c)) },
		set: func(c *Server, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid integer %q for --%s", v, name)
			}
			*f(c) = n
			return nil
		}}
}

// sizeSetting is an int of bytes that also accepts 0x hex and the suffixes
// K, KiB, M, MiB, G, GiB (all binary).
func sizeSetting(name, usage string, f func(*Server) *int) setting {
	return setting{name: name, typ: "bytes", usage: usage,
		get: func(c *Server) string { return strconv.Itoa(*f(c)) },
		set: func(c *Server, v string) error {
			n, err := parseSize(v)
			if err != nil {
				return fmt.Errorf("invalid size %q for --%s (want bytes, 0x hex, or a K/KiB/M/MiB/G/GiB suffix)", v, name)
			}
			*f(c) = n
			return nil
		}}
}

func parseSize(v string) (int, error) {
	v = strings.TrimSpace(v)
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}} {
		if rest, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	var n int64
	var err error
	if h, ok := strings.CutPrefix(strings.ToLower(v), "0x"); ok {
		n, err = strconv.ParseInt(h, 16, 64)
	} else {
		n, err = strconv.ParseInt(v, 10, 64)
	}
	if err != nil || n > (1<<62)/int64(mult) || n < -(1<<62)/int64(mult) {
		return 0, fmt.Errorf("invalid size %q", v)
	}
	return int(n) * mult, nil
}

// parseWords splits a four-letter-word list on commas and blanks, lower-cases
// and de-duplicates it.
func parseWords(v string) []string {
	words := []string{}
	for w := range strings.FieldsFuncSeq(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		w = strings.ToLower(w)
		if !slices.Contains(words, w) {
			words = append(words, w)
		}
	}
	return words
}

// settings lists every field in flag order.
var settings = []setting{
	addrSetting("client-addr", "host:port clients connect to (zoo.cfg clientPortAddress, clientPort)",
		func(c *Server) *string { return &c.ClientAddr }),
	strSetting("data-dir", "directory for the write-ahead log and snapshots (zoo.cfg dataDir)",
		func(c *Server) *string { return &c.DataDir }),
	durSetting("tick-time", "basic time unit; session timeout bounds default to multiples of it (zoo.cfg tickTime)",
		func(c *Server) *time.Duration { return &c.TickTime }),
	durSetting("min-session-timeout", "smallest session timeout granted; if unset 2 × --tick-time (zoo.cfg minSessionTimeout)",
		func(c *Server) *time.Duration { return &c.MinSessionTimeout }),
	durSetting("max-session-timeout", "largest session timeout granted; if unset 20 × --tick-time (zoo.cfg maxSessionTimeout)",
		func(c *Server) *time.Duration { return &c.MaxSessionTimeout }),
	intSetting("max-client-cnxns", "concurrent connections allowed from one IP address, 0 = unlimited (zoo.cfg maxClientCnxns)",
		func(c *Server) *int { return &c.MaxClientCnxns }),
	intSetting("max-connections", "concurrent client connections allowed in total, 0 = unlimited (zoo.cfg maxCnxns)",
		func(c *Server) *int { return &c.MaxConnections }),
	sizeSetting("max-buffer", "largest request or response frame in bytes (jute.maxbuffer)",
		func(c *Server) *int { return &c.MaxBuffer }),
	intSetting("max-outstanding", "requests in flight per connection before its socket stops being read",
		func(c *Server) *int { return &c.MaxOutstanding }),
	sizeSetting("max-send-queue", "unsent reply and event bytes per connection before it is disconnected",
		func(c *Server) *int { return &c.MaxSendQueueBytes }),
	sizeSetting("max-inflight-bytes", "bytes of requests read and not yet answered, across all connections, before sockets stop being read",
		func(c *Server) *int { return &c.MaxInflightBytes }),
	sizeSetting("min-free-disk", "free space on the data dir's disk below which writes are refused (QUOTAEXCEEDED) rather than filling it; 0 = off",
		func(c *Server) *int { return &c.MinFreeDisk }),
	durSetting("container-check-interval", "how often empty containers and expired TTL nodes are reaped (znode.container.checkIntervalMs)",
		func(c *Server) *time.Duration { return &c.ContainerCheckInterval }),
	intSetting("container-max-per-minute", "most containers deleted per minute (znode.container.maxPerMinute)",
		func(c *Server) *int { return &c.ContainerMaxPerMinute }),
	durSetting("container-max-never-used", "delete containers that never had a child after this long, 0 = never (znode.container.maxNeverUsedIntervalMs)",
		func(c *Server) *time.Duration { return &c.ContainerMaxNeverUsed }),
	{name: "4lw", typ: "words",
		usage: "enabled four-letter words, comma-separated, * = all; known: " + strings.Join(AllFourLetterWords, ",") + " (zoo.cfg 4lw.commands.whitelist)",
		get:   func(c *Server) string { return strings.Join(c.FourLetterWords, ",") },
		set:   func(c *Server, v string) error { c.FourLetterWords = parseWords(v); return nil }},
	{name: "snapshot-count", typ: "uint",
		usage: "log entries between snapshots (zoo.cfg snapCount)",
		get:   func(c *Server) string { return strconv.FormatUint(c.SnapshotCount, 10) },
		set: func(c *Server, v string) error {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("invalid unsigned integer %q for --snapshot-count", v)
			}
			c.SnapshotCount = n
			return nil
		}},
	intSetting("snapshot-retain", "snapshots kept on disk, at least 3 (zoo.cfg autopurge.snapRetainCount)",
		func(c *Server) *int { return &c.SnapshotRetain }),
	addrSetting("admin-addr", `host:port of the HTTP admin and metrics server, "" = disabled (zoo.cfg admin.serverAddress, admin.serverPort)`,
		func(c *Server) *string { return &c.AdminAddr }),
	strSetting("log-level", "log level: debug, info, warn or error",
		func(c *Server) *string { return &c.LogLevel }),
	strSetting("log-format", "log format: text or json",
		func(c *Server) *string { return &c.LogFormat }),
	{name: "id", typ: "uint",
		usage: "this member's id, 1..254 (default: the number in DATA_DIR/myid, as ZooKeeper reads it, else 1)",
		get:   func(c *Server) string { return strconv.FormatUint(c.ID, 10) },
		set: func(c *Server, v string) error {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("invalid unsigned integer %q for --id", v)
			}
			c.ID = n
			return nil
		}},
	addrSetting("peer-addr", "host:port this member listens on for its peers (cluster mode)",
		func(c *Server) *string { return &c.PeerAddr }),
	strSetting("peers", `members as "1=host:port,2=host:port" (zoo.cfg server.N lines)`,
		func(c *Server) *string { return &c.Peers }),
	strSetting("observers", `ids among --peers that are observers (non-voting), e.g. "4,5" (zoo.cfg server.N=…:observer)`,
		func(c *Server) *string { return &c.Observers }),
	strSetting("cluster-id", "name of the cluster; peers of another cluster are refused",
		func(c *Server) *string { return &c.ClusterID }),
	boolSetting("read-only-mode", "serve reads to read-only clients while cut off from the quorum (zoo.cfg readonlymode.enabled)",
		func(c *Server) *bool { return &c.ReadOnlyMode }),
	boolSetting("reconfig-enabled", "accept membership changes through ZooKeeper's reconfig request (zoo.cfg reconfigEnabled; on by default, unlike ZooKeeper; once --super-digest is set, only from clients with WRITE on /zookeeper/config)",
		func(c *Server) *bool { return &c.ReconfigEnabled }),
	boolSetting("hold-sysmon", "keep the Go runtime's monitor thread from polling every 20 µs after each idle spell, by holding one more scheduler slot with a thread asleep in the kernel while the process is not busy (less CPU at low load in some VMs where context switches are costly; off by default: on a host with more runnable threads than cores, each garbage collection can then stall the process for up to seconds)",
		func(c *Server) *bool { return &c.HoldSysmon }),
	boolSetting("steady-sysmon", "keep the Go runtime's monitor thread from polling every 20 µs after each idle spell, by running with GODEBUG=schedtrace at its longest period (the server re-executes itself once at start to set it; a GODEBUG that sets schedtrace stands): fewer context switches and less CPU per request under load",
		func(c *Server) *bool { return &c.SteadySysmon }),
	strSetting("super-digest", "the super user's digest id, user:base64(sha1(user:password)) as `corral digest` prints it (ZooKeeper's DigestAuthenticationProvider.superDigest): that user, once authenticated, passes every ACL check, and reconfig is reserved to it",
		func(c *Server) *string { return &c.SuperDigest }),
	boolSetting("force-new-cluster", "recover from a lost quorum: start this member alone as a one-member cluster from all the data it has (add members back with reconfig)",
		func(c *Server) *bool { return &c.ForceNewCluster }),
	boolSetting("join", "start a new member that joins a running cluster (add it with reconfig first): wait for the leader's state instead of bootstrapping",
		func(c *Server) *bool { return &c.Join }),
}

func lookupSetting(name string) *setting {
	for i := range settings {
		if settings[i].name == name {
			return &settings[i]
		}
	}
	return nil
}

// flagValue adapts a setting to pflag.Value, parsing into the Server given
// to Bind so that syntax errors surface at fs.Parse.
type flagValue struct {
	s   *setting
	cfg *Server
}

func (v *flagValue) String() string {
	if v == nil || v.cfg == nil {
		return ""
	}
	return v.s.get(v.cfg)
}
func (v *flagValue) Set(s string) error { return v.s.set(v.cfg, s) }
func (v *flagValue) Type() string       { return v.s.typ }

// Bind registers --config and one flag per Server field on fs. Defaults
// shown in --help come from cfg (normally Default()); parsing a flag also
// stores its value in *cfg, but the configuration to use is the one Load
// returns, which layers the file and the environment under the flags.
func Bind(fs *pflag.FlagSet, cfg *Server) {
	fs.String(ConfigFlag, "", "zoo.cfg-style file (key=value lines) read before environment variables and flags")
	for i := range settings {
		s := &settings[i]
		fs.Var(&flagValue{s: s, cfg: cfg}, s.name, s.usage+"; env "+EnvName(s.name))
		if s.typ == "bool" {
			fs.Lookup(s.name).NoOptDefVal = "true" // --join alone means --join=true
		}
	}
}

// Load builds the configuration, call it after fs.Parse. It starts from
// Default(), then applies the file named by --config (or CORRAL_CONFIG), then
// the CORRAL_* environment variables found by env (os.LookupEnv in
// production), then the flags set explicitly on fs. Unset session timeout
// bounds are derived from the final tick time. Warnings (unknown or
// ineffective zoo.cfg keys, …) are returned, not errors; Load does not call
// Validate.
func Load(fs *pflag.FlagSet, env func(string) (string, bool)) (Server, []string, error) {
	if env == nil {
		env = func(string) (string, bool) { return "", false }
	}
	cfg := Default()
	explicit := map[string]bool{}
	apply := func(name, value, origin string) error {
		s := lookupSetting(name)
		if s == nil {
			return fmt.Errorf("%s: internal error: no setting %q", origin, name)
		}
		if err := s.set(&cfg, value); err != nil {
			return fmt.Errorf("%s: %w", origin, err)
		}
		explicit[name] = true
		return nil
	}

	var warnings []string
	path, havePath := "", false
	if f := fs.Lookup(ConfigFlag); f != nil && f.Changed {
		path, havePath = f.Value.String(), true
	} else if v, ok := env(EnvName(ConfigFlag)); ok && v != "" {
		path, havePath = v, true
	}
	if havePath {
		data, err := os.ReadFile(path)
		if err != nil {
			return Server{}, nil, fmt.Errorf("config file: %w", err)
		}
		pairs, warns, err := parseZooCfg(path, string(data))
		if err != nil {
			return Server{}, nil, err
		}
		warnings = append(warnings, warns...)
		for _, p := range pairs {
			if err := apply(p.name, p.value, p.origin); err != nil {
				return Server{}, nil, err
			}
		}
	}

	for _, s := range settings {
		if v, ok := env(EnvName(s.name)); ok {
			if err := apply(s.name, v, "environment "+EnvName(s.name)); err != nil {
				return Server{}, nil, err
			}
		}
	}

	for _, s := range settings {
		if f := fs.Lookup(s.name); f != nil && f.Changed {
			if err := apply(s.name, f.Value.String(), "flag --"+s.name); err != nil {
				return Server{}, nil, err
			}
		}
	}

	warns, err := applyMyID(&cfg, explicit["id"])
	if err != nil {
		return Server{}, nil, err
	}
	warnings = append(warnings, warns...)

	if !explicit["min-session-timeout"] {
		cfg.MinSessionTimeout = 2 * cfg.TickTime
	}
	if !explicit["max-session-timeout"] {
		cfg.MaxSessionTimeout = 20 * cfg.TickTime
	}
	return cfg, warnings, nil
}

// applyMyID reads ZooKeeper's myid file in the data dir, as ZooKeeper does: its
// number is this member's id unless --id (or CORRAL_ID, or the file given to
// --config) set one, and an id set both ways must agree. A myid that holds no
// number (Debian ships one that asks to be replaced) is an error only when it
// would decide the id of a cluster member; otherwise it is ignored with a warning.
func applyMyID(cfg *Server, explicitID bool) ([]string, error) {
	if cfg.DataDir == "" {
		return nil, nil
	}
	path := filepath.Join(cfg.DataDir, "myid")
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		if !explicitID && cfg.Peers != "" {
			return []string{"cluster members are configured but neither --id nor " + path + " sets this member's id: it takes id 1"}, nil
		}
		return nil, nil
	}
	var id uint64
	if err == nil {
		id, err = strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
		if err == nil && (id < 1 || id > 254) {
			err = fmt.Errorf("id %d out of range 1..254", id)
		}
	}
	switch {
	case err != nil && !explicitID && cfg.Peers != "":
		return nil, fmt.Errorf("%s: %v; this member's id cannot be known: fix the file or pass --id", path, err)
	case err != nil:
		return []string{fmt.Sprintf("%s ignored: %v", path, err)}, nil
	case explicitID && id != cfg.ID:
		return nil, fmt.Errorf("--id %d disagrees with %s, which says %d", cfg.ID, path, id)
	}
	cfg.ID = id
	return nil, nil
}

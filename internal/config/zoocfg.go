package config

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
)

// pair is one setting found in a file, already in flag syntax.
type pair struct {
	name, value string
	origin      string // "file:line" for error messages
}

// noEffect lists zoo.cfg keys ZooKeeper has that corral accepts and ignores,
// with the reason given in the warning.
var noEffect = map[string]string{
	"initLimit":                               "raft needs no initial sync limit",
	"syncLimit":                               "raft's election timeout governs follower liveness",
	"autopurge.purgeInterval":                 "corral always removes old snapshots and log segments, keeping autopurge.snapRetainCount",
	"electionAlg":                             "corral elects leaders with raft",
	"electionPortBindRetry":                   "corral elects leaders with raft",
	"quorumListenOnAllIPs":                    "use --peer-addr",
	"standaloneEnabled":                       "a single member is a one-member raft group",
	"dynamicConfigFile":                       "membership lives in the raft log; list members with server.N or --peers",
	"peerType":                                "observers are not supported yet",
	"syncEnabled":                             "raft's own log replication is used",
	"localSessionsEnabled":                    "all sessions are global",
	"localSessionsUpgradingEnabled":           "all sessions are global",
	"globalOutstandingLimit":                  "corral limits outstanding requests per connection (--max-outstanding)",
	"preAllocSize":                            "the write-ahead log manages its own segments",
	"snapSizeLimitInKb":                       "snapshots are taken every --snapshot-count entries",
	"txnLogSizeLimitInKb":                     "the write-ahead log manages its own segments",
	"leaderServes":                            "every member serves clients",
	"cnxTimeout":                              "peer connections are managed by the raft transport",
	"connectToLearnerMasterLimit":             "raft needs no learner sync limit",
	"forceSync":                               "corral always fsyncs before acknowledging a write",
	"fsync.warningthresholdms":                "fsync latency is exported as a metric",
	"clientPortListenBacklog":                 "the operating system default backlog is used",
	"maxResponseCacheSize":                    "no response cache",
	"maxGetChildrenResponseCacheSize":         "no response cache",
	"serverCnxnFactory":                       "corral has one network implementation",
	"extendedTypesEnabled":                    "TTL nodes are always available",
	"emulate353TTLNodes":                      "TTL nodes are always available",
	"multiAddress.enabled":                    "one address per member",
	"multiAddress.reachabilityCheckEnabled":   "one address per member",
	"multiAddress.reachabilityCheckTimeoutMs": "one address per member",
	"secureClientPort":                        "TLS is not supported yet: no TLS listener is opened",
	"secureClientPortAddress":                 "TLS is not supported yet: no TLS listener is opened",
	"sslQuorum":                               "TLS is not supported yet: peer traffic is NOT encrypted",
	"portUnification":                         "TLS is not supported yet",
	"skipACL":                                 "ACLs are always enforced",
	"audit.enable":                            "no audit log yet",
	"admin.commandURL":                        "the admin API has fixed paths",
	"admin.idleTimeout":                       "the admin server has fixed timeouts",
	"admin.portUnification":                   "TLS is not supported yet",
	"admin.forceHttps":                        "TLS is not supported yet",
	"4lw.commands.enabled":                    "use 4lw.commands.whitelist (or --4lw) to choose words",
	"jvm.pause.warn-threshold-ms":             "not a JVM",
	"jvm.pause.info-threshold-ms":             "not a JVM",
	"jvm.pause.sleep-time-ms":                 "not a JVM",
	"enforceQuota":                            "quotas are not enforced yet",
}

// noEffectPrefixes lists families of ZooKeeper keys that corral ignores;
// the first matching prefix gives the reason.
var noEffectPrefixes = []struct{ prefix, why string }{
	{"metricsProvider.", "Prometheus metrics are served on the admin address (/metrics)"},
	{"ssl.quorum.", "TLS is not supported yet: peer traffic is NOT encrypted"},
	{"ssl.", "TLS is not supported yet: connections are NOT encrypted"},
	{"quorum.auth.", "peer authentication is not supported yet"},
	{"quorum.cnxn.", "peer connections are managed by the raft transport"},
	{"authProvider.", "authentication providers are not pluggable; digest auth is built in"},
	{"kerberos.", "Kerberos is not supported"},
	{"group.", "hierarchical quorums are not supported; raft uses a simple majority"},
	{"weight.", "hierarchical quorums are not supported; raft uses a simple majority"},
	{"audit.", "no audit log yet"},
	{"snapshot.", "corral's snapshots have their own format and settings"},
	{"digest.", "corral checks its own state digest"},
	{"learner.", "raft needs no learner settings"},
	{"leader.", "raft needs no leader settings"},
	{"follower.", "raft needs no follower settings"},
}

// stripZK removes a "zookeeper." prefix: ZooKeeper turns unknown zoo.cfg keys
// into system properties named zookeeper.<key>, so both spellings occur.
func stripZK(key string) string {
	if rest, ok := strings.CutPrefix(key, "zookeeper."); ok && rest != "" {
		return rest
	}
	return key
}

// parseZooCfg reads zoo.cfg syntax: key=value lines, values trimmed, blank
// lines and lines starting with # or ! ignored. Settings come back in flag
// syntax; malformed lines and values are errors naming file and line.
func parseZooCfg(file, text string) ([]pair, []string, error) {
	var (
		pairs     []pair
		warnings  []string
		seen      = map[string]int{}
		observers []string

		clientHost, clientPort string
		clientLine             int
		adminHost, adminPort   string
		adminEnable            string
		adminSet               bool
		adminLine              int
		peers                  = map[uint64]string{}
		peerLine               int
	)
	warn := func(line int, format string, args ...any) {
		warnings = append(warnings, fmt.Sprintf("%s:%d: ", file, line)+fmt.Sprintf(format, args...))
	}
	for i, raw := range strings.Split(text, "\n") {
		line := i + 1
		s := strings.TrimSpace(strings.TrimSuffix(raw, "\r"))
		if s == "" || s[0] == '#' || s[0] == '!' {
			continue
		}
		k, v, ok := strings.Cut(s, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, nil, fmt.Errorf("%s:%d: malformed line %q: want key=value", file, line, s)
		}
		if prev, dup := seen[k]; dup {
			warn(line, "%s set again (first on line %d); the last value wins", k, prev)
		}
		seen[k] = line
		origin := fmt.Sprintf("%s:%d", file, line)
		fail := func(format string, args ...any) error {
			return fmt.Errorf("%s: %s=%q: %s", origin, k, v, fmt.Sprintf(format, args...))
		}
		emit := func(name, value string) { pairs = append(pairs, pair{name, value, origin}) }
		millis := func(name string) error {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fail("not an integer number of milliseconds")
			}
			emit(name, strconv.FormatInt(n, 10)+"ms")
			return nil
		}
		integer := func(name string) error {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				return fail("not an integer")
			}
			emit(name, v)
			return nil
		}

		key := stripZK(k)
		var err error
		switch {
		case key == "clientPort":
			if n, perr := strconv.Atoi(v); perr != nil || n < 0 || n > 65535 {
				err = fail("not a port number")
			}
			clientPort, clientLine = v, line
		case key == "clientPortAddress":
			if strings.HasPrefix(v, "[") && strings.HasSuffix(v, "]") {
				v = v[1 : len(v)-1]
			}
			clientHost, clientLine = v, line
		case key == "dataDir":
			emit("data-dir", v)
		case key == "dataLogDir":
			warn(line, "dataLogDir=%s has no effect: corral keeps its write-ahead log in dataDir", v)
		case key == "tickTime":
			err = millis("tick-time")
		case key == "minSessionTimeout", key == "maxSessionTimeout":
			name := map[string]string{"minSessionTimeout": "min-session-timeout", "maxSessionTimeout": "max-session-timeout"}[key]
			if v != "-1" { // -1: ZooKeeper's "derive from tickTime"
				err = millis(name)
			}
		case key == "maxClientCnxns":
			err = integer("max-client-cnxns")
		case key == "maxCnxns":
			err = integer("max-connections")
		case key == "jute.maxbuffer":
			if _, perr := parseSize(v); perr != nil {
				err = fail("not a size in bytes")
			} else {
				emit("max-buffer", v)
			}
		case key == "reconfigEnabled":
			if _, perr := strconv.ParseBool(v); perr != nil {
				err = fail("not true or false")
			} else {
				emit("reconfig-enabled", v)
			}
		case key == "DigestAuthenticationProvider.superDigest":
			// ZooKeeper takes it as a system property (-Dzookeeper.…), which
			// zoo.cfg sets for keys it does not know.
			if cerr := checkDigestID(v); cerr != nil {
				err = fail("%s", cerr)
			} else {
				emit("super-digest", v)
			}
		case key == "readonlymode.enabled":
			if _, perr := strconv.ParseBool(v); perr != nil {
				err = fail("not true or false")
			} else {
				emit("read-only-mode", v)
			}
		case key == "snapCount":
			if _, perr := strconv.ParseUint(v, 10, 64); perr != nil {
				err = fail("not a positive integer")
			} else {
				emit("snapshot-count", v)
			}
		case key == "autopurge.snapRetainCount":
			n, perr := strconv.Atoi(v)
			if perr != nil {
				err = fail("not an integer")
				break
			}
			if n < MinSnapshotRetain {
				warn(line, "autopurge.snapRetainCount=%d raised to the minimum %d, as ZooKeeper does", n, MinSnapshotRetain)
				n = MinSnapshotRetain
			}
			emit("snapshot-retain", strconv.Itoa(n))
		case key == "4lw.commands.whitelist":
			emit("4lw", v)
		case key == "znode.container.checkIntervalMs":
			err = millis("container-check-interval")
		case key == "znode.container.maxPerMinute":
			err = integer("container-max-per-minute")
		case key == "znode.container.maxNeverUsedIntervalMs":
			err = millis("container-max-never-used")
		case key == "admin.enableServer":
			b, perr := strconv.ParseBool(v)
			if perr != nil {
				err = fail("not true or false")
				break
			}
			adminEnable, adminSet, adminLine = strconv.FormatBool(b), true, line
		case key == "admin.serverPort":
			if n, perr := strconv.Atoi(v); perr != nil || n < 0 || n > 65535 {
				err = fail("not a port number")
			}
			adminPort, adminSet, adminLine = v, true, line
		case key == "admin.serverAddress":
			adminHost, adminSet, adminLine = v, true, line
		case strings.HasPrefix(key, "server."):
			id, addr, observer, perr := parseServerLine(strings.TrimPrefix(key, "server."), v, func(f string, a ...any) { warn(line, f, a...) })
			if perr == nil && observer {
				observers = append(observers, strconv.FormatUint(id, 10))
			}
			if perr != nil {
				err = fmt.Errorf("%s: %s=%q: %v", origin, k, v, perr)
				break
			}
			if _, dup := peers[id]; dup {
				err = fail("server.%d listed twice", id)
				break
			}
			peers[id], peerLine = addr, line
		default:
			if why, ok := noEffect[key]; ok {
				warn(line, "%s accepted, no effect: %s", k, why)
				break
			}
			known := false
			for _, p := range noEffectPrefixes {
				if strings.HasPrefix(key, p.prefix) {
					warn(line, "%s accepted, no effect: %s", k, p.why)
					known = true
					break
				}
			}
			if !known {
				warn(line, "unknown key %s ignored", k)
			}
		}
		if err != nil {
			return nil, nil, err
		}
	}

	if clientLine > 0 {
		host, port := "0.0.0.0", "2181"
		if clientHost != "" {
			host = clientHost
		}
		if clientPort != "" {
			port = clientPort
		}
		pairs = append(pairs, pair{"client-addr", net.JoinHostPort(host, port), fmt.Sprintf("%s:%d", file, clientLine)})
	}
	if adminSet {
		addr := ""
		if adminEnable != "false" {
			host, port := "0.0.0.0", "8080" // ZooKeeper's AdminServer defaults
			if adminHost != "" {
				host = adminHost
			}
			if adminPort != "" {
				port = adminPort
			}
			addr = net.JoinHostPort(host, port)
		}
		pairs = append(pairs, pair{"admin-addr", addr, fmt.Sprintf("%s:%d", file, adminLine)})
	}
	if len(peers) > 0 {
		ids := make([]uint64, 0, len(peers))
		for id := range peers {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		items := make([]string, len(ids))
		for i, id := range ids {
			items[i] = strconv.FormatUint(id, 10) + "=" + peers[id]
		}
		pairs = append(pairs, pair{"peers", strings.Join(items, ","), fmt.Sprintf("%s:%d", file, peerLine)})
		if len(observers) > 0 {
			pairs = append(pairs, pair{"observers", strings.Join(observers, ","), fmt.Sprintf("%s:%d", file, peerLine)})
		}
	}
	return pairs, warnings, nil
}

// parseServerLine parses the N and the value of a
// server.N=host:peerPort[:electionPort][:role][;clientAddr] line and returns
// the id and host:peerPort. The election port and client address are
// ignored; of several |-separated addresses the first is used.
func parseServerLine(n, v string, warn func(string, ...any)) (id uint64, addr string, observer bool, err error) {
	id, err = strconv.ParseUint(n, 10, 64)
	if err != nil {
		return 0, "", false, fmt.Errorf("server id %q is not a number", n)
	}
	v, _, _ = strings.Cut(v, ";")
	v = strings.TrimSpace(v)
	if first, _, multi := strings.Cut(v, "|"); multi {
		warn("server.%d lists several addresses; corral uses only the first, %s", id, first)
		v = strings.TrimSpace(first)
	}
	var host string
	var rest []string
	if strings.HasPrefix(v, "[") {
		end := strings.Index(v, "]")
		if end < 0 || !strings.HasPrefix(v[end+1:], ":") {
			return 0, "", false, fmt.Errorf("want [ipv6]:peerPort[:electionPort][:role]")
		}
		host, rest = v[1:end], strings.Split(v[end+2:], ":")
	} else {
		parts := strings.Split(v, ":")
		host, rest = parts[0], parts[1:]
	}
	if host == "" || len(rest) == 0 {
		return 0, "", false, fmt.Errorf("want host:peerPort[:electionPort][:role]")
	}
	if last := rest[len(rest)-1]; last == "participant" || last == "observer" {
		if last == "observer" {
			observer = true
		}
		rest = rest[:len(rest)-1]
	}
	if len(rest) == 0 || len(rest) > 2 {
		return 0, "", false, fmt.Errorf("want host:peerPort[:electionPort][:role]")
	}
	for _, p := range rest {
		if n, err := strconv.Atoi(p); err != nil || n <= 0 || n > 65535 {
			return 0, "", false, fmt.Errorf("bad port %q", p)
		}
	}
	return id, net.JoinHostPort(host, rest[0]), observer, nil
}

package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func writeFile(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "zoo.cfg")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// load binds flags, parses args and loads.
func load(t *testing.T, args []string, env map[string]string) (Server, []string, error) {
	t.Helper()
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	d := Default()
	Bind(fs, &d)
	if err := fs.Parse(args); err != nil {
		return Server{}, nil, err
	}
	return Load(fs, mapEnv(env))
}

func TestDefault(t *testing.T) {
	c := Default()
	want := Server{
		ClientAddr: "0.0.0.0:2181", DataDir: "./corral-data", TickTime: 2 * time.Second,
		MinSessionTimeout: 4 * time.Second, MaxSessionTimeout: 40 * time.Second,
		MaxClientCnxns: 1000, MaxConnections: 10000, MaxBuffer: 0xfffff, MaxOutstanding: 1000,
		MaxSendQueueBytes: 16 << 20, MaxInflightBytes: 128 << 20, ContainerCheckInterval: 5 * time.Second, ContainerMaxPerMinute: 10000,
		FourLetterWords: []string{"ruok", "srvr", "stat", "mntr", "conf", "isro", "dirs", "envi"},
		SnapshotCount:   100000, SnapshotRetain: 3, LogLevel: "info", LogFormat: "text", ID: 1,
		ReadOnlyMode:    true,
		ReconfigEnabled: true,
		MinFreeDisk:     64 << 20,
		AdminAddr:       "127.0.0.1:7181",
		SteadySysmon:    true,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Default() =\n%+v\nwant\n%+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Default().Validate() = %v", err)
	}
	// Loading with nothing set gives the defaults.
	got, warns, err := load(t, nil, nil)
	if err != nil || len(warns) != 0 || !reflect.DeepEqual(got, want) {
		t.Fatalf("Load() = %+v, %v, %v", got, warns, err)
	}
	// Default() hands out a fresh slice.
	c.FourLetterWords[0] = "x"
	if Default().FourLetterWords[0] != "ruok" {
		t.Fatal("Default shares its FourLetterWords slice")
	}
	if !Default().FourLetterWordEnabled("mntr") || Default().FourLetterWordEnabled("dump") {
		t.Fatal("FourLetterWordEnabled wrong for defaults")
	}
	if !(Server{FourLetterWords: []string{"*"}}).FourLetterWordEnabled("dump") {
		t.Fatal("* does not enable all")
	}
}

func TestFileKeys(t *testing.T) {
	tests := []struct {
		name  string
		file  string
		check func(Server) bool
	}{
		{"clientPort", "clientPort=2281", func(c Server) bool { return c.ClientAddr == "0.0.0.0:2281" }},
		{"clientPortAddress", "clientPortAddress=127.0.0.1", func(c Server) bool { return c.ClientAddr == "127.0.0.1:2181" }},
		{"clientPort+Address", "clientPort = 3000 \nclientPortAddress= 10.0.0.1", func(c Server) bool { return c.ClientAddr == "10.0.0.1:3000" }},
		{"ipv6 address", "clientPort=1\nclientPortAddress=::1", func(c Server) bool { return c.ClientAddr == "[::1]:1" }},
		{"dataDir", "dataDir=/var/lib/zookeeper", func(c Server) bool { return c.DataDir == "/var/lib/zookeeper" }},
		{"tickTime derives timeouts", "tickTime=3000", func(c Server) bool {
			return c.TickTime == 3*time.Second && c.MinSessionTimeout == 6*time.Second && c.MaxSessionTimeout == 60*time.Second
		}},
		{"session timeouts", "minSessionTimeout=1000\nmaxSessionTimeout=90000", func(c Server) bool {
			return c.MinSessionTimeout == time.Second && c.MaxSessionTimeout == 90*time.Second
		}},
		{"session timeout -1", "tickTime=1000\nminSessionTimeout=-1\nmaxSessionTimeout=-1", func(c Server) bool {
			return c.MinSessionTimeout == 2*time.Second && c.MaxSessionTimeout == 20*time.Second
		}},
		{"maxClientCnxns", "maxClientCnxns=0", func(c Server) bool { return c.MaxClientCnxns == 0 }},
		{"maxCnxns", "maxCnxns=500", func(c Server) bool { return c.MaxConnections == 500 }},
		{"jute.maxbuffer", "jute.maxbuffer=4194304", func(c Server) bool { return c.MaxBuffer == 4<<20 }},
		{"zookeeper.jute.maxbuffer hex", "zookeeper.jute.maxbuffer=0x100000", func(c Server) bool { return c.MaxBuffer == 1<<20 }},
		{"snapCount", "snapCount=5000", func(c Server) bool { return c.SnapshotCount == 5000 }},
		{"zookeeper.snapCount", "zookeeper.snapCount=7", func(c Server) bool { return c.SnapshotCount == 7 }},
		{"snapRetainCount", "autopurge.snapRetainCount=10", func(c Server) bool { return c.SnapshotRetain == 10 }},
		{"snapRetainCount clamped", "autopurge.snapRetainCount=1", func(c Server) bool { return c.SnapshotRetain == 3 }},
		{"4lw whitelist", "4lw.commands.whitelist=stat, ruok,conf", func(c Server) bool {
			return reflect.DeepEqual(c.FourLetterWords, []string{"stat", "ruok", "conf"})
		}},
		{"4lw star", "4lw.commands.whitelist=*", func(c Server) bool { return reflect.DeepEqual(c.FourLetterWords, []string{"*"}) }},
		{"container interval", "znode.container.checkIntervalMs=1000", func(c Server) bool { return c.ContainerCheckInterval == time.Second }},
		{"container per minute", "znode.container.maxPerMinute=50", func(c Server) bool { return c.ContainerMaxPerMinute == 50 }},
		{"container never used", "znode.container.maxNeverUsedIntervalMs=30000", func(c Server) bool { return c.ContainerMaxNeverUsed == 30*time.Second }},
		{"admin port", "admin.serverPort=9090", func(c Server) bool { return c.AdminAddr == "0.0.0.0:9090" }},
		{"admin address+port", "admin.serverAddress=127.0.0.1\nadmin.serverPort=9090", func(c Server) bool { return c.AdminAddr == "127.0.0.1:9090" }},
		{"admin enabled", "admin.enableServer=true", func(c Server) bool { return c.AdminAddr == "0.0.0.0:8080" }},
		{"admin disabled", "admin.enableServer=false\nadmin.serverPort=9090", func(c Server) bool { return c.AdminAddr == "" }},
		{"servers", "server.2=zk2:2888:3888\nserver.1=zk1:2888:3888;0.0.0.0:2181\nserver.3=[fe80::1]:2888:3888:participant",
			func(c Server) bool { return c.Peers == "1=zk1:2888,2=zk2:2888,3=[fe80::1]:2888" }},
		{"server peer port only, observer, multi-address", "server.1=a:1\nserver.4=b:2:3:observer\nserver.5=c:5|d:6",
			func(c Server) bool { return c.Peers == "1=a:1,4=b:2,5=c:5" }},
		{"comments and blanks", "# c\n! c\n\n   \r\ntickTime=1000\r\n", func(c Server) bool { return c.TickTime == time.Second }},
		{"last wins", "tickTime=1000\ntickTime=4000", func(c Server) bool { return c.TickTime == 4*time.Second }},
		{"superDigest", "DigestAuthenticationProvider.superDigest=super:lK75jTNcA+U9vtVEw5vB51mj/w4=",
			func(c Server) bool { return c.SuperDigest == "super:lK75jTNcA+U9vtVEw5vB51mj/w4=" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := load(t, []string{"--config", writeFile(t, tt.file)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("unexpected config:\n%s", c)
			}
		})
	}
}

func TestFileWarnings(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings, one per warning, in order
	}{
		{"bogusKey=1", []string{":1: unknown key bogusKey ignored"}},
		{"initLimit=10\nsyncLimit=5", []string{":1: initLimit accepted, no effect", ":2: syncLimit accepted, no effect"}},
		{"autopurge.purgeInterval=1", []string{"autopurge.purgeInterval accepted, no effect"}},
		{"metricsProvider.httpPort=7000", []string{"metricsProvider.httpPort accepted, no effect"}},
		{"dataLogDir=/logs", []string{"dataLogDir=/logs has no effect: corral keeps its write-ahead log in dataDir"}},
		{"autopurge.snapRetainCount=2", []string{"raised to the minimum 3"}},
		{"tickTime=1000\ntickTime=2000", []string{":2: tickTime set again (first on line 1)"}},
		{"server.1=a:1|b:2", []string{"several addresses"}},
		{"ssl.keyStore.location=/x", []string{"TLS is not supported yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, warns, err := load(t, []string{"--config", writeFile(t, tt.file)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			warns = slices.DeleteFunc(warns, isNoIDWarning) // TestMyID
			if len(warns) != len(tt.want) {
				t.Fatalf("warnings %q, want %d", warns, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(warns[i], w) || !strings.Contains(warns[i], "zoo.cfg:") {
					t.Errorf("warning %q does not contain %q and the file name", warns[i], w)
				}
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct{ file, want string }{
		{"tickTime", "zoo.cfg:1: malformed line \"tickTime\": want key=value"},
		{"# x\n=5", "zoo.cfg:2: malformed line"},
		{"tickTime=2s", "zoo.cfg:1: tickTime=\"2s\": not an integer number of milliseconds"},
		{"clientPort=70000", "zoo.cfg:1: clientPort=\"70000\": not a port number"},
		{"maxClientCnxns=many", "zoo.cfg:1: maxClientCnxns=\"many\": not an integer"},
		{"jute.maxbuffer=big", "jute.maxbuffer=\"big\": not a size"},
		{"snapCount=-1", "snapCount=\"-1\": not a positive integer"},
		{"admin.enableServer=yes", "not true or false"},
		{"\n\nserver.x=a:1:2", "zoo.cfg:3: server.x=\"a:1:2\": server id \"x\" is not a number"},
		{"server.1=a", "server.1=\"a\": want host:peerPort"},
		{"server.1=a:b:c", "bad port \"b\""},
		{"server.1=a:1:2:3", "want host:peerPort"},
		{"server.1=[::1:1", "want [ipv6]"},
		{"server.1=a:1\nserver.1=b:1", "zoo.cfg:2: server.1=\"b:1\": server.1 listed twice"},
		{"DigestAuthenticationProvider.superDigest=super:secret", "not a base64 SHA-1 digest; `corral digest user:password` prints the id"},
		{"DigestAuthenticationProvider.superDigest=nocolon", "want user:base64(sha1(user:password))"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, _, err := load(t, []string{"--config", writeFile(t, tt.file)}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
	if _, _, err := load(t, []string{"--config", "/nonexistent/zoo.cfg"}, nil); err == nil {
		t.Fatal("missing file: no error")
	}
}

func TestPrecedence(t *testing.T) {
	file := writeFile(t, "tickTime=3000\nclientPort=1111\ndataDir=/file\nmaxClientCnxns=10\n")
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		check func(Server) bool
	}{
		{"file over default", []string{"--config", file}, nil, func(c Server) bool {
			return c.TickTime == 3*time.Second && c.ClientAddr == "0.0.0.0:1111" && c.DataDir == "/file" && c.MaxClientCnxns == 10
		}},
		{"env over file", []string{"--config", file}, map[string]string{"CORRAL_DATA_DIR": "/env", "CORRAL_TICK_TIME": "1s"},
			func(c Server) bool {
				return c.DataDir == "/env" && c.TickTime == time.Second && c.MaxSessionTimeout == 20*time.Second && c.MaxClientCnxns == 10
			}},
		{"flag over env", []string{"--config", file, "--data-dir", "/flag"}, map[string]string{"CORRAL_DATA_DIR": "/env", "CORRAL_MAX_CLIENT_CNXNS": "20"},
			func(c Server) bool {
				return c.DataDir == "/flag" && c.MaxClientCnxns == 20 && c.ClientAddr == "0.0.0.0:1111"
			}},
		{"config from env", nil, map[string]string{"CORRAL_CONFIG": file}, func(c Server) bool { return c.DataDir == "/file" }},
		{"config flag over env", []string{"--config", file}, map[string]string{"CORRAL_CONFIG": "/nonexistent"}, func(c Server) bool { return c.DataDir == "/file" }},
		{"flag equal to default still wins", []string{"--config", file, "--tick-time", "2s"}, nil,
			func(c Server) bool { return c.TickTime == 2*time.Second && c.MinSessionTimeout == 4*time.Second }},
		{"explicit timeout kept", []string{"--tick-time", "1s", "--max-session-timeout", "2m"}, map[string]string{"CORRAL_MIN_SESSION_TIMEOUT": "500ms"},
			func(c Server) bool {
				return c.MinSessionTimeout == 500*time.Millisecond && c.MaxSessionTimeout == 2*time.Minute
			}},
		{"every flag", []string{
			"--client-addr", "127.0.0.1:0", "--data-dir", "d", "--tick-time", "100ms", "--min-session-timeout", "1s",
			"--max-session-timeout", "9s", "--max-client-cnxns", "0", "--max-connections", "7", "--max-buffer", "2MiB",
			"--max-outstanding", "5", "--max-send-queue", "0x400000", "--max-inflight-bytes", "64MiB", "--container-check-interval", "1s",
			"--container-max-per-minute", "3", "--container-max-never-used", "1h", "--4lw", "ruok,DUMP", "--snapshot-count", "9",
			"--snapshot-retain", "4", "--admin-addr", ":8081", "--log-level", "debug", "--log-format", "json", "--id", "3",
			"--peer-addr", "h:2380", "--peers", "3=h:2380,4=i:2380", "--observers", "4", "--cluster-id", "c1",
			"--read-only-mode=false", "--reconfig-enabled=false", "--hold-sysmon", "--steady-sysmon=false", "--join"}, nil,
			func(c Server) bool {
				return reflect.DeepEqual(c, Server{
					ClientAddr: "127.0.0.1:0", DataDir: "d", TickTime: 100 * time.Millisecond, MinSessionTimeout: time.Second,
					MaxSessionTimeout: 9 * time.Second, MaxClientCnxns: 0, MaxConnections: 7, MaxBuffer: 2 << 20,
					MaxOutstanding: 5, MaxSendQueueBytes: 4 << 20, MaxInflightBytes: 64 << 20, ContainerCheckInterval: time.Second,
					ContainerMaxPerMinute: 3, ContainerMaxNeverUsed: time.Hour, FourLetterWords: []string{"ruok", "dump"},
					SnapshotCount: 9, SnapshotRetain: 4, AdminAddr: ":8081", LogLevel: "debug", LogFormat: "json", ID: 3,
					PeerAddr: "h:2380", Peers: "3=h:2380,4=i:2380", Observers: "4", ClusterID: "c1", Join: true,
					HoldSysmon: true, MinFreeDisk: 64 << 20})
			}},
		{"every env", nil, map[string]string{
			"CORRAL_CLIENT_ADDR": "127.0.0.1:0", "CORRAL_DATA_DIR": "d", "CORRAL_TICK_TIME": "100ms", "CORRAL_MIN_SESSION_TIMEOUT": "1s",
			"CORRAL_MAX_SESSION_TIMEOUT": "9s", "CORRAL_MAX_CLIENT_CNXNS": "0", "CORRAL_MAX_CONNECTIONS": "7", "CORRAL_MAX_BUFFER": "2MiB",
			"CORRAL_MAX_OUTSTANDING": "5", "CORRAL_MAX_SEND_QUEUE": "4M", "CORRAL_MAX_INFLIGHT_BYTES": "64MiB", "CORRAL_CONTAINER_CHECK_INTERVAL": "1s",
			"CORRAL_CONTAINER_MAX_PER_MINUTE": "3", "CORRAL_CONTAINER_MAX_NEVER_USED": "1h", "CORRAL_4LW": "ruok dump",
			"CORRAL_SNAPSHOT_COUNT": "9", "CORRAL_SNAPSHOT_RETAIN": "4", "CORRAL_ADMIN_ADDR": ":8081", "CORRAL_LOG_LEVEL": "debug",
			"CORRAL_LOG_FORMAT": "json", "CORRAL_ID": "3", "CORRAL_PEER_ADDR": "h:2380", "CORRAL_PEERS": "3=h:2380,4=i:2380",
			"CORRAL_OBSERVERS": "4", "CORRAL_CLUSTER_ID": "c1", "CORRAL_READ_ONLY_MODE": "false", "CORRAL_RECONFIG_ENABLED": "false", "CORRAL_HOLD_SYSMON": "true", "CORRAL_STEADY_SYSMON": "false", "CORRAL_JOIN": "true"},
			func(c Server) bool {
				return reflect.DeepEqual(c, Server{
					ClientAddr: "127.0.0.1:0", DataDir: "d", TickTime: 100 * time.Millisecond, MinSessionTimeout: time.Second,
					MaxSessionTimeout: 9 * time.Second, MaxClientCnxns: 0, MaxConnections: 7, MaxBuffer: 2 << 20,
					MaxOutstanding: 5, MaxSendQueueBytes: 4 << 20, MaxInflightBytes: 64 << 20, ContainerCheckInterval: time.Second,
					ContainerMaxPerMinute: 3, ContainerMaxNeverUsed: time.Hour, FourLetterWords: []string{"ruok", "dump"},
					SnapshotCount: 9, SnapshotRetain: 4, AdminAddr: ":8081", LogLevel: "debug", LogFormat: "json", ID: 3,
					PeerAddr: "h:2380", Peers: "3=h:2380,4=i:2380", Observers: "4", ClusterID: "c1", Join: true,
					HoldSysmon: true, MinFreeDisk: 64 << 20})
			}},
		{"empty env disables admin and 4lw", nil, map[string]string{"CORRAL_ADMIN_ADDR": "", "CORRAL_4LW": ""},
			func(c Server) bool { return c.AdminAddr == "" && len(c.FourLetterWords) == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _, err := load(t, tt.args, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.check(c) {
				t.Fatalf("unexpected config:\n%s", c)
			}
		})
	}
}

func TestSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"bad flag duration", []string{"--tick-time", "2000"}, nil, `invalid duration "2000" for --tick-time`},
		{"bad flag int", []string{"--max-client-cnxns", "x"}, nil, `invalid integer "x" for --max-client-cnxns`},
		{"bad flag size", []string{"--max-buffer", "1TB"}, nil, `invalid size "1TB" for --max-buffer`},
		{"bad env", nil, map[string]string{"CORRAL_ID": "-1"}, `environment CORRAL_ID: invalid unsigned integer "-1" for --id`},
		{"bad env uint", nil, map[string]string{"CORRAL_SNAPSHOT_COUNT": "x"}, `--snapshot-count`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := load(t, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Server)
		want string
	}{
		{"client addr", func(c *Server) { c.ClientAddr = "localhost" }, `--client-addr (clientPortAddress:clientPort) = "localhost": want host:port`},
		{"client port", func(c *Server) { c.ClientAddr = "h:99999" }, `--client-addr (clientPortAddress:clientPort) = "h:99999"`},
		{"data dir", func(c *Server) { c.DataDir = "" }, `--data-dir (dataDir) = "": must not be empty`},
		{"tick", func(c *Server) { c.TickTime = 0 }, "--tick-time (tickTime) = 0s: must be positive"},
		{"min", func(c *Server) { c.MinSessionTimeout = -time.Second }, "--min-session-timeout (minSessionTimeout) = -1s: must be positive"},
		{"max", func(c *Server) { c.MaxSessionTimeout = 0 }, "--max-session-timeout (maxSessionTimeout) = 0s: must be positive"},
		{"min>max", func(c *Server) { c.MinSessionTimeout = time.Minute }, "--min-session-timeout (minSessionTimeout) = 1m0s: must not exceed --max-session-timeout 40s"},
		{"per-ip", func(c *Server) { c.MaxClientCnxns = -1 }, "--max-client-cnxns (maxClientCnxns) = -1: must be >= 0"},
		{"global", func(c *Server) { c.MaxConnections = -1 }, "--max-connections (maxCnxns) = -1: must be >= 0"},
		{"buffer small", func(c *Server) { c.MaxBuffer = 1023 }, "--max-buffer (jute.maxbuffer) = 1023: must be between 1024 and 67108864 bytes"},
		{"buffer big", func(c *Server) { c.MaxBuffer = 64<<20 + 1; c.MaxSendQueueBytes = 128 << 20 }, "--max-buffer (jute.maxbuffer) = 67108865"},
		{"inflight bytes", func(c *Server) { c.MaxInflightBytes = 1000 }, "--max-inflight-bytes = 1000: must be at least --max-buffer (1048575)"},
		{"outstanding", func(c *Server) { c.MaxOutstanding = 0 }, "--max-outstanding = 0: must be positive"},
		{"super digest", func(c *Server) { c.SuperDigest = "super:short" }, `--super-digest (DigestAuthenticationProvider.superDigest) = "super:short": the part after the user is not a base64 SHA-1 digest`},
		{"send queue", func(c *Server) { c.MaxSendQueueBytes = 1000 }, "--max-send-queue = 1000: must be at least --max-buffer (1048575)"},
		{"container interval", func(c *Server) { c.ContainerCheckInterval = 0 }, "--container-check-interval (znode.container.checkIntervalMs) = 0s: must be positive"},
		{"container rate", func(c *Server) { c.ContainerMaxPerMinute = 0 }, "--container-max-per-minute (znode.container.maxPerMinute) = 0: must be positive"},
		{"container never used", func(c *Server) { c.ContainerMaxNeverUsed = -1 }, "--container-max-never-used (znode.container.maxNeverUsedIntervalMs) = -1ns"},
		{"4lw", func(c *Server) { c.FourLetterWords = []string{"ruok", "kill"} }, `--4lw (4lw.commands.whitelist) = "kill": unknown four-letter word`},
		{"snap count", func(c *Server) { c.SnapshotCount = 0 }, "--snapshot-count (snapCount) = 0: must be positive"},
		{"snap retain", func(c *Server) { c.SnapshotRetain = 2 }, "--snapshot-retain (autopurge.snapRetainCount) = 2: must be at least 3"},
		{"admin", func(c *Server) { c.AdminAddr = "8080" }, `--admin-addr (admin.serverAddress:admin.serverPort) = "8080"`},
		{"log level", func(c *Server) { c.LogLevel = "trace" }, `--log-level = "trace": want debug, info, warn or error`},
		{"log format", func(c *Server) { c.LogFormat = "xml" }, `--log-format = "xml": want text or json`},
		{"id 0", func(c *Server) { c.ID = 0 }, "--id = 0: must be between 1 and 254"},
		{"id 255", func(c *Server) { c.ID = 255 }, "--id = 255: must be between 1 and 254"},
		{"peer addr", func(c *Server) { c.PeerAddr = "x" }, `--peer-addr = "x": want host:port`},
		{"peers syntax", func(c *Server) { c.Peers = "1:h:1" }, `--peers (server.N) = "1:h:1": peer "1:h:1": want id=host:port`},
		{"peers id", func(c *Server) { c.Peers = "a=h:1" }, `id "a" is not a number`},
		{"peers range", func(c *Server) { c.Peers = "300=h:1" }, "id 300 out of range 1..254"},
		{"peers dup", func(c *Server) { c.Peers = "1=h:1, 1=h:2" }, "id 1 listed twice"},
		{"peers addr", func(c *Server) { c.Peers = "1=h" }, `"h" is not host:port`},
		{"peers port 0", func(c *Server) { c.Peers = "1=h:0" }, `bad port "0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "config: --") {
				t.Fatalf("Validate() = %v\nwant %q", err, tt.want)
			}
		})
	}
	// All problems are reported together, one per line.
	c := Default()
	c.TickTime, c.ID = 0, 0
	if err := c.Validate(); err == nil || strings.Count(err.Error(), "\n") != 1 {
		t.Fatalf("Validate() = %v, want two errors", err)
	}
	c = Default()
	c.FourLetterWords = []string{"*"}
	c.Peers = "1=a:1,2=[::1]:2"
	c.AdminAddr = "127.0.0.1:0"
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestParsePeers(t *testing.T) {
	got, err := ParsePeers(" 2=b:2 , 1=a:1")
	want := []Peer{{2, "b:2"}, {1, "a:1"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("ParsePeers = %v, %v", got, err)
	}
	if got, err := ParsePeers(" "); got != nil || err != nil {
		t.Fatalf("ParsePeers(blank) = %v, %v", got, err)
	}
}

// debianZooCfg is /etc/zookeeper/conf/zoo.cfg as shipped by Debian's
// zookeeper 3.8.0 package, with a typical three-node ensemble added.
const debianZooCfg = `# http://hadoop.apache.org/zookeeper/docs/current/zookeeperAdmin.html

# The number of milliseconds of each tick
tickTime=2000
# The number of ticks that the initial
# synchronization phase can take
initLimit=10
# The number of ticks that can pass between
# sending a request and getting an acknowledgement
syncLimit=5
# the directory where the snapshot is stored.
dataDir=/var/lib/zookeeper
# Place the dataLogDir to a separate physical disc for better performance
# dataLogDir=/disk2/zookeeper

# the port at which the clients will connect
clientPort=2181
# the maximum number of client connections.
# increase this if you need to handle more clients
maxClientCnxns=60

# specify all zookeeper servers
# The fist port is used by followers to connect to the leader
# The second one is used for leader election
server.1=zookeeper1:2888:3888
server.2=zookeeper2:2888:3888
server.3=zookeeper3:2888:3888

# The number of snapshots to retain in dataDir
autopurge.snapRetainCount=3
# Purge task interval in hours
# Set to "0" to disable auto purge feature
autopurge.purgeInterval=1

## Metrics Providers
#
# https://prometheus.io Metrics Exporter
metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider
metricsProvider.httpHost=0.0.0.0
metricsProvider.httpPort=7000
metricsProvider.exportJvmInfo=true
4lw.commands.whitelist=srvr, mntr, ruok
admin.enableServer=false
`

func TestDebianZooCfg(t *testing.T) {
	c, warns, err := load(t, []string{"--config", writeFile(t, debianZooCfg), "--id", "2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.TickTime = 2 * time.Second
	want.DataDir = "/var/lib/zookeeper"
	want.ClientAddr = "0.0.0.0:2181"
	want.MaxClientCnxns = 60
	want.Peers = "1=zookeeper1:2888,2=zookeeper2:2888,3=zookeeper3:2888"
	want.FourLetterWords = []string{"srvr", "mntr", "ruok"}
	want.ID = 2
	want.AdminAddr = "" // admin.enableServer=false
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got\n%s\nwant\n%s", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	wantWarn := []string{"initLimit", "syncLimit", "autopurge.purgeInterval",
		"metricsProvider.className", "metricsProvider.httpHost", "metricsProvider.httpPort", "metricsProvider.exportJvmInfo"}
	// Whether /var/lib/zookeeper/myid exists (and holds Debian's placeholder text)
	// depends on the machine: TestMyID covers it.
	warns = slices.DeleteFunc(warns, func(w string) bool { return strings.Contains(w, "myid") })
	if len(warns) != len(wantWarn) {
		t.Fatalf("warnings:\n%s", strings.Join(warns, "\n"))
	}
	for i, w := range wantWarn {
		if !strings.Contains(warns[i], w) {
			t.Errorf("warning %d = %q, want mention of %s", i, warns[i], w)
		}
	}
	// The file actually installed, if the package is.
	if _, err := os.Stat("/etc/zookeeper/conf/zoo.cfg"); err == nil {
		c, _, err := load(t, []string{"--config", "/etc/zookeeper/conf/zoo.cfg"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDump(t *testing.T) {
	c := Default()
	c.ClientAddr = "127.0.0.1:21810"
	c.DataDir = "/tmp/zkx/data"
	c.Peers = "2=b:2888,1=a:2888"
	got := c.Dump(123, 456)
	// ZooKeeper 3.8.0's standalone conf output, key for key and in order.
	zk := "clientPort=21810\nsecureClientPort=-1\ndataDir=/tmp/zkx/data\ndataDirSize=123\n" +
		"dataLogDir=/tmp/zkx/data\ndataLogSize=456\ntickTime=2000\nmaxClientCnxns=1000\n" +
		"minSessionTimeout=4000\nmaxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=1\n"
	if !strings.HasPrefix(got, zk) {
		t.Fatalf("Dump =\n%s\nwant prefix\n%s", got, zk)
	}
	for _, l := range []string{"clientPortAddress=127.0.0.1", "maxCnxns=10000", "jute.maxbuffer=1048575",
		"snapCount=100000", "autopurge.snapRetainCount=3", "4lw.commands.whitelist=ruok,srvr,stat,mntr,conf,isro,dirs,envi",
		"znode.container.checkIntervalMs=5000", "server.2=b:2888", "server.1=a:2888"} {
		if !strings.Contains(got, "\n"+l+"\n") {
			t.Errorf("Dump lacks %q:\n%s", l, got)
		}
	}
	for _, l := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if !strings.Contains(l, "=") {
			t.Errorf("Dump line %q is not key=value", l)
		}
	}
}

func TestStringRoundTrip(t *testing.T) {
	// String prints flag=value lines that, fed back as flags, give the same config.
	c := Default()
	c.Peers = "1=a:1"
	c.AdminAddr = "127.0.0.1:8080"
	var args []string
	for _, l := range strings.Split(strings.TrimSuffix(c.String(), "\n"), "\n") {
		args = append(args, "--"+l)
	}
	got, _, err := load(t, args, nil)
	if err != nil || !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: %v\n%s", err, got)
	}
}

func TestBindHelp(t *testing.T) {
	fs := pflag.NewFlagSet("server", pflag.ContinueOnError)
	d := Default()
	Bind(fs, &d)
	for _, s := range settings {
		f := fs.Lookup(s.name)
		if f == nil {
			t.Fatalf("flag --%s not bound", s.name)
		}
		if !strings.Contains(f.Usage, EnvName(s.name)) {
			t.Errorf("--%s usage lacks its env var", s.name)
		}
	}
	if fs.Lookup(ConfigFlag) == nil {
		t.Fatal("--config not bound")
	}
	usage := fs.FlagUsages()
	for _, want := range []string{"--client-addr host:port", `(default 0.0.0.0:2181)`, "--tick-time duration", "(default 2s)", "CORRAL_4LW"} {
		if !strings.Contains(usage, want) {
			t.Errorf("help lacks %q:\n%s", want, usage)
		}
	}
	// Load tolerates a flag set without our flags.
	if _, _, err := Load(pflag.NewFlagSet("x", pflag.ContinueOnError), nil); err != nil {
		t.Fatal(err)
	}
}

func TestObserversFromZooCfg(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/zoo.cfg"
	text := "server.1=a:2888:3888\nserver.2=b:2888:3888\nserver.3=c:2888:3888\nserver.4=d:2888:3888:observer\n"
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
	cfg := Default()
	Bind(fs, &cfg)
	if err := fs.Parse([]string{"--config", path, "--id", "1"}); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load(fs, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	if c.Peers != "1=a:2888,2=b:2888,3=c:2888,4=d:2888" || c.Observers != "4" {
		t.Fatalf("peers %q observers %q", c.Peers, c.Observers)
	}
	if ids, err := ParseIDs(c.Observers); err != nil || len(ids) != 1 || ids[0] != 4 {
		t.Fatalf("ParseIDs: %v %v", ids, err)
	}
}

func isNoIDWarning(w string) bool { return strings.Contains(w, "sets this member's id") }

func TestMyID(t *testing.T) {
	const peers = "1=h1:2888,2=h2:2888,3=h3:2888"
	for _, tt := range []struct {
		name   string
		myid   string // "" for no file
		args   []string
		wantID uint64
		warn   string // substring of the one warning expected, "" for none
		err    string // substring of the error expected
	}{
		{name: "single node, no myid", wantID: 1},
		{name: "cluster, no myid, no --id", args: []string{"--peers", peers}, wantID: 1, warn: "neither --id nor"},
		{name: "myid sets the id", myid: "3\n", args: []string{"--peers", peers}, wantID: 3},
		{name: "myid and --id agree", myid: " 3 ", args: []string{"--peers", peers, "--id", "3"}, wantID: 3},
		{name: "myid and --id disagree", myid: "3", args: []string{"--peers", peers, "--id", "2"}, err: "--id 2 disagrees with"},
		{name: "myid out of range, cluster", myid: "255", args: []string{"--peers", peers}, err: "out of range"},
		{name: "Debian's placeholder, single node", myid: "replace this text with the cluster-unique zookeeper's instance id (1-255)", wantID: 1, warn: "myid ignored"},
		{name: "Debian's placeholder, cluster", myid: "replace this text", args: []string{"--peers", peers}, err: "fix the file or pass --id"},
		{name: "Debian's placeholder, --id given", myid: "replace this text", args: []string{"--peers", peers, "--id", "2"}, wantID: 2, warn: "myid ignored"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if tt.myid != "" {
				if err := os.WriteFile(filepath.Join(dir, "myid"), []byte(tt.myid), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			c, warns, err := load(t, append([]string{"--data-dir", dir}, tt.args...), nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != tt.wantID {
				t.Errorf("id %d, want %d", c.ID, tt.wantID)
			}
			if tt.warn == "" && len(warns) != 0 || tt.warn != "" && (len(warns) != 1 || !strings.Contains(warns[0], tt.warn)) {
				t.Errorf("warnings %q, want one containing %q", warns, tt.warn)
			}
		})
	}
	// The data dir can come from a zoo.cfg, as ZooKeeper's users lay it out.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "myid"), []byte("2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _, err := load(t, []string{"--config", writeFile(t, "dataDir="+dir+"\nclientPort=2181\nserver.1=h1:2888:3888\nserver.2=h2:2888:3888\nserver.3=h3:2888:3888\n")}, nil)
	if err != nil || c.ID != 2 || c.Peers != "1=h1:2888,2=h2:2888,3=h3:2888" {
		t.Fatalf("zoo.cfg with myid: id %d peers %q err %v", c.ID, c.Peers, err)
	}
}

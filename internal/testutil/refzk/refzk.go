// Package refzk starts the reference Apache ZooKeeper (Debian's `zookeeper` package, 3.8)
// as a standalone server on a free loopback port, for tests that compare corral with the
// real thing. It is imported only by tests.
//
// The server runs as `java ... org.apache.zookeeper.server.ZooKeeperServerMain zoo.cfg`
// with a generated zoo.cfg (tickTime=2000, 4lw.commands.whitelist=*, admin server off),
// extended types (TTL nodes) enabled, a small heap, and a container/TTL reaper that runs
// every second. A missing installation fails the test; run scripts/install-test-deps.sh.
package refzk

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/fourlw"
	"github.com/corral-io/corral/internal/testutil/freeport"
)

// Paths of Debian's ZooKeeper installation (packages zookeeper, libzookeeper-java,
// libslf4j-java). zookeeper.jar's manifest Class-Path names its other dependencies.
const (
	ZooKeeperJar = "/usr/share/java/zookeeper.jar"
	SLF4JSimple  = "/usr/share/java/slf4j-simple.jar"
	Java         = "/usr/bin/java"
	mainClass    = "org.apache.zookeeper.server.ZooKeeperServerMain"
)

// Server is a running reference ZooKeeper.
type Server struct {
	t       testing.TB
	addr    string
	dataDir string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

type config struct {
	cfg          map[string]string
	sysProps     map[string]string
	startTimeout time.Duration
	heap         string
}

// Option changes how Start configures the server.
type Option func(*config)

// WithConfig sets a zoo.cfg key (for example "maxSessionTimeout") to value, overriding the
// default.
func WithConfig(key, value string) Option {
	return func(c *config) { c.cfg[key] = value }
}

// WithSystemProperty passes -Dkey=value to the JVM, overriding the default.
func WithSystemProperty(key, value string) Option {
	return func(c *config) { c.sysProps[key] = value }
}

// WithStartTimeout bounds how long Start waits for `ruok` to answer `imok` (default 60s).
func WithStartTimeout(d time.Duration) Option {
	return func(c *config) { c.startTimeout = d }
}

// WithHeap sets the JVM's -Xmx (default "128m").
func WithHeap(size string) Option {
	return func(c *config) { c.heap = size }
}

// Start launches a standalone reference ZooKeeper on a free 127.0.0.1 port with a fresh
// data directory, waits until it answers `ruok` with `imok` and `srvr` reports
// "Mode: standalone" (imok alone comes before the database is loaded), and registers a cleanup that
// kills it by PID. It fails the test (never skips) if ZooKeeper is not installed or does
// not come up in time.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	if err := CheckInstalled(); err != nil {
		t.Fatalf("refzk: %v", err)
	}
	c := &config{
		cfg: map[string]string{
			"tickTime":                "2000",
			"initLimit":               "10",
			"syncLimit":               "5",
			"4lw.commands.whitelist":  "*",
			"admin.enableServer":      "false",
			"clientPortAddress":       "127.0.0.1",
			"maxClientCnxns":          "0",
			"autopurge.purgeInterval": "0",
		},
		sysProps: map[string]string{
			"zookeeper.extendedTypesEnabled":         "true",
			"zookeeper.admin.enableServer":           "false",
			"znode.container.checkIntervalMs":        "1000",
			"java.net.preferIPv4Stack":               "true",
			"org.slf4j.simpleLogger.defaultLogLevel": "warn",
			"org.slf4j.simpleLogger.showDateTime":    "true",
		},
		startTimeout: 60 * time.Second,
		heap:         "128m",
	}
	for _, o := range opts {
		o(c)
	}

	dir := t.TempDir()
	s := &Server{t: t, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "zookeeper.log")}
	if err := os.MkdirAll(s.dataDir, 0o755); err != nil {
		t.Fatalf("refzk: %v", err)
	}
	t.Cleanup(s.Kill)

	// A free port can be taken by someone else between probing and binding; retry then.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freeport.Get()
		if err != nil {
			t.Fatalf("refzk: %v", err)
		}
		c.cfg["clientPort"] = strconv.Itoa(port)
		s.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		cfgPath := filepath.Join(dir, "zoo.cfg")
		c.cfg["dataDir"] = s.dataDir
		if err := os.WriteFile(cfgPath, []byte(renderCfg(c.cfg)), 0o644); err != nil {
			t.Fatalf("refzk: %v", err)
		}
		if lastErr = s.launch(c, cfgPath); lastErr == nil {
			return s
		}
		s.Kill()
	}
	t.Fatalf("refzk: reference ZooKeeper did not start: %v\n--- %s (tail) ---\n%s", lastErr, s.logPath, tail(s.logPath, 4000))
	return nil
}

// CheckInstalled reports whether java and Debian's ZooKeeper jars are present.
func CheckInstalled() error {
	for _, p := range []string{Java, ZooKeeperJar, SLF4JSimple} {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("reference ZooKeeper is not installed (%s: %v); run scripts/install-test-deps.sh", p, err)
		}
	}
	return nil
}

func (s *Server) launch(c *config, cfgPath string) error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	args := []string{"-Xmx" + c.heap, "-Xms16m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xss512k"}
	keys := make([]string, 0, len(c.sysProps))
	for k := range c.sysProps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		args = append(args, "-D"+k+"="+c.sysProps[k])
	}
	args = append(args, "-cp", ZooKeeperJar+":"+SLF4JSimple, mainClass, cfgPath)
	cmd := exec.Command(Java, args...)
	cmd.Dir = filepath.Dir(cfgPath)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Backstop: if the test binary dies without running cleanups, the JVM dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", Java, err)
	}
	done := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.done = cmd, done
	s.mu.Unlock()
	go func() { _ = cmd.Wait(); close(done) }()

	deadline := time.Now().Add(c.startTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("java exited during start-up (%v)", cmd.ProcessState)
		default:
		}
		// ZooKeeper answers imok before it serves requests; also wait for srvr to
		// report a mode.
		out, err := fourlw.SendTimeout(s.addr, "ruok", time.Second)
		if err == nil && out == "imok" {
			srvr, err2 := fourlw.SendTimeout(s.addr, "srvr", time.Second)
			if err2 == nil && strings.Contains(srvr, "Mode: standalone") {
				return nil
			}
			out, err = srvr, err2
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no imok from %s after %v (last: %q, %v)", s.addr, c.startTimeout, out, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Addr returns the client address, "127.0.0.1:PORT".
func (s *Server) Addr() string { return s.addr }

// DataDir returns the server's data directory.
func (s *Server) DataDir() string { return s.dataDir }

// LogPath returns the file that collects the JVM's stdout and stderr.
func (s *Server) LogPath() string { return s.logPath }

// PID returns the JVM's process id, or 0 when it is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Kill sends SIGKILL to the JVM (by PID) and waits for it to exit. It is safe to call
// more than once.
func (s *Server) Kill() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	s.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		s.t.Logf("refzk: pid %d did not exit 10s after SIGKILL", cmd.Process.Pid)
	}
}

func renderCfg(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, m[k])
	}
	return b.String()
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			b = b[i+1:]
		}
	}
	return string(b)
}

package failover

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/corral-io/corral/internal/testutil/fourlw"
)

// member is one server process of an ensemble, started and signalled by its PID only.
type member struct {
	ID         int
	ClientAddr string
	Dir        string
	LogPath    string
	argv       []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	frozen bool
}

// start launches the member's process, appending its output to LogPath. The process gets
// SIGKILL if this program dies first (Pdeathsig), so nothing outlives a killed run.
func (m *member) start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd != nil {
		return fmt.Errorf("member %d is already running (pid %d)", m.ID, m.cmd.Process.Pid)
	}
	logf, err := os.OpenFile(m.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(m.argv[0], m.argv[1:]...)
	cmd.Dir = m.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start member %d: %w", m.ID, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	m.cmd, m.done, m.frozen = cmd, done, false
	return nil
}

// PID is the member's process id, 0 when it is not running.
func (m *member) PID() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return 0
	}
	return m.cmd.Process.Pid
}

// signal sends sig to the member's process (by PID).
func (m *member) signal(sig syscall.Signal) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return fmt.Errorf("member %d is not running", m.ID)
	}
	if err := m.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %v to member %d (pid %d): %w", sig, m.ID, m.cmd.Process.Pid, err)
	}
	switch sig {
	case syscall.SIGSTOP:
		m.frozen = true
	case syscall.SIGCONT:
		m.frozen = false
	}
	return nil
}

// waitStopped waits (at most timeout) until every thread of the member's process is in
// the stopped state, as /proc shows it: SIGSTOP takes effect on each thread when it next
// leaves the kernel, which under load can be milliseconds after the signal was sent.
func (m *member) waitStopped(timeout time.Duration) error {
	pid := m.PID()
	deadline := time.Now().Add(timeout)
	for {
		if allStopped(pid) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("member %d (pid %d) not stopped %v after SIGSTOP", m.ID, pid, timeout)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

func allStopped(pid int) bool {
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		return false
	}
	for _, t := range tasks {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/stat", pid, t.Name()))
		if err != nil {
			return false
		}
		// The state follows the command name, which is in parentheses.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 || i+2 >= len(b) || (b[i+2] != 'T' && b[i+2] != 't') {
			return false
		}
	}
	return true
}

// kill sends SIGKILL (by PID) and waits, at most 10 s, for the process to be reaped.
func (m *member) kill() error {
	m.mu.Lock()
	cmd, done := m.cmd, m.done
	m.cmd, m.done, m.frozen = nil, nil, false
	m.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("member %d (pid %d) did not exit 10 s after SIGKILL", m.ID, cmd.Process.Pid)
	}
}

// running reports whether the process has been started and has not exited.
func (m *member) running() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// mark appends a line to the member's log, so that its own lines can be read against the
// faults this program injected.
func (m *member) mark(format string, args ...any) {
	f, err := os.OpenFile(m.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "=== failover %s: %s\n", time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), fmt.Sprintf(format, args...))
}

// ensemble is a 3-member (or n-member) cluster of one system on loopback.
type ensemble struct {
	System  string
	Members []*member
	Version string // the first line of srvr, once up
}

func (e *ensemble) startAll() error {
	for _, m := range e.Members {
		if err := m.start(); err != nil {
			return err
		}
	}
	return nil
}

// stopAll kills every member this program started, by PID (SIGKILL also ends a frozen one).
func (e *ensemble) stopAll() {
	for _, m := range e.Members {
		_ = m.kill()
	}
}

func (e *ensemble) markAll(format string, args ...any) {
	for _, m := range e.Members {
		m.mark(format, args...)
	}
}

func (e *ensemble) member(id int) *member {
	for _, m := range e.Members {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// modes asks every member for srvr, concurrently, each bounded by timeout, and returns
// each one's Mode (leader, follower, ...) or "" when it did not say.
func (e *ensemble) modes(timeout time.Duration) map[int]string {
	out := make(map[int]string, len(e.Members))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range e.Members {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mode := ""
			if m.running() {
				s, err := fourlw.SendTimeout(m.ClientAddr, "srvr", timeout)
				if err == nil {
					mode = parseMode(s)
					if v := firstLine(s); strings.HasPrefix(v, "Zookeeper version:") {
						mu.Lock()
						e.Version = strings.TrimSpace(strings.TrimPrefix(v, "Zookeeper version:"))
						mu.Unlock()
					}
				}
			}
			mu.Lock()
			out[m.ID] = mode
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// waitHealthy waits until every member reports leader or follower, exactly one of them
// leader, and returns the leader.
func (e *ensemble) waitHealthy(ctx context.Context, timeout time.Duration) (*member, error) {
	deadline := time.Now().Add(timeout)
	var last map[int]string
	for {
		last = e.modes(time.Second)
		leaders, followers := 0, 0
		var lead *member
		for id, mode := range last {
			switch mode {
			case "leader":
				leaders++
				lead = e.member(id)
			case "follower":
				followers++
			}
		}
		if leaders == 1 && leaders+followers == len(e.Members) {
			return lead, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: no healthy ensemble after %v (modes %v)", e.System, timeout, last)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// leaderNow returns the id of the member that reports Mode: leader, 0 if none does.
func (e *ensemble) leaderNow() int {
	for id, mode := range e.modes(time.Second) {
		if mode == "leader" {
			return id
		}
	}
	return 0
}

func parseMode(srvr string) string {
	for _, line := range strings.Split(srvr, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Mode:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// freePorts returns n distinct free loopback ports (held open together while probing, so
// they are distinct; another process may still take one before it is bound).
func freePorts(n int) ([]int, error) {
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func loop(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// newCorral lays out an n-member corral cluster under work, with default settings (only
// the addresses, the data dirs and a disabled admin server, whose default port the
// members would otherwise share, are given).
func newCorral(bin, work string, n int) (*ensemble, error) {
	if bin == "" {
		return nil, errors.New("corral: no binary given (--corral)")
	}
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("corral: %w", err)
	}
	ports, err := freePorts(2 * n)
	if err != nil {
		return nil, err
	}
	var peers []string
	for i := 1; i <= n; i++ {
		peers = append(peers, fmt.Sprintf("%d=%s", i, loop(ports[n+i-1])))
	}
	e := &ensemble{System: "corral"}
	for i := 1; i <= n; i++ {
		dir := filepath.Join(work, fmt.Sprintf("corral-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		m := &member{ID: i, ClientAddr: loop(ports[i-1]), Dir: dir, LogPath: filepath.Join(dir, "server.log")}
		m.argv = []string{bin, "server", "--id", strconv.Itoa(i), "--client-addr", m.ClientAddr,
			"--data-dir", filepath.Join(dir, "data"), "--peer-addr", loop(ports[n+i-1]),
			"--peers", strings.Join(peers, ","), "--admin-addr", ""}
		e.Members = append(e.Members, m)
	}
	return e, nil
}

// ZooKeeperPaths locates Debian's ZooKeeper (packages zookeeper, libzookeeper-java).
type ZooKeeperPaths struct {
	Java, ZooKeeperJar, SLF4JJar string
}

// DefaultZooKeeperPaths are Debian's.
var DefaultZooKeeperPaths = ZooKeeperPaths{
	Java:         "/usr/bin/java",
	ZooKeeperJar: "/usr/share/java/zookeeper.jar",
	SLF4JJar:     "/usr/share/java/slf4j-simple.jar",
}

// newZooKeeper lays out an n-member ZooKeeper ensemble (QuorumPeerMain) under work with
// ZooKeeper's default timing: tickTime=2000, initLimit=10, syncLimit=5.
func newZooKeeper(p ZooKeeperPaths, work string, n int) (*ensemble, error) {
	for _, f := range []string{p.Java, p.ZooKeeperJar, p.SLF4JJar} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("zookeeper: not installed (%v)", err)
		}
	}
	ports, err := freePorts(3 * n)
	if err != nil {
		return nil, err
	}
	var servers strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&servers, "server.%d=127.0.0.1:%d:%d\n", i, ports[n+i-1], ports[2*n+i-1])
	}
	e := &ensemble{System: "zookeeper"}
	for i := 1; i <= n; i++ {
		dir := filepath.Join(work, fmt.Sprintf("zookeeper-%d", i))
		data := filepath.Join(dir, "data")
		if err := os.MkdirAll(data, 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(data, "myid"), []byte(strconv.Itoa(i)+"\n"), 0o644); err != nil {
			return nil, err
		}
		cfg := fmt.Sprintf(`tickTime=2000
initLimit=10
syncLimit=5
dataDir=%s
clientPort=%d
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=*
autopurge.purgeInterval=0
%s`, data, ports[i-1], servers.String())
		cfgPath := filepath.Join(dir, "zoo.cfg")
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
			return nil, err
		}
		m := &member{ID: i, ClientAddr: loop(ports[i-1]), Dir: dir, LogPath: filepath.Join(dir, "server.log")}
		m.argv = []string{p.Java, "-Xmx512m", "-Xms64m",
			"-Dzookeeper.admin.enableServer=false", "-Djava.net.preferIPv4Stack=true",
			"-Dorg.slf4j.simpleLogger.defaultLogLevel=info", "-Dorg.slf4j.simpleLogger.showDateTime=true",
			"-Dorg.slf4j.simpleLogger.dateTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ",
			"-cp", p.ZooKeeperJar + ":" + p.SLF4JJar,
			"org.apache.zookeeper.server.quorum.QuorumPeerMain", cfgPath}
		e.Members = append(e.Members, m)
	}
	return e, nil
}

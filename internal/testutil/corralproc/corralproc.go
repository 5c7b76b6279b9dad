// Package corralproc builds the corral binary once per test binary and runs
// `corral server` as a real process on a free loopback port, for end-to-end tests.
// It is imported only by tests.
package corralproc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/fourlw"
	"github.com/corral-io/corral/internal/testutil/freeport"
)

// ModulePath is the module whose ./cmd/corral is built.
const ModulePath = "github.com/corral-io/corral"

// BuildTimeout bounds `go build ./cmd/corral`.
const BuildTimeout = 5 * time.Minute

// StartTimeout bounds how long Start and Restart wait for `ruok` to answer `imok`.
const StartTimeout = 30 * time.Second

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// BinEnv names an environment variable that, when set, points at a prebuilt corral
// binary for Build to use instead of compiling one.
const BinEnv = "CORRAL_BIN"

// Build compiles ./cmd/corral (once per test binary; later calls reuse the result) and
// returns the binary's path. The module root is found by walking up from the test's
// working directory. If $CORRAL_BIN is set, that binary is used as is. A failed build
// fails the test.
func Build(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if bin := os.Getenv(BinEnv); bin != "" {
			buildPath, buildErr = filepath.Abs(bin)
			if buildErr == nil {
				_, buildErr = os.Stat(buildPath)
			}
			if buildErr != nil {
				buildErr = fmt.Errorf("$%s: %w", BinEnv, buildErr)
			}
			return
		}
		buildPath, buildErr = build()
	})
	if buildErr != nil {
		t.Fatalf("corralproc: %v", buildErr)
	}
	return buildPath
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	// One stable directory per module checkout, so repeated runs do not leak temp dirs;
	// the binary is written under a unique name and renamed into place, so concurrent
	// test binaries never see a half-written file.
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "corral-testbin-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("build dir: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "corral-*.tmp")
	if err != nil {
		return "", fmt.Errorf("build dir: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())

	ctx, cancel := context.WithTimeout(context.Background(), BuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", tmp.Name(), "./cmd/corral")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build ./cmd/corral in %s: %v\n%s", root, err, out)
	}
	bin := filepath.Join(dir, "corral")
	if err := os.Rename(tmp.Name(), bin); err != nil {
		return "", fmt.Errorf("install binary: %w", err)
	}
	return bin, nil
}

func goTool() string {
	p := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return "go"
}

// moduleRoot walks up from the working directory to the go.mod that declares ModulePath.
func moduleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				f := strings.Fields(line)
				if len(f) == 2 && f[0] == "module" && strings.Trim(f[1], `"`) == ModulePath {
					return dir, nil
				}
			}
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("no go.mod for module %s above %s", ModulePath, wd)
		}
	}
}

// Proc is a running (or killed) `corral server` process.
type Proc struct {
	t       testing.TB
	bin     string
	args    []string
	addr    string
	dataDir string
	logPath string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// Start builds corral if needed and runs
// `corral server --client-addr 127.0.0.1:<free port> --data-dir <temp dir> extraArgs...`,
// waits (bounded by StartTimeout) until `ruok` answers `imok`, and registers a cleanup
// that kills the process by PID. Failures fail the test with the process's log.
func Start(t testing.TB, extraArgs ...string) *Proc {
	t.Helper()
	bin := Build(t)
	dir := t.TempDir()
	p := &Proc{
		t:       t,
		bin:     bin,
		dataDir: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "corral.log"),
	}
	if err := os.MkdirAll(p.dataDir, 0o755); err != nil {
		t.Fatalf("corralproc: %v", err)
	}
	t.Cleanup(p.Kill)
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freeport.Get()
		if err != nil {
			t.Fatalf("corralproc: %v", err)
		}
		p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p.args = append([]string{"server", "--client-addr", p.addr, "--data-dir", p.dataDir}, extraArgs...)
		if lastErr = p.launch(); lastErr == nil {
			return p
		}
		p.Kill()
		if !strings.Contains(tail(p.logPath, 4000), "address already in use") {
			break
		}
	}
	t.Fatalf("corralproc: corral did not start: %v\n--- %s (tail) ---\n%s", lastErr, p.logPath, tail(p.logPath, 4000))
	return nil
}

func (p *Proc) launch() error {
	if err := p.spawn(); err != nil {
		return err
	}
	return p.waitReady()
}

// spawn starts the process without waiting for it to serve.
func (p *Proc) spawn() error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "=== %s %s\n", p.bin, strings.Join(p.args, " "))
	cmd := exec.Command(p.bin, p.args...)
	cmd.Dir = filepath.Dir(p.dataDir)
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Backstop: if the test binary dies without running cleanups, the server dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.bin, err)
	}
	done := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.done = cmd, done
	p.mu.Unlock()
	go func() { _ = cmd.Wait(); close(done) }()
	return nil
}

// waitReady waits until the process answers imok (it serves requests).
func (p *Proc) waitReady() error {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	deadline := time.Now().Add(StartTimeout)
	for {
		select {
		case <-done:
			return fmt.Errorf("corral exited during start-up (%v)", cmd.ProcessState)
		default:
		}
		out, err := fourlw.SendTimeout(p.addr, "ruok", time.Second)
		if err == nil && out == "imok" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no imok from %s after %v (last: %q, %v)", p.addr, StartTimeout, out, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Addr returns the client address, "127.0.0.1:PORT". It stays the same across Restart.
func (p *Proc) Addr() string { return p.addr }

// DataDir returns the server's data directory. It stays the same across Restart.
func (p *Proc) DataDir() string { return p.dataDir }

// LogPath returns the file that collects the process's stdout and stderr (all runs).
func (p *Proc) LogPath() string { return p.logPath }

// PID returns the process id, or 0 when the process is not running.
func (p *Proc) PID() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Kill sends SIGKILL to the process (by PID) and waits for it to exit. It is safe to call
// more than once and on a process that already exited.
func (p *Proc) Kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Kill()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.t.Logf("corralproc: pid %d did not exit 10s after SIGKILL", cmd.Process.Pid)
	}
}

// Restart kills the process if it is running and starts it again with the same
// arguments, data directory and port, waiting for `imok`. A failure fails the test.
func (p *Proc) Restart() {
	p.t.Helper()
	p.Kill()
	deadline := time.Now().Add(StartTimeout)
	for {
		err := p.launch()
		if err == nil {
			return
		}
		p.Kill()
		// The old listener may linger briefly; retry while the port is busy.
		if strings.Contains(tail(p.logPath, 2000), "address already in use") && time.Now().Before(deadline) {
			time.Sleep(200 * time.Millisecond)
			continue
		}
		p.t.Fatalf("corralproc: restart failed: %v\n--- %s (tail) ---\n%s", err, p.logPath, tail(p.logPath, 4000))
	}
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

// StartCluster starts n members of one cluster on loopback (free client and peer
// ports, temporary data dirs), launching them all before waiting for each to serve,
// as members of a new cluster must be. extraArgs go to every member.
func StartCluster(t testing.TB, n int, extraArgs ...string) []*Proc {
	t.Helper()
	bin := Build(t)
	peerPorts := make([]int, n)
	var peers []string
	for i := range peerPorts {
		port, err := freeport.Get()
		if err != nil {
			t.Fatalf("corralproc: %v", err)
		}
		peerPorts[i] = port
		peers = append(peers, fmt.Sprintf("%d=127.0.0.1:%d", i+1, port))
	}
	procs := make([]*Proc, n)
	for i := range procs {
		dir := t.TempDir()
		p := &Proc{t: t, bin: bin, dataDir: filepath.Join(dir, "data"), logPath: filepath.Join(dir, "corral.log")}
		if err := os.MkdirAll(p.dataDir, 0o755); err != nil {
			t.Fatalf("corralproc: %v", err)
		}
		t.Cleanup(p.Kill)
		port, err := freeport.Get()
		if err != nil {
			t.Fatalf("corralproc: %v", err)
		}
		p.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		p.args = append([]string{"server", "--id", strconv.Itoa(i + 1), "--client-addr", p.addr, "--data-dir", p.dataDir,
			"--peer-addr", fmt.Sprintf("127.0.0.1:%d", peerPorts[i]), "--peers", strings.Join(peers, ",")}, extraArgs...)
		if err := p.spawn(); err != nil {
			t.Fatalf("corralproc: %v", err)
		}
		procs[i] = p
	}
	for _, p := range procs {
		if err := p.waitReady(); err != nil {
			t.Fatalf("corralproc: member did not start: %v\n--- %s (tail) ---\n%s", err, p.logPath, tail(p.logPath, 4000))
		}
	}
	return procs
}

// Pause freezes the process with SIGSTOP; Resume continues it with SIGCONT.
func (p *Proc) Pause() { p.signal(syscall.SIGSTOP) }

// Resume continues a paused process.
func (p *Proc) Resume() { p.signal(syscall.SIGCONT) }

func (p *Proc) signal(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && p.cmd.Process != nil {
		_ = p.cmd.Process.Signal(sig)
	}
}

// StartAgain runs a process that was killed, without waiting for it to serve (a
// restarted cluster member may need the others first). WaitReady waits.
func (p *Proc) StartAgain() {
	p.t.Helper()
	p.Kill()
	if err := p.spawn(); err != nil {
		p.t.Fatalf("corralproc: %v", err)
	}
}

// WaitReady waits until the process serves requests (imok).
func (p *Proc) WaitReady() {
	p.t.Helper()
	if err := p.waitReady(); err != nil {
		p.t.Fatalf("corralproc: %v\n--- %s (tail) ---\n%s", err, p.logPath, tail(p.logPath, 4000))
	}
}

// Mode returns the member's Mode line from srvr ("leader", "follower", ...), or "".
func (p *Proc) Mode() string { return fourlw.Line(p.addr, "srvr", "Mode: ") }

// StartAgainWith restarts a killed process with extra arguments added to those it
// had (for example --force-new-cluster), without waiting for it to serve.
func (p *Proc) StartAgainWith(extra ...string) {
	p.t.Helper()
	p.Kill()
	p.args = append(append([]string(nil), p.args...), extra...)
	if err := p.spawn(); err != nil {
		p.t.Fatalf("corralproc: %v", err)
	}
}

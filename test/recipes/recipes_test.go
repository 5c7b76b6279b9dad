// Package recipes runs the recipes of client/recipe against the real Curator (Java) and
// kazoo (Python) implementations, all three kinds of process contending for the same
// paths on one server: a corral server (TestRecipesCorral) and the reference ZooKeeper
// (TestRecipesReference, which proves the test itself right). Tools come from Debian
// (scripts/install-test-deps.sh); a missing tool fails the test, never skips it.
package recipes

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/client/recipe"
	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/refzk"
)

// Debian locations (see scripts/install-test-deps.sh).
const (
	python3 = "/usr/bin/python3" // the interpreter python3-kazoo is installed for
	javac   = "/usr/bin/javac"
	java    = "/usr/bin/java"
)

// curatorJars are the jars the Java worker compiles and runs against; their manifests'
// Class-Path entries bring guava, slf4j-api, zookeeper-jute and the rest.
var curatorJars = []string{
	"/usr/share/java/curator-recipes.jar",
	"/usr/share/java/curator-framework.jar",
	"/usr/share/java/curator-client.jar",
	"/usr/share/java/zookeeper.jar",
	"/usr/share/java/slf4j-nop.jar",
}

func TestRecipesCorral(t *testing.T) {
	runSuite(t, corralproc.Start(t).Addr())
}

func TestRecipesReference(t *testing.T) {
	runSuite(t, refzk.Start(t).Addr())
}

func runSuite(t *testing.T, addr string) {
	requireTools(t)
	classes := compileJava(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := connect(t, addr).Create(ctx, "/interop", nil, client.Persistent); err != nil {
		t.Fatal(err)
	}
	t.Run("group", func(t *testing.T) {
		t.Run("mutex_all_three", func(t *testing.T) { t.Parallel(); testMutexAllThree(t, addr, classes) })
		t.Run("kazoo_lock", func(t *testing.T) { t.Parallel(); testKazooLock(t, addr) })
		t.Run("kazoo_election", func(t *testing.T) { t.Parallel(); testKazooElection(t, addr) })
		t.Run("selector_all_three", func(t *testing.T) { t.Parallel(); testSelectorAllThree(t, addr, classes) })
		t.Run("curator_latch", func(t *testing.T) { t.Parallel(); testCuratorLatch(t, addr, classes) })
	})
}

func requireTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, p := range append([]string{python3, javac, java, "/usr/lib/python3/dist-packages/kazoo/client.py"}, curatorJars...) {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("interop tools missing: %s; run scripts/install-test-deps.sh", strings.Join(missing, ", "))
	}
}

// compileJava compiles java/Worker.java into a temporary directory.
func compileJava(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src, _ := filepath.Abs(filepath.Join("java", "Worker.java"))
	out, err := run(t, 90*time.Second, javac, "-nowarn", "-cp", strings.Join(curatorJars, ":"), "-d", dir, src)
	if err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	return dir
}

// run runs a command bounded by timeout (killed when it expires) and returns its
// combined output.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s timed out after %v (killed): %w", filepath.Base(name), timeout, err)
	}
	return string(out), err
}

// procs runs external workers concurrently and collects their failures.
type procs struct {
	t    *testing.T
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []string
}

func (p *procs) start(okMark string, name string, args ...string) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		out, err := run(p.t, 120*time.Second, name, args...)
		if err != nil || !strings.Contains(out, okMark) {
			p.mu.Lock()
			p.errs = append(p.errs, fmt.Sprintf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out))
			p.mu.Unlock()
		}
	}()
}

func (p *procs) wait() {
	p.wg.Wait()
	for _, e := range p.errs {
		p.t.Error(e)
	}
}

func kazooArgs(kase, addr, path, out, id, names, start string, iters int) []string {
	script, _ := filepath.Abs(filepath.Join("kazoo", "worker.py"))
	return []string{script, kase, "--hosts", addr, "--path", path, "--out", out, "--id", id,
		"--names", names, "--start", start, "--iters", fmt.Sprint(iters)}
}

func javaArgs(classes, mode, addr, path, out, start string, iters, clients int) []string {
	return []string{"-Xmx128m", "-cp", classes + ":" + strings.Join(curatorJars, ":"), "Worker",
		mode, addr, path, out, fmt.Sprint(iters), fmt.Sprint(clients), start}
}

func connect(t *testing.T, addr string) *client.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// logLine appends "event who time" to the shared log in one write.
func logLine(t *testing.T, out, event, who string) {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := fmt.Fprintf(f, "%s %s %d\n", event, who, time.Now().UnixNano()); err != nil {
		t.Error(err)
	}
}

// releaseStart waits for the external processes to connect (they poll for the start
// node), then creates it so every contender starts at once.
func releaseStart(t *testing.T, c *client.Conn, start string, delay time.Duration) {
	time.Sleep(delay)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Create(ctx, start, nil, client.Persistent); err != nil {
		t.Error(err)
	}
}

func waitStart(ctx context.Context, c *client.Conn, start string) error {
	for {
		ok, _, ch, err := c.ExistsW(ctx, start)
		if err != nil || ok {
			return err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// checkExclusive checks that the log is a sequence of (in, out) pairs by the same
// holder, with the expected number of entries per holder kind (prefix), and that the
// kinds interleave (the holders really contended).
func checkExclusive(t *testing.T, out, in, outEv string, want map[string]int) {
	t.Helper()
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	dump := strings.Join(lines, "\n")
	got := map[string]int{}
	switches := 0
	prevKind := ""
	for i := 0; i+1 < len(lines); i += 2 {
		a, z := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if len(a) != 3 || len(z) != 3 || a[0] != in || z[0] != outEv || a[1] != z[1] {
			t.Fatalf("exclusion violated at line %d: %q then %q\n%s", i+1, lines[i], lines[i+1], dump)
		}
		kind := strings.SplitN(a[1], "-", 2)[0]
		got[kind]++
		if prevKind != "" && kind != prevKind {
			switches++
		}
		prevKind = kind
	}
	if len(lines)%2 != 0 {
		t.Fatalf("odd log:\n%s", dump)
	}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("%s held %d times, want %d\n%s", k, got[k], n, dump)
		}
	}
	if len(want) > 1 && switches < len(want)-1 {
		t.Fatalf("kinds did not interleave:\n%s", dump)
	}
	t.Logf("%d holds, %d hand-overs between kinds", len(lines)/2, switches)
}

// testMutexAllThree: Go recipe.Mutex (2 sessions), Curator InterProcessMutex (2
// sessions in one JVM) and kazoo Lock (2 processes, Curator-compatible names) take
// one lock path in turns; the shared log shows that no two ever held it at once.
func testMutexAllThree(t *testing.T, addr, classes string) {
	const iters = 5
	path, start := "/interop/mutex", "/interop/mutex-start"
	out := filepath.Join(t.TempDir(), "mutex.log")
	c := connect(t, addr)
	p := &procs{t: t}
	p.start("OK mutex", java, javaArgs(classes, "mutex", addr, path, out, start, iters, 2)...)
	for i := 0; i < 2; i++ {
		p.start("OK lock", python3, kazooArgs("lock", addr, path, out, fmt.Sprintf("kazoo-%d", i), "curator", start, iters)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		m := recipe.NewMutex(connect(t, addr), path, []byte("go"))
		who := fmt.Sprintf("go-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := waitStart(ctx, c, start); err != nil {
				t.Error(err)
				return
			}
			for j := 0; j < iters; j++ {
				if err := m.Lock(ctx); err != nil {
					t.Error(err)
					return
				}
				logLine(t, out, "enter", who)
				time.Sleep(20 * time.Millisecond)
				logLine(t, out, "exit", who)
				if err := m.Unlock(ctx); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	releaseStart(t, c, start, 3*time.Second)
	wg.Wait()
	p.wait()
	if t.Failed() {
		return
	}
	checkExclusive(t, out, "enter", "exit", map[string]int{"go": 2 * iters, "curator": 2 * iters, "kazoo": 2 * iters})
}

// testKazooLock: stock kazoo Lock processes and Go Mutexes with kazoo's node names.
func testKazooLock(t *testing.T, addr string) {
	const iters = 5
	path, start := "/interop/kazoo-lock", "/interop/kazoo-lock-start"
	out := filepath.Join(t.TempDir(), "lock.log")
	c := connect(t, addr)
	p := &procs{t: t}
	for i := 0; i < 2; i++ {
		p.start("OK lock", python3, kazooArgs("lock", addr, path, out, fmt.Sprintf("kazoo-%d", i), "kazoo", start, iters)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		m := recipe.NewMutex(connect(t, addr), path, []byte("go"), recipe.WithKazooNames())
		who := fmt.Sprintf("go-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := waitStart(ctx, c, start); err != nil {
				t.Error(err)
				return
			}
			for j := 0; j < iters; j++ {
				if err := m.Lock(ctx); err != nil {
					t.Error(err)
					return
				}
				logLine(t, out, "enter", who)
				time.Sleep(20 * time.Millisecond)
				logLine(t, out, "exit", who)
				_ = m.Unlock(ctx)
			}
		}()
	}
	releaseStart(t, c, start, 1500*time.Millisecond)
	wg.Wait()
	p.wait()
	if t.Failed() {
		return
	}
	checkExclusive(t, out, "enter", "exit", map[string]int{"go": 2 * iters, "kazoo": 2 * iters})
}

// goSelectors runs n Go LeaderSelectors that each lead once, logging lead/resign.
func goSelectors(t *testing.T, wg *sync.WaitGroup, ctx context.Context, addr, path, out, start string, c *client.Conn, n int, opts ...recipe.Option) {
	for i := 0; i < n; i++ {
		who := fmt.Sprintf("go-%d", i)
		s := recipe.NewLeaderSelector(connect(t, addr), path, []byte(who), func(ctx context.Context) error {
			logLine(t, out, "lead", who)
			time.Sleep(100 * time.Millisecond)
			logLine(t, out, "resign", who)
			return nil
		}, opts...)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := waitStart(ctx, c, start); err != nil {
				t.Error(err)
				return
			}
			if err := s.Lead(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
}

// testKazooElection: stock kazoo Election processes and Go LeaderSelectors with
// kazoo's node names; each leads once, never two at once.
func testKazooElection(t *testing.T, addr string) {
	path, start := "/interop/kazoo-election", "/interop/kazoo-election-start"
	out := filepath.Join(t.TempDir(), "election.log")
	c := connect(t, addr)
	p := &procs{t: t}
	for i := 0; i < 2; i++ {
		p.start("OK election", python3, kazooArgs("election", addr, path, out, fmt.Sprintf("kazoo-%d", i), "kazoo", start, 1)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	goSelectors(t, &wg, ctx, addr, path, out, start, c, 2, recipe.WithKazooNames())
	releaseStart(t, c, start, 1500*time.Millisecond)
	wg.Wait()
	p.wait()
	if t.Failed() {
		return
	}
	checkExclusive(t, out, "lead", "resign", map[string]int{"go": 2, "kazoo": 2})
}

// testSelectorAllThree: Go LeaderSelectors, Curator LeaderSelectors and kazoo
// Elections (Curator-compatible names) on one path.
func testSelectorAllThree(t *testing.T, addr, classes string) {
	path, start := "/interop/selector", "/interop/selector-start"
	out := filepath.Join(t.TempDir(), "selector.log")
	c := connect(t, addr)
	p := &procs{t: t}
	p.start("OK selector", java, javaArgs(classes, "selector", addr, path, out, start, 1, 2)...)
	for i := 0; i < 2; i++ {
		p.start("OK election", python3, kazooArgs("election", addr, path, out, fmt.Sprintf("kazoo-%d", i), "curator", start, 1)...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	goSelectors(t, &wg, ctx, addr, path, out, start, c, 2)
	releaseStart(t, c, start, 3*time.Second)
	wg.Wait()
	p.wait()
	if t.Failed() {
		return
	}
	checkExclusive(t, out, "lead", "resign", map[string]int{"go": 2, "curator": 2, "kazoo": 2})
}

// testCuratorLatch: Go LeaderLatches and Curator LeaderLatches on one path; each leads
// once (then closes its latch), never two at once.
func testCuratorLatch(t *testing.T, addr, classes string) {
	path, start := "/interop/latch", "/interop/latch-start"
	out := filepath.Join(t.TempDir(), "latch.log")
	c := connect(t, addr)
	p := &procs{t: t}
	p.start("OK latch", java, javaArgs(classes, "latch", addr, path, out, start, 1, 3)...)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		who := fmt.Sprintf("go-%d", i)
		l := recipe.NewLeaderLatch(connect(t, addr), path, who)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := waitStart(ctx, c, start); err != nil {
				t.Error(err)
				return
			}
			if err := l.Start(ctx); err != nil {
				t.Error(err)
				return
			}
			if err := l.Await(ctx); err != nil {
				t.Error(err)
				return
			}
			logLine(t, out, "lead", who)
			time.Sleep(100 * time.Millisecond)
			logLine(t, out, "resign", who)
			if err := l.Close(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	releaseStart(t, c, start, 3*time.Second)
	wg.Wait()
	p.wait()
	if t.Failed() {
		return
	}
	checkExclusive(t, out, "lead", "resign", map[string]int{"go": 3, "curator": 3})
}

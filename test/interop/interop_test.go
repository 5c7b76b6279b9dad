// Package interop runs real ZooKeeper clients — kazoo (Python), zkCli.sh (Java), cli_mt
// (the C client), go-zookeeper and a raw pre-3.4 style handshake — against a server, and
// asserts on what they observe. The same suite runs against the reference ZooKeeper
// (TestInteropReference, which proves the assertions right) and against corral
// (TestInteropCorral). Tools come from Debian; scripts/install-test-deps.sh installs them,
// and a missing tool fails the test rather than skipping it.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/refzk"
)

// Debian locations of the external clients (see scripts/install-test-deps.sh).
const (
	python3 = "/usr/bin/python3" // Debian's interpreter: the one python3-kazoo is installed for
	zkCli   = "/usr/share/zookeeper/bin/zkCli.sh"
	cliMT   = "/usr/lib/zookeeper/bin/cli_mt"
)

// TestInteropReference runs the suite against Debian's Apache ZooKeeper 3.8.
func TestInteropReference(t *testing.T) {
	srv := refzk.Start(t)
	runSuite(t, srv.Addr())
}

// TestInteropCorral runs the suite against a freshly built `corral server`.
// While the server is not there yet, CORRAL_INTEROP_PENDING=1 skips it.
func TestInteropCorral(t *testing.T) {
	p := corralproc.Start(t)
	runSuite(t, p.Addr())
}

// runSuite runs every interop case against the server at addr. Cases run in parallel;
// each works under its own top-level znode.
func runSuite(t *testing.T, addr string) {
	requireTools(t)
	kazooCases := []string{
		"crud", "ephemeral_sequential", "container_ttl", "transaction", "watches",
		"persistent_watches", "acl", "barrier", "queue", "treecache",
	}
	t.Run("group", func(t *testing.T) {
		for _, c := range kazooCases {
			t.Run("kazoo/"+c, func(t *testing.T) {
				t.Parallel()
				kazoo(t, addr, c, "/kazoo-"+c)
			})
		}
		t.Run("kazoo/lock", func(t *testing.T) { t.Parallel(); testKazooLock(t, addr) })
		t.Run("kazoo/election", func(t *testing.T) { t.Parallel(); testKazooElection(t, addr) })
		t.Run("kazoo/counter", func(t *testing.T) { t.Parallel(); testKazooCounter(t, addr) })
		t.Run("zkCli", func(t *testing.T) { t.Parallel(); testZkCli(t, addr) })
		t.Run("cli_mt", func(t *testing.T) { t.Parallel(); testCliMT(t, addr) })
		t.Run("old_client_handshake", func(t *testing.T) { t.Parallel(); testOldClientHandshake(t, addr) })
		t.Run("go_zookeeper", func(t *testing.T) { t.Parallel(); testGoZK(t, addr) })
	})
}

// requireTools fails (never skips) when an external client is missing.
func requireTools(t *testing.T) {
	t.Helper()
	var missing []string
	for _, p := range []string{python3, zkCli, cliMT, "/usr/lib/python3/dist-packages/kazoo/client.py"} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("interop tools missing: %s; run scripts/install-test-deps.sh", strings.Join(missing, ", "))
	}
}

// ---------------------------------------------------------------- subprocesses

// run starts name with args, bounded by timeout (the process is killed by PID when it
// expires), and returns its combined output.
func run(t *testing.T, timeout time.Duration, stdin string, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%s timed out after %v (killed): %w", filepath.Base(name), timeout, err)
	}
	return string(out), err
}

func kazooScript() string {
	p, _ := filepath.Abs(filepath.Join("kazoo", "cases.py"))
	return p
}

// kazoo runs one case of kazoo/cases.py and fails the test with its output on failure.
func kazoo(t *testing.T, addr, kase, root string, extra ...string) {
	t.Helper()
	args := append([]string{kazooScript(), kase, "--hosts", addr, "--root", root}, extra...)
	out, err := run(t, 90*time.Second, "", nil, python3, args...)
	if err != nil || !strings.Contains(out, "OK "+kase) {
		t.Fatalf("kazoo %s: %v\n%s", kase, err, out)
	}
}

// kazooParallel runs n copies of a worker case at once and fails on any failure.
func kazooParallel(t *testing.T, addr, kase, root string, n int, extra ...string) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{kazooScript(), kase, "--hosts", addr, "--root", root, "--id", fmt.Sprint(i)}, extra...)
			out, err := run(t, 90*time.Second, "", nil, python3, args...)
			if err != nil || !strings.Contains(out, "OK "+kase) {
				errs[i] = fmt.Sprintf("worker %d: %v\n%s", i, err, out)
			}
		}()
	}
	wg.Wait()
	for _, e := range errs {
		if e != "" {
			t.Errorf("kazoo %s %s", kase, e)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// ---------------------------------------------------------------- kazoo recipes across processes

// testKazooLock: three processes take the same kazoo Lock five times each; the
// critical sections, logged to a file under flock, must never overlap.
func testKazooLock(t *testing.T, addr string) {
	const workers, iters = 3, 5
	out := filepath.Join(t.TempDir(), "lock.log")
	kazooParallel(t, addr, "lock_worker", "/kazoo-lock", workers, "--out", out, "--iters", fmt.Sprint(iters))
	lines := readLines(t, out)
	if len(lines) != 2*workers*iters {
		t.Fatalf("lock log has %d lines, want %d:\n%s", len(lines), 2*workers*iters, strings.Join(lines, "\n"))
	}
	for i := 0; i < len(lines); i += 2 {
		enter, exit := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if enter[0] != "enter" || exit[0] != "exit" || enter[1] != exit[1] || enter[2] != exit[2] {
			t.Fatalf("mutual exclusion violated at line %d: %q then %q\n%s", i+1, lines[i], lines[i+1], strings.Join(lines, "\n"))
		}
	}
}

// testKazooElection: three processes run a kazoo Election; each leads exactly once and
// leaderships never overlap.
func testKazooElection(t *testing.T, addr string) {
	const n = 3
	out := filepath.Join(t.TempDir(), "election.log")
	kazooParallel(t, addr, "election_worker", "/kazoo-election", n, "--out", out)
	lines := readLines(t, out)
	leaders := map[string]bool{}
	for i := 0; i+1 < len(lines); i += 2 {
		a, b := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		if a[0] != "lead" || b[0] != "resign" || a[1] != b[1] {
			t.Fatalf("overlapping leadership at line %d:\n%s", i+1, strings.Join(lines, "\n"))
		}
		if leaders[a[1]] {
			t.Fatalf("candidate %s led twice:\n%s", a[1], strings.Join(lines, "\n"))
		}
		leaders[a[1]] = true
	}
	if len(lines) != 2*n || len(leaders) != n {
		t.Fatalf("want %d leaderships, log:\n%s", n, strings.Join(lines, "\n"))
	}
}

// testKazooCounter: two processes increment one kazoo Counter 20 times each
// (optimistic concurrency on the node version); no increment may be lost.
func testKazooCounter(t *testing.T, addr string) {
	const n, iters = 2, 20
	kazooParallel(t, addr, "counter_worker", "/kazoo-counter", n, "--iters", fmt.Sprint(iters))
	kazoo(t, addr, "counter_check", "/kazoo-counter", "--iters", fmt.Sprint(n*iters))
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// ---------------------------------------------------------------- zkCli.sh

// testZkCli feeds zkCli.sh a batch of commands on stdin and checks its output.
func testZkCli(t *testing.T, addr string) {
	cmds := []string{
		"create /cli",
		"create /cli/a hello",
		"ls /cli",
		"get -s /cli/a",
		"set /cli/a world",
		"get /cli/a",
		"create -e -s /cli/e- eph",
		"stat /cli",
		"create /cli/d",
		"create /cli/d/x",
		"create /cli/d/x/y",
		"deleteall /cli/d",
		"delete /cli/a",
		"get /cli/nope",
		"create -c /cli/cont",
		"create -t 100000 /cli/ttl",
		"ls /cli",
		"quit",
	}
	logDir := t.TempDir()
	env := []string{
		"ZOO_LOG_DIR=" + logDir,
		"CLIENT_JVMFLAGS=-Xmx64m -XX:+UseSerialGC -XX:TieredStopAtLevel=1",
	}
	out, err := run(t, 60*time.Second, strings.Join(cmds, "\n")+"\n", env, zkCli, "-server", addr, "-waitforconnection", "-timeout", "15000")
	if err != nil {
		t.Fatalf("zkCli.sh: %v\n%s", err, out)
	}
	// Each entry must match, in this order, in the output.
	want := []string{
		`Created /cli\n`,
		`Created /cli/a\n`,
		`\[a\]\n`,
		`hello\ncZxid = 0x[0-9a-f]+\nctime = .+\nmZxid = 0x[0-9a-f]+\nmtime = .+\npZxid = 0x[0-9a-f]+\ncversion = 0\ndataVersion = 0\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 5\nnumChildren = 0\n`,
		`world\n`,
		`Created /cli/e-0000000001\n`,
		`cversion = 2\ndataVersion = 0\naclVersion = 0\nephemeralOwner = 0x0\ndataLength = 0\nnumChildren = 2\n`,
		`Created /cli/d/x/y\n`,
		`Node does not exist: /cli/nope\n`,
		`Created /cli/cont\n`,
		`Created /cli/ttl\n`,
		`\[cont, e-0000000001, ttl\]\n`,
	}
	checkOrdered(t, "zkCli.sh", out, want)
}

// checkOrdered asserts that every regexp in want matches out, each after the previous.
func checkOrdered(t *testing.T, what, out string, want []string) {
	t.Helper()
	rest := out
	for _, w := range want {
		re := regexp.MustCompile(w)
		loc := re.FindStringIndex(rest)
		if loc == nil {
			t.Fatalf("%s output lacks %q (in order); full output:\n%s", what, w, out)
		}
		rest = rest[loc[1]:]
	}
}

// ---------------------------------------------------------------- cli_mt

// testCliMT drives the C client's interactive shell one command at a time, waiting for
// each answer (the shell is asynchronous, and prints everything on stderr).
func testCliMT(t *testing.T, addr string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, cliMT, "-h", addr)
	cmd.WaitDelay = 5 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cliMT, err)
	}
	var mu sync.Mutex
	var buf bytes.Buffer
	go func() {
		r := bufio.NewReader(pr)
		for {
			line, err := r.ReadString('\n')
			mu.Lock()
			buf.WriteString(line)
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
	})
	seen := 0 // output before this offset has been matched already
	expect := func(step, pattern string) {
		t.Helper()
		re := regexp.MustCompile(pattern)
		deadline := time.Now().Add(15 * time.Second)
		for {
			mu.Lock()
			out := buf.String()
			mu.Unlock()
			if loc := re.FindStringIndex(out[seen:]); loc != nil {
				seen += loc[1]
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("cli_mt: after %q, no output matching %q within 15s; output:\n%s", step, pattern, out)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	send := func(line, pattern string) {
		t.Helper()
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatalf("cli_mt: write %q: %v", line, err)
		}
		expect(line, pattern)
	}
	expect("connect", `Watcher SESSION_EVENT state = CONNECTED_STATE`)
	send("create /cmt", `\[/cmt\]: rc = 0\n\tname = /cmt\n`)
	send("create /cmt/x", `\[/cmt/x\]: rc = 0\n\tname = /cmt/x\n`)
	send("get /cmt/x", `/cmt/x: rc = 0\n value_len = 3\nnew\nStat:\n(?:.*\n)*?\tversion=0\taversion=0\n`) // cli_mt's create stores "new"
	send("set /cmt/x hello", `/cmt/x: rc = 0 Stat:\n(?:.*\n)*?\tversion=1\taversion=0\n`)
	send("get /cmt/x", `/cmt/x: rc = 0\n value_len = 5\nhello\n`)
	send("ls /cmt", `/cmt: rc = 0\n\tx\n`)
	send("create +e /cmt/eph", `\[/cmt/eph\]: rc = 0\n\tname = /cmt/eph\n`)
	send("create +s /cmt/seq-", `\[/cmt/seq-\]: rc = 0\n\tname = /cmt/seq-0000000002\n`)
	send("create2 +es /cmt/es-", `\[/cmt/es-\]: rc = 0\n\tname = /cmt/es-0000000003\n(?:.*\n)*?\tephemeralOwner = [1-9a-f][0-9a-f]*\n`)
	send("create +c /cmt/cont", `\[/cmt/cont\]: rc = 0\n`)
	send("create +t=60000 /cmt/ttl", `\[/cmt/ttl\]: rc = 0\n`)
	send("ls2 /cmt", `/cmt: rc = 0\n(?:\t[a-z0-9-]+\n){6}`)
	send("delete /cmt/x", `/cmt/x: rc = 0\n`)
	send("get /cmt/x", `/cmt/x: rc = -101\n`)
	send("create /cmt/ttl", `\[/cmt/ttl\]: rc = -110\n`)
	send("wexists /cmt/later", `Error -101 for /cmt/later\n`)
	send("create /cmt/later", `Watcher CREATED_EVENT state = CONNECTED_STATE for path /cmt/later\n`)
	send("sync /cmt", `\[/cmt\]: rc = 0\n`)
	send("quit", `Quitting...\n`)
	stdin.Close()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("cli_mt exited with %v; output:\n%s", err, buf.String())
		}
	case <-ctx.Done():
		t.Fatalf("cli_mt did not exit after quit")
	}
}

// ---------------------------------------------------------------- old-client handshake

// testOldClientHandshake sends a 44-byte ConnectRequest without the trailing readOnly
// byte (as pre-3.4 and some non-Java clients do), expects a valid ConnectResponse, then a
// ping and an exists round trip on the new session.
func testOldClientHandshake(t *testing.T, addr string) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(15 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var req bytes.Buffer
	be := func(v any) { _ = binary.Write(&req, binary.BigEndian, v) }
	be(int32(0))     // protocolVersion
	be(int64(0))     // lastZxidSeen
	be(int32(30000)) // timeOut
	be(int64(0))     // sessionId
	be(int32(16))    // passwd length
	req.Write(make([]byte, 16))
	if req.Len() != 44 {
		t.Fatalf("connect body is %d bytes, want 44", req.Len())
	}
	writeFrame(t, conn, req.Bytes())

	body := readFrame(t, conn)
	// ConnectResponse{int protocolVersion; int timeOut; long sessionId; buffer passwd; [boolean readOnly]}
	// The reference answers an old client in the old format: 36 bytes, no readOnly byte
	// (ProtocolManager.serializeConnectResponse). go-zookeeper is such a client too.
	if len(body) != 36 {
		t.Fatalf("ConnectResponse is %d bytes (%x), want 36 (no readOnly byte for a client that sent none)", len(body), body)
	}
	proto := int32(binary.BigEndian.Uint32(body[0:]))
	timeout := int32(binary.BigEndian.Uint32(body[4:]))
	sid := int64(binary.BigEndian.Uint64(body[8:]))
	plen := int32(binary.BigEndian.Uint32(body[16:]))
	t.Logf("ConnectResponse: %d bytes, protocolVersion=%d timeOut=%d sessionId=%#x passwdLen=%d", len(body), proto, timeout, sid, plen)
	if proto != 0 || timeout <= 0 || timeout > 30000 || sid == 0 || plen != 16 {
		t.Fatalf("bad ConnectResponse %x: protocolVersion=%d timeOut=%d sessionId=%#x passwdLen=%d", body, proto, timeout, sid, plen)
	}

	// ping: RequestHeader{xid=-2, type=11}; reply ReplyHeader{xid=-2, zxid, err=0}
	writeFrame(t, conn, be32s(-2, 11))
	rep := readFrame(t, conn)
	if len(rep) != 16 || int32(binary.BigEndian.Uint32(rep[0:])) != -2 || binary.BigEndian.Uint32(rep[12:]) != 0 {
		t.Fatalf("ping reply %x, want xid -2, err 0, no body", rep)
	}

	// exists("/zookeeper", no watch): RequestHeader{1, 3} + ustring + bool
	var ex bytes.Buffer
	ex.Write(be32s(1, 3))
	ex.Write(be32s(int32(len("/zookeeper"))))
	ex.WriteString("/zookeeper")
	ex.WriteByte(0)
	writeFrame(t, conn, ex.Bytes())
	rep = readFrame(t, conn)
	if len(rep) != 16+68 || binary.BigEndian.Uint32(rep[0:]) != 1 || binary.BigEndian.Uint32(rep[12:]) != 0 {
		t.Fatalf("exists(/zookeeper) reply %x, want xid 1, err 0 and a 68-byte Stat", rep)
	}

	// closeSession: RequestHeader{2, -11}; reply xid 2 err 0.
	writeFrame(t, conn, be32s(2, -11))
	rep = readFrame(t, conn)
	if len(rep) < 16 || binary.BigEndian.Uint32(rep[0:]) != 2 || binary.BigEndian.Uint32(rep[12:]) != 0 {
		t.Fatalf("closeSession reply %x", rep)
	}
}

func be32s(vs ...int32) []byte {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint32(b[4*i:], uint32(v))
	}
	return b
}

func writeFrame(t *testing.T, w io.Writer, body []byte) {
	t.Helper()
	frame := append(be32s(int32(len(body))), body...)
	if _, err := w.Write(frame); err != nil {
		t.Fatalf("write frame: %v", err)
	}
}

func readFrame(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var n [4]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		t.Fatalf("read frame length: %v", err)
	}
	size := binary.BigEndian.Uint32(n[:])
	if size > 1<<20 {
		t.Fatalf("frame length %d too large", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatalf("read frame body (%d bytes): %v", size, err)
	}
	return body
}

// ---------------------------------------------------------------- go-zookeeper

// testGoZK is a smoke test with github.com/go-zookeeper/zk: create, get, set,
// children, multi and one-shot watches.
func testGoZK(t *testing.T, addr string) {
	c, _, err := zk.Connect([]string{addr}, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	acl := zk.WorldACL(zk.PermAll)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	p, err := c.Create("/gozk", []byte("root"), 0, acl)
	must(err)
	if p != "/gozk" {
		t.Fatalf("create returned %q", p)
	}
	data, st, err := c.Get("/gozk")
	must(err)
	if string(data) != "root" || st.Version != 0 || st.DataLength != 4 {
		t.Fatalf("get: %q %+v", data, st)
	}
	st2, err := c.Set("/gozk", []byte("v1"), 0)
	must(err)
	if st2.Version != 1 || st2.Mzxid <= st.Mzxid || st2.Czxid != st.Czxid {
		t.Fatalf("set stat %+v after %+v", st2, st)
	}
	if _, err := c.Set("/gozk", []byte("v2"), 0); !errors.Is(err, zk.ErrBadVersion) {
		t.Fatalf("set with stale version: %v, want ErrBadVersion", err)
	}
	seq, err := c.Create("/gozk/s-", nil, zk.FlagSequence|zk.FlagEphemeral, acl)
	must(err)
	if seq != "/gozk/s-0000000000" {
		t.Fatalf("ephemeral sequential: %q", seq)
	}

	// watches: a data watch fires on set, a child watch on create
	_, _, dataW, err := c.GetW("/gozk")
	must(err)
	kids, _, kidW, err := c.ChildrenW("/gozk")
	must(err)
	if !slices.Equal(kids, []string{"s-0000000000"}) {
		t.Fatalf("children %v", kids)
	}
	_, err = c.Set("/gozk", []byte("v2"), -1)
	must(err)
	waitEvent(t, dataW, zk.EventNodeDataChanged, "/gozk")
	_, err = c.Create("/gozk/k", nil, 0, acl)
	must(err)
	waitEvent(t, kidW, zk.EventNodeChildrenChanged, "/gozk")

	// multi: all or nothing
	res, err := c.Multi(
		&zk.CreateRequest{Path: "/gozk/m1", Data: []byte("a"), Acl: acl},
		&zk.SetDataRequest{Path: "/gozk/m1", Data: []byte("b"), Version: 0},
		&zk.CheckVersionRequest{Path: "/gozk", Version: 2},
		&zk.DeleteRequest{Path: "/gozk/k", Version: -1},
	)
	must(err)
	if len(res) != 4 || res[0].String != "/gozk/m1" || res[1].Stat == nil || res[1].Stat.Version != 1 {
		t.Fatalf("multi results %+v", res)
	}
	_, err = c.Multi(
		&zk.CreateRequest{Path: "/gozk/m2", Acl: acl},
		&zk.DeleteRequest{Path: "/gozk/missing", Version: -1},
	)
	if !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("failing multi: %v, want ErrNoNode", err)
	}
	if ok, _, err := c.Exists("/gozk/m2"); err != nil || ok {
		t.Fatalf("/gozk/m2 exists=%v err=%v after a failed multi", ok, err)
	}
	kids, _, err = c.Children("/gozk")
	must(err)
	slices.Sort(kids)
	if !slices.Equal(kids, []string{"m1", "s-0000000000"}) {
		t.Fatalf("children after multi: %v", kids)
	}
	data, _, err = c.Get("/gozk/m1")
	must(err)
	if string(data) != "b" {
		t.Fatalf("/gozk/m1 = %q", data)
	}
}

func waitEvent(t *testing.T, ch <-chan zk.Event, typ zk.EventType, path string) {
	t.Helper()
	select {
	case ev := <-ch:
		if ev.Type != typ || ev.Path != path || ev.Err != nil {
			t.Fatalf("event %+v, want %v on %s", ev, typ, path)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %v event on %s within 10s", typ, path)
	}
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/corral-io/corral/client"
	"github.com/corral-io/corral/internal/testutil/corralproc"
)

// runCLI runs the built `corral cli` with args (and stdin) and returns its stdout,
// stderr and exit status.
func runCLI(t *testing.T, bin, stdin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"cli"}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("corral cli %q did not exit within 60s", args)
	}
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func TestCLIOneShot(t *testing.T) {
	srv := corralproc.Start(t)
	bin := corralproc.Build(t)
	addr := srv.Addr()

	out, errOut, code := runCLI(t, bin, "", "--server", addr,
		"-c", `create /it "hello world"`, "-c", "create /it/kid; create -s /it/seq- x; ls /it; get /it")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	want := "Created /it\nCreated /it/kid\nCreated /it/seq-0000000001\n[kid, seq-0000000001]\nhello world\n"
	if out != want {
		t.Fatalf("stdout\n%s\nwant\n%s", out, want)
	}

	// get -s: the data, then the stat as zkCli prints it.
	out, _, code = runCLI(t, bin, "", "--server", addr, "get", "-s", "/it")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if code != 0 || len(lines) != 12 || lines[0] != "hello world" || !strings.HasPrefix(lines[1], "cZxid = 0x") ||
		!strings.HasPrefix(lines[2], "ctime = ") || lines[6] != "cversion = 2" || lines[7] != "dataVersion = 0" ||
		lines[9] != "ephemeralOwner = 0x0" || lines[10] != "dataLength = 11" || lines[11] != "numChildren = 2" {
		t.Fatalf("get -s: exit %d\n%s", code, out)
	}

	// Errors read like zkCli's and make the exit status non-zero; -c stops at the first.
	for _, tc := range []struct {
		cmds   string
		stdout string
		stderr string
		code   int
	}{
		{"get /nope; ls /", "", "Node does not exist: /nope\n", 1},
		{"create /it", "", "Node already exists: /it\n", 1},
		{"set -v 7 /it x", "", "version No is not valid : /it\n", 1},
		{"delete /it", "", "Node not empty: /it\n", 1},
		{"ls it", "", "Path must start with / character\n", 1},
		{"ls", "", "ls [-s] [-w] [-R] path\n", 1},
		{"create -x /a", "", "Unrecognized option: -x\n", 1},
		{"stat /nope", "", "Node does not exist: /nope\n", 1},
		{"sync /it; getAllChildrenNumber /it", "Sync is OK\n2\n", "", 0},
	} {
		out, errOut, code := runCLI(t, bin, "", "--server", addr, "-c", tc.cmds)
		if out != tc.stdout || errOut != tc.stderr || code != tc.code {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d, %q, %q", tc.cmds, code, out, errOut, tc.code, tc.stdout, tc.stderr)
		}
	}
	_, errOut, code = runCLI(t, bin, "", "--server", addr, "-c", "frobnicate")
	if code != 127 || !strings.HasSuffix(errOut, "Command not found: frobnicate\n") {
		t.Errorf("unknown command: exit %d, %q", code, errOut)
	}

	// ACLs, auth, recursion, deleteall.
	out, errOut, code = runCLI(t, bin, "", "--server", addr, "-c",
		"create /acl x digest:"+client.DigestID("u", "pw")+":cdrwa,world:anyone:r; getAcl /acl; set /acl y")
	// ZooKeeper shows digest ids with the hash masked; without auth, writes are refused.
	if code != 1 || out != "Created /acl\n'digest,'u:x\n: cdrwa\n'world,'anyone\n: r\n" || errOut != "Insufficient permission : /acl\n" {
		t.Fatalf("acl: exit %d, stderr %q\n%s", code, errOut, out)
	}
	out, errOut, code = runCLI(t, bin, "", "--server", addr, "-c",
		"addauth digest u:pw; whoami; set /acl y; ls -R /it; deleteall /it; ls /")
	want = "Auth scheme: User\n"
	if code != 0 || errOut != "" || !strings.HasPrefix(out, want) || !strings.Contains(out, "digest: u\n") ||
		!strings.HasSuffix(out, "/it\n/it/kid\n/it/seq-0000000001\n[acl, zookeeper]\n") {
		t.Fatalf("acl/auth/ls -R: exit %d, stderr %q\n%s", code, errOut, out)
	}

	// Commands piped on stdin, one per line: errors do not stop the rest; the exit
	// status says one failed.
	out, errOut, code = runCLI(t, bin, "create /p 1\nget /missing\n\nset /p 2\nget /p\n", "--server", addr)
	if code != 1 || out != "Created /p\n2\n" || errOut != "Node does not exist: /missing\n" {
		t.Fatalf("piped: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// A chroot in the connect string.
	runCLI(t, bin, "", "--server", addr, "-c", "create /app; create /app/x inner")
	out, _, code = runCLI(t, bin, "", "--server", addr+"/app", "-c", "ls /; get /x")
	if code != 0 || out != "[x]\ninner\n" {
		t.Fatalf("chroot: exit %d, %q", code, out)
	}

	// No server: a clear error, non-zero status.
	_, errOut, code = runCLI(t, bin, "", "--server", "127.0.0.1:1", "--timeout", "500ms", "-c", "ls /")
	if code == 0 || !strings.Contains(errOut, "could not connect to 127.0.0.1:1") {
		t.Fatalf("no server: exit %d, %q", code, errOut)
	}
}

func TestCLIJSON(t *testing.T) {
	srv := corralproc.Start(t)
	bin := corralproc.Build(t)
	out, errOut, code := runCLI(t, bin, "", "--server", srv.Addr(), "--json", "-c",
		`create /j "hi there"; create /j/a; ls -s /j; get /j; stat /j; getAcl /j; set /j new; ls -R /j; getEphemerals; get /nope`)
	if code != 1 || errOut != "" {
		t.Fatalf("exit %d (want 1: the last command fails), stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 10 {
		t.Fatalf("want one JSON document per command, got %d lines:\n%s", len(lines), out)
	}
	docs := make([]map[string]any, len(lines))
	for i, l := range lines {
		if err := json.Unmarshal([]byte(l), &docs[i]); err != nil {
			t.Fatalf("line %d is not JSON: %v\n%s", i, err, l)
		}
	}
	check := func(i int, key string, want any) {
		t.Helper()
		got, _ := json.Marshal(docs[i][key])
		w, _ := json.Marshal(want)
		if !bytes.Equal(got, w) {
			t.Errorf("doc %d (%s): %s = %s, want %s", i, lines[i], key, got, w)
		}
	}
	check(0, "path", "/j")
	check(1, "path", "/j/a")
	check(2, "children", []string{"a"})
	check(3, "data", "hi there")
	check(3, "path", "/j")
	stat := docs[3]["stat"].(map[string]any)
	if stat["numChildren"] != 1.0 || stat["dataLength"] != 8.0 || stat["version"] != 0.0 || stat["czxid"].(float64) <= 0 {
		t.Errorf("stat: %v", stat)
	}
	check(4, "stat", docs[3]["stat"])
	check(5, "acl", []map[string]string{{"scheme": "world", "id": "anyone", "perms": "cdrwa"}})
	if docs[6]["stat"].(map[string]any)["version"] != 1.0 {
		t.Errorf("set: %s", lines[6])
	}
	check(7, "paths", []string{"/j", "/j/a"})
	check(8, "ephemerals", []string{})
	check(9, "error", "Node does not exist: /nope")
	check(9, "code", -101)
	check(9, "path", "/nope")
}

// lockedBuffer collects a process's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitFor(t *testing.T, what string, get func() string, want string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !strings.Contains(get(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %q did not appear in\n%s", what, want, get())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A watch set by a command read from stdin prints zkCli's WATCHER:: block when
// another client changes the node.
func TestCLIWatchEvents(t *testing.T) {
	srv := corralproc.Start(t)
	bin := corralproc.Build(t)
	runCLI(t, bin, "", "--server", srv.Addr(), "-c", "create /w v0")

	cmd := exec.Command(bin, "cli", "--server", srv.Addr())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	w := bufio.NewWriter(stdin)
	send := func(line string) { io.WriteString(w, line+"\n"); w.Flush() }

	send("get -w /w")
	send("addWatch -m PERSISTENT_RECURSIVE /w")
	send("ls -w /w")
	waitFor(t, "watches set", out.String, "v0\n[]\n")
	runCLI(t, bin, "", "--server", srv.Addr(), "-c", "set /w v1")
	// The data watch and the persistent watch see the same change: printed once, as
	// zkCli's single Watcher does.
	waitFor(t, "data event", out.String, "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/w\n")
	runCLI(t, bin, "", "--server", srv.Addr(), "-c", "create /w/kid")
	waitFor(t, "child event", out.String, "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeChildrenChanged path:/w\n")
	waitFor(t, "recursive event", out.String, "\nWATCHER::\n\nWatchedEvent state:SyncConnected type:NodeCreated path:/w/kid\n")
	send("removewatches /w")
	waitFor(t, "removal", out.String, "WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/w\n")
	send("quit")
	stdin.Close()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("corral cli did not exit after quit\n%s", out.String())
	}
	if n := strings.Count(out.String(), "type:NodeDataChanged path:/w\n"); n != 1 {
		t.Errorf("NodeDataChanged printed %d times, want 1:\n%s", n, out.String())
	}
}

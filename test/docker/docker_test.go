// Package docker runs a three-member corral cluster in containers built FROM
// scratch around the static binary, cuts one member off its network with
// `docker network disconnect`, and checks that the others keep serving writes and
// that the cut-off member rejoins and catches up.
package docker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/corral-io/corral/internal/testutil/fourlw"
	"github.com/corral-io/corral/internal/testutil/freeport"
)

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		if filepath.Dir(dir) == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = filepath.Dir(dir)
	}
}

func run(t *testing.T, timeout time.Duration, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return strings.TrimSpace(out.String())
}

func freePort(t *testing.T) int {
	port, err := freeport.Get()
	if err != nil {
		t.Fatal(err)
	}
	return port
}

type nopLogger struct{}

func (nopLogger) Printf(string, ...any) {}

func dial(t *testing.T, addrs ...string) *zk.Conn {
	t.Helper()
	c, ev, err := zk.Connect(addrs, 5*time.Second, zk.WithLogInfo(false), zk.WithLogger(nopLogger{}))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.After(20 * time.Second)
	for c.State() != zk.StateHasSession {
		select {
		case <-ev:
		case <-deadline:
			c.Close()
			t.Fatalf("no session with %v", addrs)
		}
	}
	return c
}

func srvrField(addr, field string) string { return fourlw.Line(addr, "srvr", field+": ") }

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestClusterInContainersSurvivesNetworkCut(t *testing.T) {
	if _, err := exec.LookPath("docker-compose"); err != nil {
		t.Fatal("docker-compose is required (Debian package docker-compose): ", err)
	}
	root := moduleRoot(t)
	run(t, 3*time.Minute, root, []string{"CGO_ENABLED=0"}, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", "deploy/corral", "./cmd/corral")
	tag := fmt.Sprintf("corral-test:%d", time.Now().UnixNano())
	run(t, 3*time.Minute, root, nil, "docker", "build", "-q", "-t", tag, ".")
	t.Cleanup(func() { exec.Command("docker", "rmi", "-f", tag).Run() })

	project := fmt.Sprintf("corraltest%d", time.Now().UnixNano()%1_000_000)
	ports := []int{freePort(t), freePort(t), freePort(t)}
	env := []string{"CORRAL_IMAGE=" + tag, "COMPOSE_PROJECT_NAME=" + project}
	for i, p := range ports {
		env = append(env, fmt.Sprintf("CORRAL_PORT%d=%d", i+1, p))
	}
	compose := func(timeout time.Duration, args ...string) string {
		return run(t, timeout, root, env, "docker-compose", append([]string{"-f", "deploy/compose.yaml"}, args...)...)
	}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command("docker-compose", "-p", project, "-f", filepath.Join(root, "deploy/compose.yaml"), "logs", "--no-color", "--tail", "40").CombinedOutput()
			t.Logf("container logs:\n%s", out)
		}
		cmd := exec.Command("docker-compose", "-f", "deploy/compose.yaml", "down", "-v", "-t", "2")
		cmd.Dir, cmd.Env = root, append(os.Environ(), env...)
		cmd.Run()
	})
	compose(2*time.Minute, "up", "-d")

	addrs := make([]string, 3)
	for i, p := range ports {
		addrs[i] = "127.0.0.1:" + strconv.Itoa(p)
	}
	waitFor(t, "three members serving", 60*time.Second, func() bool {
		for _, a := range addrs {
			if out, err := fourlw.SendTimeout(a, "ruok", time.Second); err != nil || out != "imok" {
				return false
			}
		}
		return true
	})
	leader := -1
	waitFor(t, "a leader", 20*time.Second, func() bool {
		for i, a := range addrs {
			if srvrField(a, "Mode") == "leader" {
				leader = i
				return true
			}
		}
		return false
	})
	c := dial(t, addrs...)
	defer c.Close()
	if _, err := c.Create("/before", []byte("1"), 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}

	// Cut the leader off: the two others must elect a new one and keep serving writes.
	cut := leader
	container := compose(30*time.Second, "ps", "-q", fmt.Sprintf("corral%d", cut+1))
	network := project + "_corral"
	run(t, 30*time.Second, root, nil, "docker", "network", "disconnect", network, container)
	t.Logf("disconnected member %d (%s) from %s", cut+1, container[:12], network)

	var others []string
	for i, a := range addrs {
		if i != cut {
			others = append(others, a)
		}
	}
	c2 := dial(t, others...)
	defer c2.Close()
	const n = 50
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := c2.Create(fmt.Sprintf("/during-%d", i), nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatalf("write %d through the majority failed: %v", i, err)
		}
	}
	t.Logf("%d writes through the majority while member %d was cut off (%v)", n, cut+1, time.Since(start).Round(time.Millisecond))

	// Heal: the member rejoins and catches up.
	run(t, 30*time.Second, root, nil, "docker", "network", "connect", network, container, "--alias", fmt.Sprintf("corral%d", cut+1))
	want := srvrField(others[0], "Zxid")
	waitFor(t, "the cut-off member to catch up", 60*time.Second, func() bool {
		got := srvrField(addrs[cut], "Zxid")
		g, err1 := strconv.ParseInt(strings.TrimPrefix(got, "0x"), 16, 64)
		w, err2 := strconv.ParseInt(strings.TrimPrefix(want, "0x"), 16, 64)
		return err1 == nil && err2 == nil && g >= w
	})
	c3 := dial(t, addrs[cut])
	defer c3.Close()
	for i := 0; i < n; i++ {
		if ok, _, err := c3.Exists(fmt.Sprintf("/during-%d", i)); err != nil || !ok {
			t.Fatalf("rejoined member lacks /during-%d: %v %v", i, ok, err)
		}
	}
}

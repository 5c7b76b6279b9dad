package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/corralproc"
)

// tmuxSession drives a program in a detached tmux session on a private server
// socket, as a person at a terminal would: send-keys to type, capture-pane to read.
type tmuxSession struct {
	t      *testing.T
	socket string
	name   string
}

// tmuxSockets numbers the sessions' server sockets.
var tmuxSockets atomic.Int64

func newTmux(t *testing.T, env []string, command ...string) *tmuxSession {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is not installed: this test drives the interactive shell through it; run scripts/install-test-deps.sh (Debian package tmux)")
	}
	// A socket of its own: a session started on the socket of one whose shell
	// has just exited can meet that tmux server as it shuts down ("server
	// exited unexpectedly").
	s := &tmuxSession{t: t, socket: fmt.Sprintf("corral-cli-test-%d-%d", os.Getpid(), tmuxSockets.Add(1)), name: "cli"}
	args := []string{"new-session", "-d", "-s", s.name, "-x", "160", "-y", "50"}
	for _, e := range env {
		args = append(args, "-e", e)
	}
	args = append(args, strings.Join(command, " "))
	s.tmux(args...)
	t.Cleanup(func() { exec.Command("tmux", "-L", s.socket, "kill-server").Run() })
	return s
}

func (s *tmuxSession) tmux(args ...string) string {
	s.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-L", s.socket, "-f", "/dev/null"}, args...)...).CombinedOutput()
	if err != nil {
		s.t.Fatalf("tmux %q: %v\n%s", args, err, out)
	}
	return string(out)
}

// screen is what the pane shows, with its scrollback.
func (s *tmuxSession) screen() string {
	return s.tmux("capture-pane", "-p", "-J", "-S", "-500", "-t", s.name)
}

// typeText types literal text (no Enter).
func (s *tmuxSession) typeText(text string) { s.tmux("send-keys", "-t", s.name, "-l", text) }

// key presses named keys: Enter, Tab, C-d...
func (s *tmuxSession) key(keys ...string) {
	s.tmux(append([]string{"send-keys", "-t", s.name}, keys...)...)
}

func (s *tmuxSession) waitFor(what, want string) string {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		scr := s.screen()
		if strings.Contains(scr, want) {
			return scr
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s: %q is not on the screen:\n%s", what, want, scr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCLIInteractive types into `corral cli` on a terminal: commands, a TAB completion
// of a command name and of a znode path (asked of the server), a watch firing while
// the prompt waits, errors, history, and quit; the history file is kept.
func TestCLIInteractive(t *testing.T) {
	srv := corralproc.Start(t)
	bin := corralproc.Build(t)
	home := t.TempDir()
	addr := srv.Addr()
	runCLI(t, bin, "", "--server", addr, "-c", "create /tmux top; create /tmux/child-one 1; create /tmux/other 2")

	s := newTmux(t, []string{"HOME=" + home, "TERM=xterm"}, bin, "cli", "--server", addr)
	prompt := func(n int) string { return fmt.Sprintf("[corral: %s(CONNECTED) %d] ", addr, n) }
	s.waitFor("first prompt", prompt(0))

	s.typeText("get /tmux")
	s.key("Enter")
	s.waitFor("get", "get /tmux\ntop\n"+prompt(1))

	// TAB completes a path from the server's children of the typed parent.
	s.typeText("get /tmux/ch")
	s.key("Tab")
	s.waitFor("path completion", prompt(1)+"get /tmux/child-one")
	s.key("Enter")
	s.waitFor("completed command ran", "get /tmux/child-one\n1\n"+prompt(2))

	// Two candidates: the list is shown.
	s.typeText("ls /tmux/")
	s.key("Tab")
	// Wait for the name that only the list shows; "/tmux/child-one" is already on
	// the screen from the commands above.
	scr := s.waitFor("candidate list", "/tmux/other")
	if list := scr[strings.LastIndex(scr, "ls /tmux/"):]; !strings.Contains(list, "child-one") {
		t.Fatalf("candidate list lacks child-one:\n%s", scr)
	}
	s.key("C-u") // clear the line
	time.Sleep(100 * time.Millisecond)

	// TAB completes a command name.
	s.typeText("getAllCh")
	s.key("Tab")
	s.waitFor("command completion", prompt(2)+"getAllChildrenNumber ")
	s.typeText("/tmux")
	s.key("Enter")
	s.waitFor("getAllChildrenNumber", "getAllChildrenNumber /tmux\n2\n"+prompt(3))

	// An error reads like zkCli's.
	s.typeText("get /nope")
	s.key("Enter")
	s.waitFor("error", "get /nope\nNode does not exist: /nope\n"+prompt(4))

	// A watch fires while the shell waits at the prompt.
	s.typeText("get -w /tmux")
	s.key("Enter")
	s.waitFor("watch set", "get -w /tmux\ntop\n"+prompt(5))
	runCLI(t, bin, "", "--server", addr, "-c", "set /tmux changed")
	s.waitFor("watch event", "WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:/tmux\n")

	s.typeText("ls -s /tmux")
	s.key("Enter")
	s.waitFor("ls -s", "[child-one, other]\ncZxid = 0x")
	s.waitFor("ls -s stat", "numChildren = 2\n"+prompt(6))

	s.typeText("history")
	s.key("Enter")
	s.waitFor("history", "0 - get /tmux\n1 - get /tmux/child-one\n2 - getAllChildrenNumber /tmux\n3 - get /nope\n4 - get -w /tmux\n5 - ls -s /tmux\n6 - history\n"+prompt(7))

	s.typeText("quit")
	s.key("Enter")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if err := exec.Command("tmux", "-L", s.socket, "has-session", "-t", s.name).Run(); err != nil {
			break // the shell exited, and with it the session
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shell did not exit after quit:\n%s", s.screen())
		}
		time.Sleep(50 * time.Millisecond)
	}
	hist, err := os.ReadFile(filepath.Join(home, ".corral_history"))
	if err != nil {
		t.Fatalf("history file: %v", err)
	}
	if !strings.Contains(string(hist), "get /tmux/child-one\n") || !strings.Contains(string(hist), "quit\n") {
		t.Fatalf("history file:\n%s", hist)
	}

	// A new shell has the history: Up recalls the last command.
	s = newTmux(t, []string{"HOME=" + home, "TERM=xterm"}, bin, "cli", "--server", addr)
	s.waitFor("second shell", prompt(0))
	s.key("Up", "Up")
	s.waitFor("history recall", prompt(0)+"history")
	s.key("C-u")
	s.key("C-d")
}

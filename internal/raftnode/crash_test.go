package raftnode

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const crashDirEnv = "CORRAL_RAFTNODE_CRASH_DIR"

// ackSM reports every applied user entry on stdout: a line printed means the
// entry was committed, hence fsynced.
type ackSM struct {
	fakeSM
	mu  sync.Mutex
	out *bufio.Writer
}

func (s *ackSM) Apply(index uint64, data []byte) {
	s.fakeSM.Apply(index, data)
	if data != nil {
		s.mu.Lock()
		fmt.Fprintf(s.out, "ack %s\n", data)
		s.mu.Unlock()
	}
}

// TestCrashHelper is the child process of TestKill9: it proposes entries
// forever and acknowledges applied ones until it is killed.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9")
	}
	sm := &ackSM{out: bufio.NewWriter(os.Stdout)}
	go func() { // flush acks often; an ack may only be printed after apply
		for range time.Tick(time.Millisecond) {
			sm.mu.Lock()
			sm.out.Flush()
			sm.mu.Unlock()
		}
	}()
	cfg := Config{ID: 1, DataDir: dir, SnapshotCount: 300, SnapshotRetain: 2,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	n, err := Start(cfg, sm)
	if err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(3)
	}
	// Through the same buffered writer as the acks: a direct write to stdout
	// could land in the middle of a partly flushed ack line and garble it.
	sm.mu.Lock()
	fmt.Fprintf(sm.out, "started %d\n", sm.count())
	sm.mu.Unlock()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				if err := n.Propose(context.Background(), fmt.Appendf(nil, "%d-%d-%d", os.Getpid(), w, i)); err != nil {
					fmt.Fprintln(os.Stderr, "propose:", err)
					os.Exit(4)
				}
			}
		}()
	}
	wg.Wait()
}

// TestKill9 kills a writing process with SIGKILL at arbitrary moments and
// checks that every entry it had acknowledged as applied survives restart.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	for round := range 4 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		cmd.Stderr = testWriter{t}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(out)
		killAt := 500 + round*700 // acks to see before the kill
		got := 0
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				break // a last line without newline was cut by the kill: not an ack
			}
			if k, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "ack "); ok {
				acked[k] = true
				got++
				if got == killAt {
					cmd.Process.Signal(syscall.SIGKILL)
				}
			}
		}
		io.Copy(io.Discard, out)
		err = cmd.Wait()
		if got < killAt {
			t.Fatalf("round %d: child exited after %d acks: %v", round, got, err)
		}
		t.Logf("round %d: killed after %d acks (%d acked in total)", round, got, len(acked))

		sm := &fakeSM{}
		n, err := Start(testConfig(t, dir), sm)
		if err != nil {
			t.Fatalf("round %d: restart after kill -9: %v", round, err)
		}
		have := map[string]bool{}
		for i := range sm.count() {
			have[string(sm.entry(i))] = true
		}
		n.Stop()
		for k := range acked {
			if !have[k] {
				t.Fatalf("round %d: acknowledged entry %q lost after kill -9", round, k)
			}
		}
		if err := sm.orderErr(); err != nil {
			t.Fatal(err)
		}
	}
}

package corralproc

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corral-io/corral/internal/testutil/fourlw"
)

// TestStartKillRestart exercises the process handling with a stand-in server.
func TestStartKillRestart(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "fakecorral")
	if out, err := exec.Command(goTool(), "build", "-o", bin, "./testdata/fakecorral").CombinedOutput(); err != nil {
		t.Fatalf("build fake: %v\n%s", err, out)
	}
	t.Setenv(BinEnv, bin)
	p := Start(t)
	addr, pid := p.Addr(), p.PID()
	if pid == 0 || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("addr %q pid %d", addr, pid)
	}
	p.Kill()
	if _, err := fourlw.Send(addr, "ruok"); err == nil {
		t.Fatal("still answering after Kill")
	}
	p.Restart()
	if p.Addr() != addr || p.PID() == pid || p.PID() == 0 {
		t.Fatalf("after restart: addr %q pid %d (was %q, %d)", p.Addr(), p.PID(), addr, pid)
	}
	if out, err := fourlw.Send(addr, "ruok"); err != nil || out != "imok" {
		t.Fatalf("ruok after restart: %q %v", out, err)
	}
	b, err := os.ReadFile(filepath.Join(p.DataDir(), "starts"))
	if err != nil || strings.Count(string(b), "start") != 2 {
		t.Fatalf("starts file %q %v: want two starts in one data dir", b, err)
	}
	p.Restart() // restart of a running process kills it first
}

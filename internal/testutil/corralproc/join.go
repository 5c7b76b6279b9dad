package corralproc

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/fourlw"
	"github.com/corral-io/corral/internal/testutil/freeport"
)

// arg returns the value of flag name in the process's command line, or "".
func (p *Proc) arg(name string) string {
	for i := 0; i+1 < len(p.args); i++ {
		if p.args[i] == name {
			return p.args[i+1]
		}
	}
	return ""
}

// PeerAddr returns the member's --peer-addr ("" if it has none).
func (p *Proc) PeerAddr() string { return p.arg("--peer-addr") }

// Peers returns the member's --peers list ("1=host:port,...").
func (p *Proc) Peers() string { return p.arg("--peers") }

// FreePeerAddr returns a loopback address with a free port, for a member to come.
func FreePeerAddr(t testing.TB) string {
	t.Helper()
	port, err := freeport.Get()
	if err != nil {
		t.Fatalf("corralproc: %v", err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// StartJoin starts member id as a new member of a running cluster:
// `corral server --join --id id --peer-addr peerAddr --peers peers,id=peerAddr` on a
// free client port and a temporary data dir, and waits until it answers imok. peers
// are the existing members' peer addresses (a member's Peers()). The member must be
// added to the cluster (reconfig) before or after; it catches up from the leader.
func StartJoin(t testing.TB, id int, peerAddr, peers string, extraArgs ...string) *Proc {
	t.Helper()
	bin := Build(t)
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
	p.args = append([]string{"server", "--join", "--id", strconv.Itoa(id), "--client-addr", p.addr, "--data-dir", p.dataDir,
		"--peer-addr", peerAddr, "--peers", fmt.Sprintf("%s,%d=%s", peers, id, peerAddr)}, extraArgs...)
	// A joining member serves requests only once the cluster has added it, so
	// wait for it to listen, not for imok.
	err = p.spawn()
	deadline := time.Now().Add(StartTimeout)
	for err == nil {
		if _, e := fourlw.SendTimeout(p.addr, "srvr", time.Second); e == nil {
			break
		}
		if time.Now().After(deadline) {
			err = fmt.Errorf("not listening on %s after %v", p.addr, StartTimeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("corralproc: joining member did not start: %v\n--- %s (tail) ---\n%s", err, p.logPath, tail(p.logPath, 4000))
	}
	return p
}

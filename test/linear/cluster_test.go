package linear

import (
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/linear"
)

func leaderOf(t *testing.T, procs []*corralproc.Proc) *corralproc.Proc {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, p := range procs {
			if p.Mode() == "leader" {
				return p
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no leader within 10s")
	return nil
}

// TestClusterUnderFaults runs the linearizability workload against three real
// processes while the leader is killed with SIGKILL and restarted, then frozen with
// SIGSTOP and resumed, then a follower is killed and restarted.
func TestClusterUnderFaults(t *testing.T) {
	procs := corralproc.StartCluster(t, 3, "--snapshot-count", "2000")
	var addrs []string
	for _, p := range procs {
		addrs = append(addrs, p.Addr())
	}
	linear.Run(t, linear.Config{
		Servers:  addrs,
		Clients:  6,
		Keys:     3,
		Duration: 14 * time.Second,
		Seed:     runSeed(),
		Faults: func() {
			time.Sleep(2 * time.Second)
			l := leaderOf(t, procs)
			t.Logf("kill -9 leader %s", l.Addr())
			l.Kill()
			time.Sleep(2 * time.Second)
			l.StartAgain()
			time.Sleep(2 * time.Second)
			l = leaderOf(t, procs)
			t.Logf("SIGSTOP leader %s for 3s", l.Addr())
			l.Pause()
			time.Sleep(3 * time.Second)
			l.Resume()
			time.Sleep(1 * time.Second)
			for _, p := range procs {
				if p.Mode() == "follower" {
					t.Logf("kill -9 follower %s", p.Addr())
					p.Kill()
					time.Sleep(time.Second)
					p.StartAgain()
					break
				}
			}
		},
	})
	for _, p := range procs {
		p.WaitReady()
	}
}

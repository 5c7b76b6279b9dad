// Package linear checks recorded client histories against corral for
// linearizability under faults.
package linear

import (
	"flag"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/corralproc"
	"github.com/corral-io/corral/internal/testutil/linear"
)

var seed = flag.Int64("linear.seed", 0, "seed of the workload (0: time-based)")

func runSeed() int64 {
	if *seed != 0 {
		return *seed
	}
	return time.Now().UnixNano()
}

// TestSingleNodeKill9 kills the one member with SIGKILL twice while clients work;
// clients reconnect after the restart with their sessions.
func TestSingleNodeKill9(t *testing.T) {
	p := corralproc.Start(t)
	linear.Run(t, linear.Config{
		Servers:  []string{p.Addr()},
		Clients:  6,
		Keys:     3,
		Duration: 6 * time.Second,
		Seed:     runSeed(),
		Faults: func() {
			for i := 0; i < 2; i++ {
				time.Sleep(1500 * time.Millisecond)
				p.Kill()
				time.Sleep(200 * time.Millisecond)
				p.Restart()
			}
		},
	})
}

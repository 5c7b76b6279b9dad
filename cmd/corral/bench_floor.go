package main

import (
	"fmt"
	"os/signal"
	"syscall"
	"time"

	"github.com/corral-io/corral/internal/bench"
	"github.com/spf13/cobra"
)

// benchFloorCmd runs bench.FloorServer.
func benchFloorCmd() *cobra.Command {
	var addr string
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "floor-server",
		Short: "Serve canned replies (no state, no disk): the yardstick for session-churn",
		Long: `Run a ZooKeeper-protocol server that keeps no state and writes nothing: it grants
every session, answers create, delete, getChildren, ping and closeSession at once with
canned replies, and anything else with UNIMPLEMENTED. Run session-churn against it to
learn what connections and round trips alone cost with the same client on the same
machine: the yardstick for a server's own work. It stops on SIGINT or SIGTERM, or after
--duration.`,
		Example: "  corral bench floor-server --listen 127.0.0.1:2999 &\n" +
			"  corral bench --servers 127.0.0.1:2999 --workload session-churn --sessions 256",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f, err := bench.ListenFloor(addr)
			if err != nil {
				return fmt.Errorf("floor-server: %w", err)
			}
			defer f.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "floor-server: serving canned replies on %s\n", f.Addr())
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if duration > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(duration):
				}
				return nil
			}
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "listen", "127.0.0.1:2999", "host:port to listen on")
	cmd.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: on SIGINT or SIGTERM only)")
	return cmd
}

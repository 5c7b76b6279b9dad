// Command corral is a coordination service that speaks Apache ZooKeeper's wire
// protocol. `corral server` runs a member; `corral version` prints the version.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "corral",
		Short:         "A coordination service that speaks ZooKeeper's protocol",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(serverCmd(), versionCmd(), benchCmd(), cliCmd(), digestCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "corral:", err)
		os.Exit(1)
	}
}

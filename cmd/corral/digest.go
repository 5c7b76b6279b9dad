package main

import (
	"fmt"
	"strings"

	"github.com/corral-io/corral/client"
	"github.com/spf13/cobra"
)

// digestCmd prints the digest id of user:password pairs, as ZooKeeper's
// DigestAuthenticationProvider does when run as a program: the form that ACLs
// (digest:ID:perms) and --super-digest take.
func digestCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "digest user:password...",
		Short: "Print the digest id of user:password, for digest ACLs and --super-digest",
		Long: "Print, for each user:password, the line user:password->user:base64(sha1(user:password)),\n" +
			"as ZooKeeper's DigestAuthenticationProvider prints it. The part after -> is the id\n" +
			"that digest ACLs name (digest:ID:perms) and that --super-digest takes.",
		Example: "  corral digest super:secret\n  corral server --super-digest \"$(corral digest super:secret | sed 's/.*->//')\"",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) == 0 {
				return fmt.Errorf("digest: give at least one user:password, as in: corral digest super:secret")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				user, pass, ok := strings.Cut(a, ":")
				if !ok || user == "" {
					return fmt.Errorf("digest: %q is not user:password", a)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s->%s\n", a, client.DigestID(user, pass))
			}
			return nil
		},
	}
}

package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDigest: the lines match what ZooKeeper's DigestAuthenticationProvider prints
// (java -cp zookeeper.jar org.apache.zookeeper.server.auth.DigestAuthenticationProvider super:secret).
func TestDigest(t *testing.T) {
	var out bytes.Buffer
	cmd := digestCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"super:secret", "bob:a:b"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := "super:secret->super:lK75jTNcA+U9vtVEw5vB51mj/w4=\nbob:a:b->bob:J4+K+FVuB1hEWvxpNRVKdRWAekY=\n"
	if out.String() != want {
		t.Fatalf("output %q, want %q", out.String(), want)
	}
	for _, args := range [][]string{{"nopassword"}, {}} {
		cmd = digestCmd()
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(args)
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "user:password") {
			t.Fatalf("digest %q: error %v, want one naming user:password", args, err)
		}
	}
}

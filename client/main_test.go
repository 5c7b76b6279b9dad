package client_test

import (
	"testing"

	"github.com/corral-io/corral/internal/testutil/testmain"
)

// The servers every test of the package shares, started once by TestMain: a corral
// server and Debian's ZooKeeper, both with a tick of 500ms so that sessions can be as
// short as 1s (the expiry tests need that).
var (
	corralAddr string
	refzkAddr  string
	// serverAddr is the server the examples talk to (the corral one).
	serverAddr string
)

func TestMain(m *testing.M) {
	testmain.Run(m, "corral-client-test-", func(s testmain.Servers) {
		corralAddr, refzkAddr = s.Corral, s.RefZK
		serverAddr = corralAddr
	})
}

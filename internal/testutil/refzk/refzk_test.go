package refzk

import (
	"testing"

	"github.com/corral-io/corral/internal/testutil/fourlw"
)

func TestStart(t *testing.T) {
	s := Start(t)
	out, err := fourlw.Send(s.Addr(), "srvr")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("srvr on %s (pid %d):\n%s", s.Addr(), s.PID(), out)
	s.Kill()
	if _, err := fourlw.Send(s.Addr(), "ruok"); err == nil {
		t.Fatal("server still answers after Kill")
	}
}

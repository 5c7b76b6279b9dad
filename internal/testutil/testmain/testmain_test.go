package testmain_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/corral-io/corral/internal/testutil/testmain"
)

func TestTBCleanupOrderAndTempDir(t *testing.T) {
	tb := testmain.NewTB("corral-testmain-test-")
	d := tb.TempDir()
	if !strings.HasPrefix(filepath.Base(d), "corral-testmain-test-") {
		t.Errorf("TempDir %q lacks the prefix", d)
	}
	if _, err := os.Stat(d); err != nil {
		t.Fatal(err)
	}
	var order []int
	tb.Cleanup(func() { order = append(order, 1) })
	tb.Cleanup(func() { order = append(order, 2) })
	tb.RunCleanups()
	if len(order) != 2 || order[0] != 2 || order[1] != 1 {
		t.Errorf("cleanups ran in order %v, want [2 1]", order)
	}
	if _, err := os.Stat(d); !os.IsNotExist(err) {
		t.Errorf("TempDir %q not removed at cleanup: %v", d, err)
	}
	tb.RunCleanups() // nothing left to run
	if len(order) != 2 {
		t.Errorf("cleanups ran twice: %v", order)
	}
}

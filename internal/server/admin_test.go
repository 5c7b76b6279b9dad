package server

import (
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/corral-io/corral/internal/admin"
)

func TestAdminMetricsHealthAndCommands(t *testing.T) {
	s := testServer(t, "")
	c, _ := connect(t, s, 5*time.Second)
	if _, err := c.Create("/m", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	c.Get("/missing")
	adm, err := admin.Start("127.0.0.1:0", s, s.Registry(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer adm.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + adm.Addr().String() + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get("/metrics")
	for _, want := range []string{
		`corral_request_duration_seconds_count{op="create"} 1`,
		`corral_request_errors_total{code="node does not exist",op="getData"} 1`,
		"corral_znodes 5", "corral_is_leader 1", "corral_sessions 1",
	} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("/metrics (%d) lacks %q:\n%s", code, want, body)
		}
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz: %d %q", code, body)
	}
	if code, body := get("/commands/srvr"); code != 200 || !strings.Contains(body, "Mode: standalone") {
		t.Fatalf("/commands/srvr: %d %q", code, body)
	}
	if code, _ := get("/commands/nope"); code != 404 {
		t.Fatalf("/commands/nope: %d", code)
	}
}

// Below the free-disk watermark, writes are refused with a clear error; reads and
// session close still work.
func TestLowDiskRefusesWrites(t *testing.T) {
	s := testServer(t, "", func(c *Config) { c.MinFreeDisk = 1 << 62 })
	c, _ := connect(t, s, 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for !s.lowDisk.Load() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	_, err := c.Create("/x", nil, 0, zk.WorldACL(zk.PermAll))
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "quota") && !strings.Contains(err.Error(), "-125") {
		t.Fatalf("write on a full disk: %v", err)
	}
	if _, _, err := c.Get("/zookeeper"); err != nil {
		t.Fatalf("read on a full disk: %v", err)
	}
	if ok, why := s.Healthy(); ok || !strings.Contains(why, "disk") {
		t.Fatalf("healthy on a full disk: %v %q", ok, why)
	}
}

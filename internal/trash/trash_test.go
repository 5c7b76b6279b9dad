package trash

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func writeFile(t *testing.T, path string, size int) {
	t.Helper()
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// A removed file leaves its directory at once and the bin empties itself.
func TestRemove(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "wal")
	if err := os.Mkdir(src, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := Open(filepath.Join(root, "trash"), quiet, Options{Step: 4096, Pause: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, name := range []string{"a.wal", "b.wal", "a.snap"} {
		writeFile(t, filepath.Join(src, name), 100_000)
		if err := b.Remove(filepath.Join(src, name)); err != nil {
			t.Fatalf("Remove(%s): %v", name, err)
		}
	}
	if got := entries(t, src); len(got) != 0 {
		t.Errorf("directory still lists %v after Remove", got)
	}
	waitFor(t, "the bin to empty", func() bool { return b.Pending() == 0 && len(entries(t, b.dir)) == 0 })

	err = b.Remove(filepath.Join(src, "missing"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove of a missing file: %v, want ErrNotExist", err)
	}
}

// The file shrinks one step at a time; Close does not wait out a pause, and what
// it leaves is removed when the bin is opened again (as after a crash).
func TestShrinkStepwiseAndResume(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "trash")
	b, err := Open(bin, quiet, Options{Step: 16 << 10, Pause: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(root, "seg.wal")
	writeFile(t, p, 64<<10)
	if err := b.Remove(p); err != nil {
		t.Fatal(err)
	}
	var left string
	waitFor(t, "the first truncate", func() bool {
		names := entries(t, bin)
		if len(names) != 1 {
			return false
		}
		left = filepath.Join(bin, names[0])
		fi, err := os.Stat(left)
		return err == nil && fi.Size() < 64<<10
	})
	b.Close() // in the hour-long pause: must return at once
	fi, err := os.Stat(left)
	if err != nil {
		t.Fatalf("the file in the bin is gone after Close: %v", err)
	}
	if fi.Size() != 48<<10 {
		t.Errorf("after one step the file has %d bytes, want %d", fi.Size(), 48<<10)
	}

	// Reopened, the bin takes the leftover up again (and counts it, steadily here:
	// it pauses for an hour after its first step).
	b2, err := Open(bin, quiet, Options{Step: 16 << 10, Pause: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if n := b2.Pending(); n != 1 {
		t.Errorf("Pending() on reopening = %d, want 1 (the file left behind)", n)
	}
	waitFor(t, "the second step", func() bool {
		fi, err := os.Stat(left)
		return err == nil && fi.Size() == 32<<10
	})
	b2.Close()

	b3, err := Open(bin, quiet, Options{Step: 16 << 10, Pause: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer b3.Close()
	waitFor(t, "the leftover to be removed", func() bool { return len(entries(t, bin)) == 0 })
	waitFor(t, "Pending to reach 0", func() bool { return b3.Pending() == 0 })
}

// The pause shrinks once more than backlogFiles files wait, so a backlog drains.
func TestPauseShrinksWithBacklog(t *testing.T) {
	base := 30 * time.Millisecond
	for _, c := range []struct {
		pending int64
		want    time.Duration
	}{{0, base}, {1, base}, {backlogFiles, base}, {2 * backlogFiles, base / 2}, {30 * backlogFiles, base / 30}} {
		if got := pauseFor(base, c.pending); got != c.want {
			t.Errorf("pauseFor(%v, %d) = %v, want %v", base, c.pending, got, c.want)
		}
	}
}

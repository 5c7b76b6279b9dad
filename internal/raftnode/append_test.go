package raftnode

import (
	"testing"
	"time"
)

// TestWaitWritten checks the gate that keeps a snapshot record behind the
// HardState committing it: waitWritten returns only once the appender has saved
// the appends handed over before the snapshot started, and reports false if the
// appender ends (a fatal write error) before that.
func TestWaitWritten(t *testing.T) {
	a := newAppender(nil)
	advance := a.noteWritten
	if !a.waitWritten(0) {
		t.Fatal("waitWritten(0) = false with nothing to wait for")
	}
	res := make(chan bool, 1)
	go func() { res <- a.waitWritten(3) }()
	advance(2)
	select {
	case ok := <-res:
		t.Fatalf("waitWritten(3) returned %v after 2 appends were saved", ok)
	case <-time.After(50 * time.Millisecond):
	}
	advance(1)
	select {
	case ok := <-res:
		if !ok {
			t.Fatal("waitWritten(3) = false after 3 appends were saved")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitWritten(3) still waiting after 3 appends were saved")
	}

	go func() { res <- a.waitWritten(10) }()
	close(a.done) // the appender ended on a write error
	select {
	case ok := <-res:
		if ok {
			t.Fatal("waitWritten(10) = true though only 3 appends were saved")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waitWritten did not return when the appender ended")
	}
}

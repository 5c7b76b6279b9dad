package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// deadlineWriter refreshes the connection's write deadline before each
// write, so a transfer may take long but not stall.
type deadlineWriter struct {
	c    net.Conn
	idle time.Duration
}

func (d deadlineWriter) Write(p []byte) (int, error) {
	d.c.SetWriteDeadline(time.Now().Add(d.idle))
	return d.c.Write(p)
}

// sendSnapshot streams the snapshot file of m to the peer on a connection of
// its own, so regular messages keep flowing meanwhile. At most one snapshot
// is in flight per peer; raft does not send another before the first is
// reported, so a duplicate is ignored.
func (p *peer) sendSnapshot(m raftpb.Message) {
	if p.stopped() {
		p.t.h.ReportSnapshot(p.id, raft.SnapshotFailure)
		return
	}
	if !p.snapBusy.CompareAndSwap(false, true) {
		p.t.lg.Debug("snapshot already in flight; ignoring another", "peer", fmt.Sprintf("%x", p.id))
		return
	}
	p.t.wg.Add(1)
	go func() {
		defer p.t.wg.Done()
		defer p.snapBusy.Store(false)
		t0 := time.Now()
		size, err := p.streamSnapshot(m)
		if err != nil {
			p.t.lg.Warn("sending snapshot failed", "peer", fmt.Sprintf("%x", p.id),
				"index", m.Snapshot.Metadata.Index, "err", err)
			p.t.h.ReportSnapshot(p.id, raft.SnapshotFailure)
			return
		}
		p.t.lg.Info("sent snapshot", "peer", fmt.Sprintf("%x", p.id), "index", m.Snapshot.Metadata.Index,
			"bytes", size, "took", time.Since(t0).Round(time.Millisecond))
		p.t.h.ReportSnapshot(p.id, raft.SnapshotFinish)
	}()
}

func (p *peer) streamSnapshot(m raftpb.Message) (int64, error) {
	if pass, delay := p.t.cfg.Faults.decide(p.t.cfg.ID, p.id); !pass {
		return 0, errors.New("dropped by injected fault")
	} else if delay > 0 {
		time.Sleep(delay)
	}
	rc, size, err := p.t.h.OpenSnapshot(m)
	if err != nil {
		return 0, fmt.Errorf("opening snapshot: %w", err)
	}
	defer rc.Close()
	conn, err := p.dial(kindSnapshot, p.getAddr())
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		select {
		case <-p.stopc:
			conn.Close()
		case <-p.t.ctx.Done():
			conn.Close()
		case <-stop:
		}
	}()
	bw := bufio.NewWriterSize(deadlineWriter{c: conn, idle: snapshotIdle}, 256<<10)
	mb, err := m.Marshal()
	if err != nil {
		return 0, err
	}
	if err := writeFrame(bw, frameRaft, mb); err != nil {
		return 0, err
	}
	var szb [8]byte
	binary.BigEndian.PutUint64(szb[:], uint64(size))
	if _, err := bw.Write(szb[:]); err != nil {
		return 0, err
	}
	n, err := io.Copy(bw, io.LimitReader(rc, size))
	if err != nil {
		return 0, err
	}
	if n != size {
		return 0, fmt.Errorf("snapshot file shorter (%d bytes) than its size %d", n, size)
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	// The receiver fsyncs, verifies and steps before answering.
	conn.SetReadDeadline(time.Now().Add(snapshotIdle + time.Duration(size/(16<<20))*time.Second))
	status, msg, err := readStatus(conn)
	if err != nil {
		return 0, fmt.Errorf("waiting for the receiver: %w", err)
	}
	if status != statusOK {
		return 0, fmt.Errorf("receiver refused the snapshot: %s", msg)
	}
	return size, nil
}

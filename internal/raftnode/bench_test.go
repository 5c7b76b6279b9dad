package raftnode

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/storage/wal"
	"go.etcd.io/raft/v3/raftpb"
	"go.uber.org/zap"
)

// benchSM wakes the proposer of each entry when it is applied.
type benchSM struct {
	waiters sync.Map // uint64 -> chan struct{}
}

func (s *benchSM) Apply(index uint64, data []byte) {
	if len(data) >= 8 {
		if ch, ok := s.waiters.LoadAndDelete(binary.BigEndian.Uint64(data)); ok {
			close(ch.(chan struct{}))
		}
	}
}
func (s *benchSM) WriteSnapshot(w io.Writer) error         { return nil }
func (s *benchSM) RestoreSnapshot(uint64, io.Reader) error { return nil }

// BenchmarkProposeApply measures propose -> durable commit -> apply with many
// concurrent proposers, each waiting for its own entry to apply (what a
// client write does). Group commit shows as ops/s well above 1/fsync latency.
func BenchmarkProposeApply(b *testing.B) {
	for _, bc := range []struct{ size, par int }{{128, 1}, {128, 32}, {1024, 32}} {
		size := bc.size
		b.Run(fmt.Sprintf("%dB/proposers=%d", size, 2*bc.par), func(b *testing.B) {
			cfg := Config{ID: 1, DataDir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)}
			sm := &benchSM{}
			n, err := Start(cfg, sm)
			if err != nil {
				b.Fatal(err)
			}
			defer n.Stop()
			var seq atomic.Uint64
			ctx := b.Context()
			b.SetParallelism(bc.par) // 2*par proposers on 2 cores
			b.SetBytes(int64(size))
			b.ResetTimer()
			saves0 := n.saves.Load()
			t0 := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				data := make([]byte, size)
				for pb.Next() {
					id := seq.Add(1)
					ch := make(chan struct{})
					sm.waiters.Store(id, ch)
					d := append([]byte(nil), data...)
					binary.BigEndian.PutUint64(d, id)
					if err := n.Propose(ctx, d); err != nil {
						b.Error(err)
						return
					}
					<-ch
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "ops/s")
			if saves := n.saves.Load() - saves0; saves > 0 {
				b.ReportMetric(float64(b.N)/float64(saves), "entries/fsync")
			}
		})
	}
}

// BenchmarkWALSave measures one Ready's worth of durable logging: a HardState
// and a batch of entries appended to the WAL (etcd's, with this package's
// segment size) and fsynced, as handleReady does. ns/op is per batch; B/s
// counts entry payload.
func BenchmarkWALSave(b *testing.B) {
	for _, bc := range []struct{ size, batch int }{{128, 1}, {128, 16}, {1024, 16}} {
		b.Run(fmt.Sprintf("%dB/batch=%d", bc.size, bc.batch), func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "wal")
			w, err := wal.Create(zap.NewNop(), dir, walMeta{ID: 1, ClusterID: "bench"}.encode())
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			data := make([]byte, bc.size)
			ents := make([]raftpb.Entry, bc.batch)
			index := uint64(0)
			b.SetBytes(int64(bc.size * bc.batch))
			b.ResetTimer()
			for b.Loop() {
				for i := range ents {
					index++
					ents[i] = raftpb.Entry{Term: 1, Index: index, Type: raftpb.EntryNormal, Data: data}
				}
				if err := w.Save(raftpb.HardState{Term: 1, Vote: 1, Commit: index}, ents); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package server

import (
	"syscall"
	"time"
)

// diskLoop watches the free space of the data dir. Below MinFreeDisk, client writes
// are refused with QUOTAEXCEEDED (sessions can still be closed, so ephemerals go
// away), rather than running the disk full and stopping on a WAL write error.
func (s *Server) diskLoop() {
	defer s.wg.Done()
	if s.cfg.MinFreeDisk <= 0 {
		return
	}
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		s.checkDisk()
		select {
		case <-s.stopping:
			return
		case <-tick.C:
		}
	}
}

func (s *Server) checkDisk() {
	var st syscall.Statfs_t
	if err := syscall.Statfs(s.cfg.DataDir, &st); err != nil {
		return
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	low := free < s.cfg.MinFreeDisk
	if low != s.lowDisk.Swap(low) {
		if low {
			s.log.Error("disk nearly full: refusing writes", "data_dir", s.cfg.DataDir, "free_bytes", free, "min_free", s.cfg.MinFreeDisk)
		} else {
			s.log.Info("disk space recovered: accepting writes", "free_bytes", free)
		}
	}
}

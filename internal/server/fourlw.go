package server

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/corral-io/corral/internal/raftnode"
	"github.com/corral-io/corral/proto"
)

// fourLetterWords are the commands recognised on the client port in place of a frame.
var fourLetterWords = map[string]bool{
	"ruok": true, "srvr": true, "stat": true, "mntr": true, "conf": true, "isro": true, "dirs": true,
	"envi": true, "cons": true, "wchs": true, "wchc": true, "wchp": true, "crst": true, "srst": true,
}

func isFourLetterWord(s string) bool { return fourLetterWords[s] }

// fourLetterWord answers cmd and lets the connection close.
func (c *conn) fourLetterWord(cmd string) {
	s := c.s
	var out string
	switch {
	case !s.fourLetterEnabled(cmd):
		out = cmd + " is not executed because it is not in the whitelist.\n"
	case s.divergence.Load() != nil && cmd != "srvr" && cmd != "stat":
		out = "This ZooKeeper instance is not currently serving requests\n"
	case !s.servingRequests() && !s.readOnly.Load():
		out = "This ZooKeeper instance is not currently serving requests\n"
	default:
		out = s.fourLetterOutput(cmd)
	}
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.nc.Write([]byte(out))
}

func (s *Server) fourLetterEnabled(cmd string) bool {
	for _, w := range s.cfg.FourLetterWords {
		if w == "*" || w == cmd {
			return true
		}
	}
	return false
}

func (s *Server) fourLetterOutput(cmd string) string {
	switch cmd {
	case "ruok":
		return "imok"
	case "isro":
		if s.readOnly.Load() {
			return "ro"
		}
		return "rw"
	case "srvr":
		return s.srvr(false)
	case "stat":
		return s.srvr(true)
	case "mntr":
		return s.mntr()
	case "conf":
		if s.cfg.ConfDump != nil {
			return s.cfg.ConfDump()
		}
		return fmt.Sprintf("clientPort=%s\ndataDir=%s\nserverId=%d\n", s.cfg.ClientAddr, s.cfg.DataDir, s.cfg.ID)
	case "envi":
		return s.envi()
	case "dirs":
		size := DirSize(s.cfg.DataDir)
		return fmt.Sprintf("datadir_size: %d\nlogdir_size: %d\n", size, size)
	case "cons":
		var b strings.Builder
		for _, c := range s.connList() {
			b.WriteString(c.consLine(true))
		}
		b.WriteString("\n")
		return b.String()
	case "crst":
		for _, c := range s.connList() {
			c.stats.reset()
		}
		return "Connection stats reset.\n"
	case "srst":
		s.stats.reset()
		return "Server stats reset.\n"
	case "wchs", "wchc", "wchp":
		return s.watchReport(cmd)
	}
	return ""
}

func (s *Server) versionString() string {
	return fmt.Sprintf("3.9.0-corral-%s, built with %s", Version, runtime.Version())
}

func (s *Server) srvr(withClients bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Zookeeper version: %s\n", s.versionString())
	if s.readOnly.Load() {
		b.WriteString("READ-ONLY mode; serving only read-only clients\n")
	}
	if withClients {
		b.WriteString("Clients:\n")
		for _, c := range s.connList() {
			b.WriteString(c.consLine(false))
		}
		b.WriteString("\n")
	}
	min, avg, max := s.stats.latency()
	fmt.Fprintf(&b, "Latency min/avg/max: %d/%s/%d\n", min, javaDouble(avg), max)
	fmt.Fprintf(&b, "Received: %d\n", s.stats.received.Load())
	fmt.Fprintf(&b, "Sent: %d\n", s.stats.sent.Load())
	fmt.Fprintf(&b, "Connections: %d\n", len(s.connList()))
	fmt.Fprintf(&b, "Outstanding: %d\n", s.outstanding())
	fmt.Fprintf(&b, "Zxid: 0x%x\n", s.applied.Load())
	fmt.Fprintf(&b, "Mode: %s\n", s.mode())
	s.mu.RLock()
	fmt.Fprintf(&b, "Node count: %d\n", s.tree.NodeCount())
	s.mu.RUnlock()
	if w := s.evenVotersWarning(); w != "" {
		fmt.Fprintf(&b, "Warning: %s\n", w)
	}
	if why := s.divergence.Load(); why != nil {
		fmt.Fprintf(&b, "Error: %s\n", *why)
	}
	return b.String()
}

// javaDouble formats f as Java prints a double ("0.0", "1.5", "0.4615"), which is
// what scripts parsing srvr and mntr have seen from ZooKeeper.
func javaDouble(f float64) string {
	if f == math.Trunc(f) {
		return strconv.FormatFloat(f, 'f', 1, 64)
	}
	return strconv.FormatFloat(math.Round(f*10000)/10000, 'f', -1, 64)
}

// mode is the member's role as ZooKeeper names it: standalone, leader, follower or
// observer.
func (s *Server) mode() string {
	if s.readOnly.Load() {
		return "read-only"
	}
	switch r := s.node.Role(); r {
	case raftnode.RoleLearner:
		return "observer"
	case raftnode.RoleCandidate, raftnode.RoleNone:
		return "follower"
	default:
		return r
	}
}

// evenVotersWarning returns a warning when the cluster has an even number of
// voters: it tolerates no more failures than one voter fewer ("odd numbers rule").
func (s *Server) evenVotersWarning() string {
	if n := len(s.node.Members().Voters); n > 1 && n%2 == 0 {
		return fmt.Sprintf("%d voting members: an even number tolerates no more failures than %d; use an odd number", n, n-1)
	}
	return ""
}

// serving reports whether the member can serve requests: it knows a leader.
func (s *Server) servingRequests() bool {
	return s.serving.Load() && s.node.Leader() != 0
}

func (s *Server) outstanding() int {
	n := 0
	for _, c := range s.connList() {
		c.mu.Lock()
		n += len(c.pending)
		c.mu.Unlock()
	}
	return n
}

func (s *Server) mntr() string {
	min, avg, max := s.stats.latency()
	s.mu.RLock()
	nodes, ephemerals, size, sessions := s.tree.NodeCount(), s.tree.EphemeralCount(), s.tree.ApproxDataSize(), len(s.tree.Sessions())
	s.watchMu.Lock()
	watches, _ := s.watches.counts()
	s.watchMu.Unlock()
	s.mu.RUnlock()
	fds, maxFDs := fdCounts()
	kv := [][2]any{
		{"zk_version", s.versionString()},
		{"zk_server_state", s.mode()},
		{"zk_avg_latency", javaDouble(avg)},
		{"zk_max_latency", max},
		{"zk_min_latency", min},
		{"zk_packets_received", s.stats.received.Load()},
		{"zk_packets_sent", s.stats.sent.Load()},
		{"zk_num_alive_connections", len(s.connList())},
		{"zk_outstanding_requests", s.outstanding()},
		{"zk_znode_count", nodes},
		{"zk_watch_count", watches},
		{"zk_ephemerals_count", ephemerals},
		{"zk_approximate_data_size", size},
		{"zk_open_file_descriptor_count", fds},
		{"zk_max_file_descriptor_count", maxFDs},
		{"zk_global_sessions", sessions},
		{"zk_local_sessions", 0},
		{"zk_uptime", time.Since(s.stats.started).Milliseconds()},
		{"zk_last_proposal_size", -1},
		{"zk_connection_rejected", s.stats.rejectedConns.Load()},
		{"zk_connection_drop_count", s.stats.slowClients.Load()},
		{"zk_data_dir_size", DirSize(s.cfg.DataDir)},
		{"corral_gomaxprocs", runtime.GOMAXPROCS(0)},
	}
	m := s.node.Members()
	if s.node.IsLeader() && len(m.Voters)+len(m.Learners) > 1 {
		kv = append(kv, [2]any{"zk_followers", len(m.Voters) + len(m.Learners) - 1},
			[2]any{"zk_synced_followers", len(m.Voters) - 1},
			[2]any{"zk_synced_observers", len(m.Learners)})
	}
	if w := s.evenVotersWarning(); w != "" {
		kv = append(kv, [2]any{"zk_voters_even_warning", w})
	}
	if len(m.Voters)+len(m.Learners) > 1 {
		kv = append(kv, [2]any{"corral_digest_checkpoints_agreed", s.digestsAgreed.Load()})
	}
	var b strings.Builder
	for _, p := range kv {
		fmt.Fprintf(&b, "%s\t%v\n", p[0], p[1])
	}
	return b.String()
}

func (s *Server) envi() string {
	host, _ := os.Hostname()
	wd, _ := os.Getwd()
	var b strings.Builder
	b.WriteString("Environment:\n")
	for _, kv := range [][2]string{
		{"zookeeper.version", s.versionString()},
		{"host.name", host},
		{"go.version", runtime.Version()},
		{"os.name", runtime.GOOS},
		{"os.arch", runtime.GOARCH},
		{"user.dir", wd},
		{"corral.data.dir", s.cfg.DataDir},
	} {
		fmt.Fprintf(&b, "%s=%s\n", kv[0], kv[1])
	}
	return b.String()
}

func (s *Server) connList() []*conn {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	out := make([]*conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].started.Before(out[j].started) })
	return out
}

func (c *conn) consLine(full bool) string {
	c.mu.Lock()
	queued := len(c.pending)
	c.mu.Unlock()
	if !full {
		return fmt.Sprintf(" /%s[1](queued=%d,recved=%d,sent=%d)\n", c.remote, queued, c.stats.received.Load(), c.stats.sent.Load())
	}
	st := &c.stats
	st.mu.Lock()
	defer st.mu.Unlock()
	avg := 0.0
	if st.count > 0 {
		avg = float64(st.totalLat.Microseconds()) / 1000 / float64(st.count)
	}
	return fmt.Sprintf(" /%s[1](queued=%d,recved=%d,sent=%d,sid=0x%x,lop=%s,est=%d,to=%d,lcxid=0x0,lzxid=0x%x,lresp=%d,llat=%d,minlat=%d,avglat=%.4f,maxlat=%d)\n",
		c.remote, queued, st.received.Load(), st.sent.Load(), uint64(c.sessionID.Load()),
		opAbbrev(proto.OpCode(st.lastOp.Load())), c.started.UnixMilli(), c.timeout.Load(), c.s.applied.Load(),
		st.lastResp.UnixMilli(), st.lastLat.Milliseconds(), st.minLat.Milliseconds(), avg, st.maxLat.Milliseconds())
}

func opAbbrev(op proto.OpCode) string {
	switch op {
	case proto.OpGetData:
		return "GETD"
	case proto.OpSetData:
		return "SETD"
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		return "CREA"
	case proto.OpDelete:
		return "DELE"
	case proto.OpExists:
		return "EXIS"
	case proto.OpGetChildren, proto.OpGetChildren2:
		return "GETC"
	case proto.OpPing:
		return "PING"
	case proto.OpMulti:
		return "MULT"
	case proto.OpSync:
		return "SYNC"
	}
	return "NA"
}

// watchReport renders wchs, wchc and wchp.
func (s *Server) watchReport(cmd string) string {
	s.mu.RLock()
	s.watchMu.Lock()
	bySession := map[int64]map[string]bool{}
	byPath := map[string]map[int64]bool{}
	total := 0
	for k := range s.watches.tables {
		for p, t := range s.watches.tables[k] {
			for c := range t {
				total++
				sid := c.sessionID.Load()
				if bySession[sid] == nil {
					bySession[sid] = map[string]bool{}
				}
				bySession[sid][p] = true
				if byPath[p] == nil {
					byPath[p] = map[int64]bool{}
				}
				byPath[p][sid] = true
			}
		}
	}
	conns := len(s.watches.byConn)
	s.watchMu.Unlock()
	s.mu.RUnlock()
	var b strings.Builder
	switch cmd {
	case "wchs":
		fmt.Fprintf(&b, "%d connections watching %d paths\nTotal watches:%d\n", conns, len(byPath), total)
	case "wchc":
		for _, sid := range sortedKeys(bySession) {
			fmt.Fprintf(&b, "0x%x\n", uint64(sid))
			for _, p := range sortedStrings(bySession[sid]) {
				fmt.Fprintf(&b, "\t%s\n", p)
			}
		}
	case "wchp":
		for _, p := range sortedStrings(byPathAsStrings(byPath)) {
			fmt.Fprintf(&b, "%s\n", p)
			for _, sid := range sortedKeys(byPath[p]) {
				fmt.Fprintf(&b, "\t0x%x\n", uint64(sid))
			}
		}
	}
	return b.String()
}

func byPathAsStrings(m map[string]map[int64]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func sortedStrings(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sortedKeys[V any](m map[int64]V) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// DirSize returns the total size of the files under dir.
func DirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			n += info.Size()
		}
		return nil
	})
	return n
}

func fdCounts() (open int, max int) {
	if ents, err := os.ReadDir("/proc/self/fd"); err == nil {
		open = len(ents)
	}
	var lim syscallRlimit
	if getrlimitNOFILE(&lim) == nil {
		max = int(lim.Cur)
	}
	return open, max
}

package server

// Membership change at runtime through ZooKeeper's reconfig request (opcode 16), and
// the content of /zookeeper/config, synthesized from raft membership.
//
// A reconfig is a request in its session's FIFO that completes asynchronously, like
// sync. Raft applies membership changes one at a time, so a request naming several
// changes is carried out as a sequence of single changes: observers added first, then
// observers promoted, then participants added, then members removed (this member
// last), so that the cluster never has less fault tolerance mid-way than at either
// end. If a step fails, the steps before it stay applied (the reply is an error; the
// new /zookeeper/config shows where it stopped).
//
// Forms accepted:
//   - incremental: joiningServers is a comma-separated list of
//     server.N=host:peerPort[:electionPort][:participant|observer][;[clientHost:]clientPort]
//     (corral has one peer port; an election port is accepted and ignored; the role
//     defaults to participant); leavingServers is a comma-separated list of ids.
//     An observer listed as participant is promoted. Unlike ZooKeeper, the client
//     address is optional.
//   - non-incremental: newMembers lists every member in the same syntax; the
//     difference from the current membership is applied step by step.
//
// Not offered: turning a participant into an observer (remove it, then add it back as
// an observer), and changing the peer address of an existing member.
//
// Errors, as ZooKeeper's: BadArguments for syntax or an impossible change,
// BadVersion when curConfigId is neither -1 nor the current config version,
// NoAuth when a super user is configured and the client lacks WRITE on
// /zookeeper/config, ReconfigInProgress while another reconfig runs on this member (or one proposed
// elsewhere got in first), NewConfigNoQuorum when a change is not committed in time,
// ReconfigDisabled when switched off (Config.ReconfigDisabled) or on a member
// without a peer transport (a standalone server started without --peer-addr).

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/corral-io/corral/internal/raftnode"
	"github.com/corral-io/corral/internal/tree"
	"github.com/corral-io/corral/proto"
)

// ConfigPath is the znode holding the cluster configuration (ZooDefs.CONFIG_NODE).
const ConfigPath = "/zookeeper/config"

// reconfig queues a reconfig request and runs it on its own goroutine. It returns a
// reason to close the connection, or "".
func (c *conn) reconfig(r *request) string {
	var req proto.ReconfigRequest
	if err := proto.Unmarshal(r.body, &req); err != nil {
		return "malformed reconfig request"
	}
	r.kind = kindAsync
	c.enqueue(r)
	go c.runReconfig(r, &req)
	return ""
}

func (c *conn) runReconfig(r *request, req *proto.ReconfigRequest) {
	s := c.s
	c.mu.Lock()
	auth := slices.Clone(c.auth)
	c.mu.Unlock()
	code, resp := s.doReconfig(req, c.remote, auth)
	s.mu.RLock()
	var body proto.Record
	if code == proto.ErrOK {
		body = resp
	}
	c.completeLocked(r, replyFrame(r.xid, s.applied.Load(), code, body))
	s.mu.RUnlock()
}

// memberSpec is one server.N=... entry of a reconfig request.
type memberSpec struct {
	id       uint64
	peer     string // host:port
	client   string // host:port, or ""
	observer bool
}

type stepKind uint8

const (
	stepAddLearner stepKind = iota
	stepPromote
	stepAddVoter
	stepRemove
)

func (k stepKind) String() string {
	return [...]string{"add observer", "promote to participant", "add participant", "remove"}[k]
}

type reconfigStep struct {
	kind   stepKind
	id     uint64
	peer   string
	client string
}

// badArgs is a reconfig request that cannot be carried out as given.
type badArgs struct{ msg string }

func (e *badArgs) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badArgs{fmt.Sprintf(format, args...)} }

// reconfigTimeout bounds a whole reconfig request: well inside the time after which
// the watchdog closes a connection whose oldest request has not completed.
func (s *Server) reconfigTimeout() time.Duration {
	d := s.proposalTimeout() * 3 / 4
	if d > 10*time.Second {
		d = 10 * time.Second
	}
	return d
}

// doReconfig carries out a reconfig request from a client with the ids auth and
// returns the reply code and body.
func (s *Server) doReconfig(req *proto.ReconfigRequest, remote string, auth []proto.ID) (proto.Code, *proto.GetDataResponse) {
	log := s.log.With("remote", remote, "joining", req.JoiningServers, "leaving", req.LeavingServers,
		"members", req.NewMembers, "config_id", req.CurConfigID)
	if s.cfg.ReconfigDisabled {
		log.Warn("reconfig refused: disabled on this member (--reconfig-enabled=false)")
		return proto.ErrReconfigDisabled, nil
	}
	if len(s.cfg.Peers) <= 1 && s.cfg.PeerAddr == "" {
		log.Warn("reconfig refused: this member runs standalone without a peer address; start it with --peer-addr to be able to add members")
		return proto.ErrReconfigDisabled, nil
	}
	if !s.reconfigMu.TryLock() {
		log.Warn("reconfig refused: another reconfig is in progress on this member")
		return proto.ErrReconfigInProgress, nil
	}
	defer s.reconfigMu.Unlock()
	m := s.node.Members()
	if len(m.VotersOutgoing) > 0 {
		log.Warn("reconfig refused: a joint membership change is in progress")
		return proto.ErrReconfigInProgress, nil
	}
	if req.CurConfigID != -1 && uint64(req.CurConfigID) != m.ConfIndex {
		log.Warn("reconfig refused: stale config version", "current", fmt.Sprintf("%x", m.ConfIndex))
		return proto.ErrBadVersion, nil
	}
	steps, err := planReconfig(m, req, s.cfg.ID)
	if err != nil {
		log.Warn("reconfig refused: bad arguments: " + err.Error())
		return proto.ErrBadArguments, nil
	}
	if !s.mayReconfig(auth) {
		// Checked last, as ZooKeeper does (PrepRequestProcessor).
		log.Warn("reconfig refused: the client lacks WRITE on " + ConfigPath + " (authenticate as the super user: addauth digest user:password)")
		return proto.ErrNoAuth, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.reconfigTimeout())
	defer cancel()
	start := m.ConfIndex
	for i, st := range steps {
		before := s.node.Members().ConfIndex
		log.Info("reconfig step", "step", i+1, "of", len(steps), "change", st.kind.String(), "member", st.id, "peer", st.peer, "client", st.client)
		if err := s.runStep(ctx, st, before); err != nil {
			now := s.node.Members()
			code := proto.ErrNewConfigNoQuorum
			if now.ConfIndex != before && !stepDone(now, st) {
				// Another member's change was applied instead of ours.
				code = proto.ErrReconfigInProgress
			}
			log.Error("reconfig failed", "step", i+1, "of", len(steps), "change", st.kind.String(), "member", st.id,
				"err", err, "code", code.String(), "applied_steps", i, "config_version", fmt.Sprintf("%x", now.ConfIndex))
			return code, nil
		}
	}
	m = s.node.Members()
	if len(steps) == 0 && req.NewMembers == "" {
		log.Info("reconfig changed nothing: the members already are as asked", "config_version", fmt.Sprintf("%x", m.ConfIndex))
	} else {
		log.Info("reconfig done", "steps", len(steps), "from_version", fmt.Sprintf("%x", start),
			"config_version", fmt.Sprintf("%x", m.ConfIndex), "voters", m.Voters, "observers", m.Learners)
	}
	if w := s.evenVotersWarning(); w != "" {
		log.Warn(w)
	}
	data := configText(m)
	s.mu.RLock()
	st, _ := s.configStat()
	s.mu.RUnlock()
	st = withConfigStat(st, m, len(data))
	return proto.ErrOK, &proto.GetDataResponse{Data: data, Stat: st}
}

// mayReconfig reports whether a client with the ids auth may change the membership.
// With a super user configured, as ZooKeeper: WRITE on /zookeeper/config, whose ACL
// (world:anyone r unless the super user changes it) grants it to the super user
// alone. Without one, every client may, as corral has always allowed (switch
// reconfig off with --reconfig-enabled=false).
func (s *Server) mayReconfig(auth []proto.ID) bool {
	if s.cfg.SuperDigest == "" {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.tree.Permits(ConfigPath, proto.PermWrite, auth)
}

// stepAttempt bounds one proposal of a reconfig step before it is proposed again.
var stepAttempt = 500 * time.Millisecond

// runStep carries out one step: it proposes the change and waits until this member
// has applied it. Raft turns a change proposed while the leader has yet to apply the
// one before into an empty entry, and the waiter never hears of it: that happens
// when a client sends a reconfig right after the reply to the last one came from a
// member that applied that change before the leader did. So a proposal that is not
// applied within stepAttempt is made again, as long as the membership has not
// changed meanwhile (another change got in: the caller answers ReconfigInProgress)
// and ctx lasts. Proposing a step twice is harmless: the change is the same, and
// raft applies a repeated one as a no-op.
func (s *Server) runStep(ctx context.Context, st reconfigStep, before uint64) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, stepAttempt)
		var err error
		switch st.kind {
		case stepAddLearner:
			err = s.node.AddLearner(attempt, st.id, st.peer, clientOpt(st.client)...)
		case stepAddVoter:
			err = s.node.AddVoter(attempt, st.id, st.peer, clientOpt(st.client)...)
		case stepPromote:
			err = s.node.Promote(attempt, st.id)
		case stepRemove:
			err = s.node.Remove(attempt, st.id)
		}
		cancel()
		if err == nil {
			return nil
		}
		now := s.node.Members()
		if stepDone(now, st) {
			return nil // applied after all, late
		}
		if !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || now.ConfIndex != before {
			return err
		}
		s.log.Info("reconfig step not applied in time; proposing it again", "change", st.kind.String(), "member", st.id)
	}
}

func clientOpt(addr string) []raftnode.ChangeOption {
	if addr == "" {
		return nil
	}
	return []raftnode.ChangeOption{raftnode.WithClientAddr(addr)}
}

// stepDone reports whether membership m already reflects step st.
func stepDone(m raftnode.Membership, st reconfigStep) bool {
	switch st.kind {
	case stepAddLearner:
		return m.IsLearner(st.id)
	case stepAddVoter, stepPromote:
		return m.IsVoter(st.id)
	default:
		return !m.IsMember(st.id)
	}
}

// planReconfig turns a request into the single changes that carry it out, in order.
func planReconfig(m raftnode.Membership, req *proto.ReconfigRequest, self uint64) ([]reconfigStep, error) {
	incremental := req.JoiningServers != "" || req.LeavingServers != ""
	if incremental && req.NewMembers != "" {
		return nil, badf("give either joining/leaving servers or new members, not both")
	}
	if !incremental && req.NewMembers == "" {
		return nil, badf("nothing to change: no joining, leaving or new members")
	}
	var joining []memberSpec
	leaving := map[uint64]bool{}
	if incremental {
		var err error
		if joining, err = parseMemberSpecs(req.JoiningServers); err != nil {
			return nil, err
		}
		for _, f := range splitList(req.LeavingServers) {
			id, err := parseServerID(f)
			if err != nil {
				return nil, err
			}
			leaving[id] = true
		}
		for _, j := range joining {
			if leaving[j.id] {
				return nil, badf("server %d is both joining and leaving", j.id)
			}
		}
	} else {
		var err error
		if joining, err = parseMemberSpecs(req.NewMembers); err != nil {
			return nil, err
		}
		listed := map[uint64]bool{}
		for _, j := range joining {
			listed[j.id] = true
		}
		for _, id := range slices.Concat(m.Voters, m.Learners) {
			if !listed[id] {
				leaving[id] = true
			}
		}
	}
	var adds, promotes, voters, removes []reconfigStep
	for _, j := range joining {
		switch {
		case j.observer && m.IsVoter(j.id):
			return nil, badf("server %d is a participant; turning a participant into an observer is not supported: remove it, then add it as an observer", j.id)
		case m.IsMember(j.id) && m.Addrs[j.id] != "" && !sameAddr(m.Addrs[j.id], j.peer):
			return nil, badf("server %d is a member at %s; changing its address to %s is not supported: remove it, then add it again", j.id, m.Addrs[j.id], j.peer)
		case j.observer && m.IsLearner(j.id), !j.observer && m.IsVoter(j.id):
			// Already so.
		case !j.observer && m.IsLearner(j.id):
			promotes = append(promotes, reconfigStep{kind: stepPromote, id: j.id})
		case j.observer:
			adds = append(adds, reconfigStep{kind: stepAddLearner, id: j.id, peer: j.peer, client: j.client})
		default:
			voters = append(voters, reconfigStep{kind: stepAddVoter, id: j.id, peer: j.peer, client: j.client})
		}
	}
	ids := make([]uint64, 0, len(leaving))
	for id := range leaving {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if id == self {
			continue
		}
		if m.IsMember(id) {
			removes = append(removes, reconfigStep{kind: stepRemove, id: id})
		}
	}
	if leaving[self] && m.IsMember(self) {
		// Last: once removed, this member can propose nothing more.
		removes = append(removes, reconfigStep{kind: stepRemove, id: self})
	}
	// The voters after the change.
	final := map[uint64]bool{}
	for _, id := range m.Voters {
		final[id] = true
	}
	for _, st := range slices.Concat(promotes, voters) {
		final[st.id] = true
	}
	for id := range leaving {
		delete(final, id)
	}
	if len(final) == 0 {
		return nil, badf("the change would leave no participant")
	}
	return slices.Concat(adds, promotes, voters, removes), nil
}

func splitList(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parseServerID(s string) (uint64, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "server.")
	id, err := strconv.ParseUint(s, 10, 64)
	if err != nil || id == 0 {
		return 0, badf("bad server id %q", s)
	}
	return id, nil
}

// parseMemberSpecs parses a comma-separated list of server specs. Lines of a whole
// config (newline-separated, with a version= line) are accepted too.
func parseMemberSpecs(list string) ([]memberSpec, error) {
	var out []memberSpec
	seen := map[uint64]bool{}
	for f := range strings.FieldsFuncSeq(list, func(r rune) bool { return r == ',' || r == '\n' }) {
		f = strings.TrimSpace(f)
		if f == "" || strings.HasPrefix(f, "version=") {
			continue
		}
		sp, err := parseMemberSpec(f)
		if err != nil {
			return nil, err
		}
		if seen[sp.id] {
			return nil, badf("server %d is listed twice", sp.id)
		}
		seen[sp.id] = true
		out = append(out, sp)
	}
	return out, nil
}

// parseMemberSpec parses
// [server.]N=host:peerPort[:electionPort][:participant|observer][;[clientHost:]clientPort].
func parseMemberSpec(s string) (memberSpec, error) {
	var sp memberSpec
	key, val, ok := strings.Cut(s, "=")
	if !ok {
		return sp, badf("bad server spec %q: want server.N=host:port[:port][:role][;clientAddr]", s)
	}
	id, err := parseServerID(key)
	if err != nil {
		return sp, err
	}
	sp.id = id
	addr, client, hasClient := strings.Cut(val, ";")
	if hasClient {
		client = strings.TrimSpace(client)
		if !strings.Contains(client, ":") || strings.HasPrefix(client, "[") && !strings.Contains(client, "]:") {
			client = "0.0.0.0:" + client // ZooKeeper's form for a bare port
		}
		h, p, err := net.SplitHostPort(client)
		if err != nil || !validPort(p) {
			return sp, badf("server %d: bad client address %q", id, client)
		}
		sp.client = net.JoinHostPort(h, p)
	}
	addr = strings.TrimSpace(addr)
	var host, rest string
	if strings.HasPrefix(addr, "[") {
		end := strings.Index(addr, "]")
		if end < 0 {
			return sp, badf("server %d: bad address %q", id, addr)
		}
		host, rest = addr[1:end], addr[end+1:]
		if !strings.HasPrefix(rest, ":") {
			return sp, badf("server %d: bad address %q", id, addr)
		}
		rest = rest[1:]
	} else {
		var ok bool
		host, rest, ok = strings.Cut(addr, ":")
		if !ok {
			return sp, badf("server %d: no peer port in %q", id, addr)
		}
	}
	parts := strings.Split(rest, ":")
	if host == "" || len(parts) == 0 || !validPort(parts[0]) {
		return sp, badf("server %d: bad peer address %q", id, addr)
	}
	sp.peer = net.JoinHostPort(host, parts[0])
	parts = parts[1:]
	if len(parts) > 0 && validPort(parts[0]) {
		parts = parts[1:] // the election port: corral has one peer port
	}
	if len(parts) > 0 {
		switch strings.ToLower(parts[0]) {
		case "participant":
		case "observer":
			sp.observer = true
		default:
			return sp, badf("server %d: unknown role %q (participant or observer)", id, parts[0])
		}
		parts = parts[1:]
	}
	if len(parts) > 0 {
		return sp, badf("server %d: unexpected %q in %q", id, strings.Join(parts, ":"), addr)
	}
	return sp, nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n > 0 && n < 65536
}

func sameAddr(a, b string) bool {
	if a == b {
		return true
	}
	ah, ap, err1 := net.SplitHostPort(a)
	bh, bp, err2 := net.SplitHostPort(b)
	return err1 == nil && err2 == nil && ap == bp && strings.EqualFold(ah, bh)
}

// configText renders membership as ZooKeeper's dynamic config: one
// server.N=host:peerPort:peerPort:role[;clientAddr] line per member, sorted by id,
// then version=<hex config version>; no trailing newline.
func configText(m raftnode.Membership) []byte {
	ids := slices.Concat(m.Voters, m.Learners)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	var b strings.Builder
	for _, id := range ids {
		host, port, err := net.SplitHostPort(m.Addrs[id])
		if err != nil {
			host, port = m.Addrs[id], "0"
		}
		if strings.Contains(host, ":") {
			host = "[" + host + "]"
		}
		role := "participant"
		if m.IsLearner(id) {
			role = "observer"
		}
		fmt.Fprintf(&b, "server.%d=%s:%s:%s:%s", id, host, port, port, role)
		if c := m.ClientAddrs[id]; c != "" {
			b.WriteString(";" + c)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "version=%x", m.ConfIndex)
	return []byte(b.String())
}

// clusterConfig reports whether /zookeeper/config is synthesized: more than one member
// (a single member leaves it empty, as standalone ZooKeeper does).
func clusterConfig(m raftnode.Membership) bool {
	return len(m.Voters)+len(m.Learners) > 1
}

// configStat returns the tree's Stat of /zookeeper/config. s.mu is held.
func (s *Server) configStat() (proto.Stat, bool) {
	res := s.tree.Read(0, nil, proto.OpExists, proto.Marshal(&proto.PathWatchRequest{Path: ConfigPath}))
	if sr, ok := res.Resp.(*proto.StatResponse); ok && res.Err == proto.ErrOK {
		return sr.Stat, true
	}
	return proto.Stat{}, false
}

// withConfigStat is st as ZooKeeper shows the config node of an ensemble: mzxid the
// config version, dataVersion -1.
func withConfigStat(st proto.Stat, m raftnode.Membership, dataLen int) proto.Stat {
	st.Mzxid = int64(m.ConfIndex)
	st.Mtime = m.ConfTime
	st.Version = -1
	st.DataLength = int32(dataLen)
	return st
}

// configRead rewrites the result of a read of /zookeeper/config (exists, getData,
// getChildren2) to show the cluster's membership. Called from execLocal with the tree
// lock held.
func (s *Server) configRead(op proto.OpCode, path string, res tree.Result) tree.Result {
	if path != ConfigPath || res.Err != proto.ErrOK || !s.nodeReady.Load() {
		return res
	}
	m := s.node.Members()
	if !clusterConfig(m) {
		return res
	}
	data := configText(m)
	switch r := res.Resp.(type) {
	case *proto.GetDataResponse:
		res.Resp = &proto.GetDataResponse{Data: data, Stat: withConfigStat(r.Stat, m, len(data))}
	case *proto.StatResponse:
		res.Resp = &proto.StatResponse{Stat: withConfigStat(r.Stat, m, len(data))}
	case *proto.GetChildren2Response:
		res.Resp = &proto.GetChildren2Response{Children: r.Children, Stat: withConfigStat(r.Stat, m, len(data))}
	}
	return res
}

// configApplied runs when raft applies an entry without data at index (s.mu held for
// writing). If it was a membership change, watchers of /zookeeper/config are told, and
// a member that has been removed closes its client connections so that its clients
// move to the members that remain.
func (s *Server) configApplied(index uint64) {
	if !s.nodeReady.Load() {
		return
	}
	m := s.node.Members()
	if m.ConfIndex != index {
		return
	}
	s.fireEvents([]tree.Event{{Type: proto.EventNodeDataChanged, Path: ConfigPath, ACL: proto.WorldACL(proto.PermRead)}})
	was := s.wasMember
	s.wasMember = m.IsMember(s.cfg.ID)
	if was && !s.wasMember {
		s.log.Warn("this member has been removed from the cluster: closing its client connections; stop it",
			"config_version", fmt.Sprintf("%x", index))
		go func() {
			for _, c := range s.connList() {
				c.close("this member was removed from the cluster")
			}
		}()
	}
}

package diff

import (
	"fmt"
	"slices"
	"strings"

	"github.com/corral-io/corral/proto"
)

// norm renders replies, events and connect responses of one side into text in which
// everything that legitimately differs between two servers is normalised:
//   - zxids of writes (their reply headers, czxid/mzxid/pzxid) become Z1, Z2, … in
//     order of first appearance on that side; the reply header of anything else (a
//     read, a ping, sync, closeSession) shows the label of the newest write zxid seen
//     at or below it (see zr); values <= 0 stay literal;
//   - session ids (connect responses, ephemeralOwner) become S<n>, the n-th session
//     opened in the seed;
//   - ctime/mtime become T, after checking ctime <= mtime (and ctime > 0 for created
//     nodes); a violation is rendered, so it shows up as a difference;
//   - children lists, getEphemerals results and whoAmI identities are sorted (the
//     reference returns hash order);
//   - notification header zxids are not compared (3.8 sends -1).
//
// Sequential suffixes, data, versions, ACLs and error codes are compared exactly.
type norm struct {
	zx    map[int64]int
	known []int64 // the keys of zx, sorted
	sess  map[int64]int
}

func newNorm() *norm { return &norm{zx: map[int64]int{}, sess: map[int64]int{}} }

func (n *norm) z(v int64) string {
	if v <= 0 {
		return fmt.Sprint(v)
	}
	id, ok := n.zx[v]
	if !ok {
		id = len(n.zx) + 1
		n.zx[v] = id
		i, _ := slices.BinarySearch(n.known, v)
		n.known = slices.Insert(n.known, i, v)
	}
	return fmt.Sprintf("Z%d", id)
}

// zr renders the zxid in the reply header of a request that writes nothing: the
// server's last zxid, which may have moved on since the last write a client saw
// through transactions no client sees. The reference spends one on every session's
// creation; corral folds a session's creation into its first write, and spends none
// on a session that never writes. So it shows as the label of the newest write zxid
// at or below it: a reply older than the last write seen still shows as a
// difference.
func (n *norm) zr(v int64) string {
	if _, ok := n.zx[v]; ok || v <= 0 {
		return n.z(v)
	}
	i, _ := slices.BinarySearch(n.known, v)
	if i == 0 {
		return "Z0"
	}
	return n.z(n.known[i-1])
}

// writes reports whether op is a write that gets a zxid of its own, in both servers.
func writes(op proto.OpCode) bool {
	switch op {
	case proto.OpCreate, proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL, proto.OpDelete,
		proto.OpSetData, proto.OpSetACL, proto.OpCheck, proto.OpMulti:
		return true
	}
	return false
}

func (n *norm) owner(v int64) string {
	if v == 0 {
		return "0"
	}
	if i, ok := n.sess[v]; ok {
		return fmt.Sprintf("S%d", i)
	}
	return fmt.Sprintf("0x%x(unknown session)", uint64(v))
}

func (n *norm) stat(s proto.Stat) string {
	t := "T"
	switch {
	case s.Mtime < s.Ctime:
		t = fmt.Sprintf("TIME-ANOMALY(mtime %d < ctime %d)", s.Mtime, s.Ctime)
	case s.Czxid > 0 && s.Ctime <= 0:
		t = fmt.Sprintf("TIME-ANOMALY(ctime %d)", s.Ctime)
	}
	return fmt.Sprintf("{cz=%s mz=%s pz=%s time=%s v=%d cv=%d av=%d owner=%s len=%d nc=%d}",
		n.z(s.Czxid), n.z(s.Mzxid), n.z(s.Pzxid), t, s.Version, s.Cversion, s.Aversion,
		n.owner(s.EphemeralOwner), s.DataLength, s.NumChildren)
}

func codeString(c proto.Code) string {
	if c == 0 {
		return "OK"
	}
	return fmt.Sprintf("%d(%s)", int32(c), c.String())
}

func (n *norm) connect(r proto.ConnectResponse, idx int) string {
	if r.TimeOut <= 0 {
		return fmt.Sprintf("connect refused: proto=%d timeout=%d session=%#x passwd=%dB readOnly=%v old=%v",
			r.ProtocolVersion, r.TimeOut, r.SessionID, len(r.Passwd), r.ReadOnly, r.OldClient)
	}
	if _, ok := n.sess[r.SessionID]; !ok && idx >= 0 {
		n.sess[r.SessionID] = idx
	}
	return fmt.Sprintf("connected: proto=%d timeout=%d session=%s passwd=%dB readOnly=%v old=%v",
		r.ProtocolVersion, r.TimeOut, n.owner(r.SessionID), len(r.Passwd), r.ReadOnly, r.OldClient)
}

var eventNames = map[proto.EventType]string{
	proto.EventNone: "None", proto.EventNodeCreated: "NodeCreated", proto.EventNodeDeleted: "NodeDeleted",
	proto.EventNodeDataChanged: "NodeDataChanged", proto.EventNodeChildrenChanged: "NodeChildrenChanged",
	proto.EventDataWatchRemoved: "DataWatchRemoved", proto.EventChildWatchRemoved: "ChildWatchRemoved",
	proto.EventPersistentWatchRemoved: "PersistentWatchRemoved",
}

func eventString(ev proto.WatcherEvent) string {
	name, ok := eventNames[ev.Type]
	if !ok {
		name = fmt.Sprintf("type(%d)", ev.Type)
	}
	s := fmt.Sprintf("%s %q", name, ev.Path)
	if ev.State != proto.StateSyncConnected {
		s += fmt.Sprintf(" state=%d", ev.State)
	}
	return s
}

func eventsString(evs []proto.WatcherEvent, sorted bool) string {
	ss := make([]string, len(evs))
	for i, ev := range evs {
		ss[i] = eventString(ev)
	}
	if sorted {
		slices.Sort(ss)
	}
	return "[" + strings.Join(ss, ", ") + "]"
}

func sortedStrings(v []string) string {
	if v == nil {
		return "null"
	}
	c := slices.Clone(v)
	slices.Sort(c)
	return fmt.Sprintf("%q", c)
}

func aclsString(acls []proto.ACL) string {
	if acls == nil {
		return "[]"
	}
	return aclString(acls)
}

// reply renders a reply frame to the request op. checkOnly renders just err and zxid
// (top-level check vs. the reference's one-op multi).
func (n *norm) reply(op proto.OpCode, f frame, checkOnly bool) string {
	zx := n.zr
	if writes(op) {
		zx = n.z
	}
	h := fmt.Sprintf("err=%s zxid=%s", codeString(f.hdr.Err), zx(f.hdr.Zxid))
	if checkOnly {
		if op == proto.OpMulti && f.hdr.Err == 0 {
			// The reference's one-op multi: the outcome is in its only result.
			var r proto.MultiResponse
			if err := proto.Unmarshal(f.body, &r); err != nil || len(r.Results) != 1 {
				return h + fmt.Sprintf(" (undecodable one-op multi %x)", f.body)
			}
			return fmt.Sprintf("err=%s zxid=%s", codeString(r.Results[0].Err), zx(f.hdr.Zxid))
		}
		return h
	}
	if f.hdr.Err != 0 && op != proto.OpMulti && op != proto.OpMultiRead {
		// Clients read no body on error; the reference sometimes appends one.
		return h
	}
	d := proto.NewDecoder(f.body)
	var b string
	switch op {
	case proto.OpCreate:
		var r proto.CreateResponse
		r.Decode(d)
		b = fmt.Sprintf("path=%q", r.Path)
	case proto.OpCreate2, proto.OpCreateContainer, proto.OpCreateTTL:
		var r proto.Create2Response
		r.Decode(d)
		b = fmt.Sprintf("path=%q stat=%s", r.Path, n.stat(r.Stat))
	case proto.OpExists, proto.OpSetData, proto.OpSetACL:
		var r proto.StatResponse
		r.Decode(d)
		b = "stat=" + n.stat(r.Stat)
	case proto.OpGetData:
		var r proto.GetDataResponse
		r.Decode(d)
		b = fmt.Sprintf("data=%s stat=%s", dataString(r.Data), n.stat(r.Stat))
	case proto.OpGetACL:
		var r proto.GetACLResponse
		r.Decode(d)
		b = fmt.Sprintf("acl=%s stat=%s", aclsString(r.ACL), n.stat(r.Stat))
	case proto.OpGetChildren:
		var r proto.GetChildrenResponse
		r.Decode(d)
		b = "children=" + sortedStrings(r.Children)
	case proto.OpGetChildren2:
		var r proto.GetChildren2Response
		r.Decode(d)
		b = fmt.Sprintf("children=%s stat=%s", sortedStrings(r.Children), n.stat(r.Stat))
	case proto.OpSync:
		var r proto.PathRequest
		r.Decode(d)
		b = fmt.Sprintf("path=%q", r.Path)
	case proto.OpGetAllChildrenNum, proto.OpAddWatch:
		var r proto.IntResponse
		r.Decode(d)
		b = fmt.Sprintf("int=%d", r.Value)
	case proto.OpGetEphemerals:
		var r proto.StringsResponse
		r.Decode(d)
		b = "ephemerals=" + sortedStrings(r.Values)
	case proto.OpWhoAmI:
		var r proto.WhoAmIResponse
		r.Decode(d)
		ids := make([]string, len(r.Clients))
		for i, c := range r.Clients {
			ids[i] = c.Scheme + ":" + c.ID
		}
		slices.Sort(ids) // the reference keeps them in a hash set
		b = fmt.Sprintf("clients=%q", ids)
	case proto.OpMulti, proto.OpMultiRead:
		b = n.multi(d)
	default: // delete, check, removeWatches, checkWatches, auth, setWatches, closeSession
	}
	if d.Err() != nil {
		b += fmt.Sprintf(" DECODE-ERROR(%v) raw=%x", d.Err(), f.body)
	} else if d.Remaining() > 0 {
		b += fmt.Sprintf(" +%d trailing bytes %x", d.Remaining(), f.body[d.Offset():])
	}
	if b == "" {
		return h
	}
	return h + " " + b
}

// multi renders a MultiResponse field by field, including every header's err.
func (n *norm) multi(d *proto.Decoder) string {
	var parts []string
	for d.Err() == nil {
		typ := proto.OpCode(d.Int())
		done := d.Bool()
		herr := proto.Code(d.Int())
		if d.Err() != nil {
			break
		}
		if done {
			if typ != -1 || herr != -1 {
				parts = append(parts, fmt.Sprintf("end{%d,%d}", typ, herr))
			}
			return "results=[" + strings.Join(parts, "; ") + "]"
		}
		s := fmt.Sprintf("%v", typ)
		if herr != 0 || typ == proto.OpError {
			s += "/" + codeString(herr)
		}
		switch typ {
		case proto.OpCreate:
			s += fmt.Sprintf(" path=%q", d.String())
		case proto.OpCreate2, proto.OpCreateTTL, proto.OpCreateContainer:
			var r proto.Create2Response
			r.Decode(d)
			s += fmt.Sprintf(" path=%q stat=%s", r.Path, n.stat(r.Stat))
		case proto.OpSetData:
			var st proto.Stat
			st.Decode(d)
			s += " stat=" + n.stat(st)
		case proto.OpGetChildren:
			s += " children=" + sortedStrings(d.Strings())
		case proto.OpGetData:
			var r proto.GetDataResponse
			r.Decode(d)
			s += fmt.Sprintf(" data=%s stat=%s", dataString(r.Data), n.stat(r.Stat))
		case proto.OpError:
			s += fmt.Sprintf(" body=%s", codeString(proto.Code(d.Int())))
		case proto.OpDelete, proto.OpCheck:
		default:
			parts = append(parts, s+" UNKNOWN-RESULT-TYPE")
			return "results=[" + strings.Join(parts, "; ") + "] (undecodable)"
		}
		parts = append(parts, s)
	}
	return "results=[" + strings.Join(parts, "; ") + "] (no terminator)"
}

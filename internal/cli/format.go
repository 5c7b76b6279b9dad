package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/corral-io/corral/client"
)

// javaDate formats milliseconds since the epoch as java.util.Date.toString does
// ("Wed Nov 25 18:30:24 UTC 2026"), in the local time zone.
func javaDate(ms int64) string {
	return time.UnixMilli(ms).Format("Mon Jan 02 15:04:05 MST 2006")
}

// writeStat prints a Stat as zkCli's StatPrinter does.
func writeStat(w io.Writer, st *client.Stat) {
	if st == nil {
		st = &client.Stat{}
	}
	fmt.Fprintf(w, "cZxid = 0x%s\n", strconv.FormatUint(uint64(st.Czxid), 16))
	fmt.Fprintf(w, "ctime = %s\n", javaDate(st.Ctime))
	fmt.Fprintf(w, "mZxid = 0x%s\n", strconv.FormatUint(uint64(st.Mzxid), 16))
	fmt.Fprintf(w, "mtime = %s\n", javaDate(st.Mtime))
	fmt.Fprintf(w, "pZxid = 0x%s\n", strconv.FormatUint(uint64(st.Pzxid), 16))
	fmt.Fprintf(w, "cversion = %d\n", st.Cversion)
	fmt.Fprintf(w, "dataVersion = %d\n", st.Version)
	fmt.Fprintf(w, "aclVersion = %d\n", st.Aversion)
	fmt.Fprintf(w, "ephemeralOwner = 0x%s\n", strconv.FormatUint(uint64(st.EphemeralOwner), 16))
	fmt.Fprintf(w, "dataLength = %d\n", st.DataLength)
	fmt.Fprintf(w, "numChildren = %d\n", st.NumChildren)
}

// javaList formats names as java.util.List.toString does: "[a, b, c]".
func javaList(names []string) string {
	return "[" + strings.Join(names, ", ") + "]"
}

// PermString is ZKUtil.getPermString: the letters of perms in the order c d r w a.
func PermString(perms int32) string {
	var b strings.Builder
	for _, p := range []struct {
		bit int32
		c   byte
	}{{client.PermCreate, 'c'}, {client.PermDelete, 'd'}, {client.PermRead, 'r'}, {client.PermWrite, 'w'}, {client.PermAdmin, 'a'}} {
		if perms&p.bit != 0 {
			b.WriteByte(p.c)
		}
	}
	return b.String()
}

// juteString is how jute's toString shows a string (Id.toString in getAcl's output):
// a leading quote and a few characters escaped.
func juteString(s string) string {
	r := strings.NewReplacer("%", "%25", "\x00", "%00", "\n", "%0A", "\r", "%0D", ",", "%2C", "}", "%7D")
	return "'" + r.Replace(s)
}

// formatACL is one line of getAcl: "'world,'anyone\n: cdrwa" (Id.toString ends in a
// newline, as jute's CSV records do).
func formatACL(a client.ACL) string {
	return juteString(a.ID.Scheme) + "," + juteString(a.ID.ID) + "\n: " + PermString(a.Perms)
}

// ParseACL parses zkCli's ACL syntax, "scheme:id:perms[,scheme:id:perms...]", as its
// AclParser does: the id is everything between the first and the last colon
// ("digest:user:hash:cdrwa"). Malformed entries and unknown permission letters are
// reported in warnings and skipped, as zkCli does.
func ParseACL(s string) (acl []client.ACL, warnings []string) {
	acl = []client.ACL{}
	for _, a := range strings.Split(s, ",") {
		first, last := strings.Index(a, ":"), strings.LastIndex(a, ":")
		if first == -1 || first == last {
			warnings = append(warnings, a+" does not have the form scheme:id:perm")
			continue
		}
		var perms int32
		for _, c := range a[last+1:] {
			switch c {
			case 'r':
				perms |= client.PermRead
			case 'w':
				perms |= client.PermWrite
			case 'c':
				perms |= client.PermCreate
			case 'd':
				perms |= client.PermDelete
			case 'a':
				perms |= client.PermAdmin
			default:
				warnings = append(warnings, fmt.Sprintf("Unknown perm type: %c", c))
			}
		}
		acl = append(acl, client.ACL{Perms: perms, ID: client.ID{Scheme: a[:first], ID: a[first+1 : last]}})
	}
	return acl, warnings
}

// formatEvent is WatchedEvent.toString: "WatchedEvent state:SyncConnected
// type:NodeDataChanged path:/x".
func formatEvent(state string, typ string, path string) string {
	if path == "" {
		path = "null"
	}
	return "WatchedEvent state:" + state + " type:" + typ + " path:" + path
}

// keeperState is the name of Watcher.Event.KeeperState that zkCli prints for a
// session state.
func keeperState(s client.State) string {
	switch s {
	case client.StateConnected:
		return "SyncConnected"
	case client.StateConnectedReadOnly:
		return "ConnectedReadOnly"
	case client.StateDisconnected, client.StateConnecting:
		return "Disconnected"
	case client.StateExpired:
		return "Expired"
	case client.StateAuthFailed:
		return "AuthFailed"
	case client.StateClosed:
		return "Closed"
	}
	return s.String()
}

// promptState is the name of ZooKeeper.States that zkCli's prompt shows.
func promptState(s client.State) string {
	switch s {
	case client.StateConnected:
		return "CONNECTED"
	case client.StateConnectedReadOnly:
		return "CONNECTEDREADONLY"
	case client.StateConnecting, client.StateDisconnected:
		return "CONNECTING"
	case client.StateAuthFailed:
		return "AUTH_FAILED"
	}
	return "CLOSED"
}

// JSON shapes of --json output.

// JSONStat is a Stat with ZooKeeper's field names; times are milliseconds since the
// epoch.
type JSONStat struct {
	Czxid          int64 `json:"czxid"`
	Mzxid          int64 `json:"mzxid"`
	Pzxid          int64 `json:"pzxid"`
	Ctime          int64 `json:"ctime"`
	Mtime          int64 `json:"mtime"`
	Version        int32 `json:"version"`
	Cversion       int32 `json:"cversion"`
	Aversion       int32 `json:"aversion"`
	EphemeralOwner int64 `json:"ephemeralOwner"`
	DataLength     int32 `json:"dataLength"`
	NumChildren    int32 `json:"numChildren"`
}

func jsonStat(st *client.Stat) *JSONStat {
	if st == nil {
		return nil
	}
	return &JSONStat{
		Czxid: st.Czxid, Mzxid: st.Mzxid, Pzxid: st.Pzxid, Ctime: st.Ctime, Mtime: st.Mtime,
		Version: st.Version, Cversion: st.Cversion, Aversion: st.Aversion,
		EphemeralOwner: st.EphemeralOwner, DataLength: st.DataLength, NumChildren: st.NumChildren,
	}
}

// JSONACL is one ACL entry; perms uses zkCli's letters ("cdrwa").
type JSONACL struct {
	Scheme string `json:"scheme"`
	ID     string `json:"id"`
	Perms  string `json:"perms"`
}

// jsonData sets the data fields of a result: data as a string when it is UTF-8 (null
// for a node without data), otherwise dataBase64.
func jsonData(m map[string]any, data []byte) {
	switch {
	case data == nil:
		m["data"] = nil
	case utf8.Valid(data):
		m["data"] = string(data)
	default:
		m["dataBase64"] = data // encoding/json writes []byte as base64
	}
}

package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/corral-io/corral/client"
)

// Option keys of reconfig in parsedArgs.flags (zkCli's options are words).
const (
	optAdd     = 'a'
	optRemove  = 'r'
	optMembers = 'm'
	optFile    = 'f'
)

// parseReconfigArgs parses zkCli's reconfig options: -s, -v version, -add list,
// -remove list, -members list, -file path.
func parseReconfigArgs(words []string) (*parsedArgs, error) {
	p := &parsedArgs{flags: map[byte]string{}}
	if len(words) == 0 {
		return p, nil
	}
	p.args = append(p.args, words[0])
	keys := map[string]byte{"-add": optAdd, "-remove": optRemove, "-members": optMembers, "-file": optFile, "-v": 'v'}
	for i := 1; i < len(words); i++ {
		w := words[i]
		if w == "-s" {
			p.flags['s'] = ""
			continue
		}
		k, ok := keys[w]
		if !ok {
			if strings.HasPrefix(w, "-") {
				return nil, usageError{"Unrecognized option: " + w}
			}
			p.args = append(p.args, w)
			continue
		}
		if i+1 >= len(words) {
			return nil, usageError{"Missing argument for option: " + strings.TrimPrefix(w, "-")}
		}
		i++
		if prev, ok := p.flags[k]; ok && (k == optAdd || k == optRemove) {
			p.flags[k] = prev + "," + words[i]
		} else {
			p.flags[k] = words[i]
		}
	}
	return p, nil
}

func cmdReconfig(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	usage := usageError{"reconfig " + commandIndex["reconfig"].opts}
	add, hasAdd := p.value(optAdd)
	remove, hasRemove := p.value(optRemove)
	members, hasMembers := p.value(optMembers)
	file, hasFile := p.value(optFile)
	if (hasAdd || hasRemove) && (hasMembers || hasFile) || hasMembers && hasFile || !(hasAdd || hasRemove || hasMembers || hasFile) {
		return usage
	}
	version := int64(-1)
	if v, ok := p.value('v'); ok {
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(v), "0x"), 16, 64)
		if err != nil {
			return usageError{fmt.Sprintf("-v argument must be a hex config version: %q", v)}
		}
		version = n
	}
	if hasFile {
		b, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		var lines []string
		for l := range strings.SplitSeq(string(b), "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "server.") {
				lines = append(lines, l)
			}
		}
		members, hasMembers = strings.Join(lines, ","), true
	}
	c := conn(s)
	var data []byte
	var st *client.Stat
	var err error
	if hasMembers {
		data, st, err = c.Reconfig(ctx, splitComma(members), version)
	} else {
		data, st, err = c.IncrementalReconfig(ctx, splitComma(add), splitComma(remove), version)
	}
	if err != nil {
		return reconfigError(err)
	}
	if s.cfg.JSON {
		o.doc = configDoc(data, st)
		return nil
	}
	warnEvenVoters(o, data)
	o.println("Committed new configuration:")
	o.println(string(data))
	o.statIfAsked(p, st)
	return nil
}

// reconfigError words errors as zkCli does for reconfig.
func reconfigError(err error) error {
	switch {
	case errors.Is(err, client.ErrBadVersion):
		return reconfigMessage{"version No is not valid : ", err}
	case errors.Is(err, client.ErrBadArguments):
		return reconfigMessage{"Arguments are not valid : ", err}
	case errors.Is(err, client.ErrNewConfigNoQuorum):
		return reconfigMessage{"No quorum of new config is connected and up-to-date with the leader of last commmitted config - try invoking reconfiguration after new servers are connected and synced", err}
	case errors.Is(err, client.ErrReconfigInProgress):
		return reconfigMessage{"Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)", err}
	case errors.Is(err, client.ErrReconfigDisabled):
		return reconfigMessage{"Reconfig is disabled on the server", err}
	}
	return err
}

// reconfigMessage is an error already worded for the user, still carrying its cause
// for --json.
type reconfigMessage struct {
	msg string
	err error
}

func (e reconfigMessage) Error() string { return e.msg }
func (e reconfigMessage) Unwrap() error { return e.err }

func splitComma(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func cmdConfig(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	c := conn(s)
	var data []byte
	var st *client.Stat
	var err error
	if p.has('w') {
		var ch <-chan client.Event
		data, st, ch, err = c.GetConfigW(ctx)
		s.watch(ch)
	} else {
		data, st, err = c.GetConfig(ctx)
	}
	if err != nil {
		return err
	}
	if s.cfg.JSON {
		doc := configDoc(data, st)
		if p.has('c') {
			doc["connectString"] = clientConfigString(string(data))
		}
		o.doc = doc
		return nil
	}
	warnEvenVoters(o, data)
	if p.has('c') {
		o.println(clientConfigString(string(data)))
	} else {
		o.println(string(data))
	}
	o.statIfAsked(p, st)
	return nil
}

// configDoc is the JSON form of a configuration.
func configDoc(data []byte, st *client.Stat) map[string]any {
	doc := map[string]any{"config": string(data), "stat": jsonStat(st)}
	version, hasVersion, lines := parseConfig(string(data))
	if hasVersion {
		doc["version"] = version
	}
	var servers []map[string]any
	for _, l := range lines {
		id, err := strconv.ParseUint(strings.TrimPrefix(l.key, "server."), 10, 64)
		if err != nil || !strings.HasPrefix(l.key, "server.") {
			continue
		}
		role := "participant"
		if l.observer() {
			role = "observer"
		}
		srv := map[string]any{"id": id, "address": l.addr, "role": role}
		if l.client != "" {
			srv["client"] = l.client
		}
		servers = append(servers, srv)
	}
	doc["servers"] = servers
	if w := evenVotersWarning(data); w != "" {
		doc["warning"] = w
	}
	return doc
}

// evenVotersWarning returns a warning when the configuration has an even number
// of participants (voters): it tolerates no more failures than one fewer would
// ("odd numbers rule"). The servers warn the same way in their log, srvr and mntr.
func evenVotersWarning(cfg []byte) string {
	n := 0
	_, _, lines := parseConfig(string(cfg))
	for _, l := range lines {
		if strings.HasPrefix(l.key, "server.") && !l.observer() {
			n++
		}
	}
	if n > 1 && n%2 == 0 {
		return fmt.Sprintf("%d voting members: an even number tolerates no more failures than %d; use an odd number", n, n-1)
	}
	return ""
}

// warnEvenVoters prints evenVotersWarning to the error stream, so that the
// standard output stays what zkCli prints.
func warnEvenVoters(o *output, cfg []byte) {
	if w := evenVotersWarning(cfg); w != "" {
		o.eprintln("WARNING: " + w)
	}
}

// clientConfigString is zkCli's `config -c`: the version, a space, and the members'
// client addresses as a connect string (ConfigUtils.getClientConfigStr). A client
// address on the wildcard host is shown with the member's peer host.
func clientConfigString(cfg string) string {
	version, _, lines := parseConfig(cfg)
	var hosts []string
	for _, l := range lines {
		if l.client == "" {
			continue
		}
		h, port, err := net.SplitHostPort(l.client)
		if err != nil {
			continue
		}
		if h == "" || h == "0.0.0.0" || h == "::" {
			if ph, _, ok := strings.Cut(l.addr, ":"); ok {
				h = ph
			}
		}
		hosts = append(hosts, net.JoinHostPort(h, port))
	}
	return version + " " + strings.Join(hosts, ",")
}

// configLine is one key=value line of a configuration (/zookeeper/config) other
// than its version: for server.N=peer:ports:role;client, key is "server.N", addr the
// part before ';' and client the part after it.
type configLine struct{ key, addr, client string }

func (l configLine) observer() bool { return strings.HasSuffix(l.addr, ":observer") }

// parseConfig splits a configuration into its version (hasVersion: a version line
// was present) and its other lines.
func parseConfig(cfg string) (version string, hasVersion bool, lines []configLine) {
	for l := range strings.SplitSeq(cfg, "\n") {
		key, val, ok := strings.Cut(strings.TrimSpace(l), "=")
		if !ok {
			continue
		}
		if key == "version" {
			version, hasVersion = val, true
			continue
		}
		addr, client, _ := strings.Cut(val, ";")
		lines = append(lines, configLine{key, addr, client})
	}
	return version, hasVersion, lines
}

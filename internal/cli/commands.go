package cli

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/corral-io/corral/client"
)

// command is one zkCli command.
type command struct {
	name    string
	opts    string   // zkCli's option string, shown in usage
	flags   flagSpec // the options it takes
	minArgs int      // positional arguments needed (after the name)
	local   bool     // runs without a session
	// parse, if set, replaces the single-letter option parser (zkCli's reconfig
	// has multi-letter options: -add, -remove, -members, -file).
	parse func(words []string) (*parsedArgs, error)
	run   func(s *Shell, ctx context.Context, o *output, p *parsedArgs) error
}

func (c *command) usage() string { return c.name + " " + c.opts }

var commands []*command
var commandIndex = map[string]*command{}

func init() {
	commands = []*command{
		{name: "addWatch", opts: "[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE", flags: "m:", minArgs: 1, run: cmdAddWatch},
		{name: "addauth", opts: "scheme auth", minArgs: 1, run: cmdAddAuth},
		{name: "close", opts: "", run: cmdClose},
		{name: "config", opts: "[-c] [-w] [-s]", flags: "cws", run: cmdConfig},
		{name: "connect", opts: "host:port", local: true, run: cmdConnect},
		{name: "create", opts: "[-s] [-e] [-c] [-t ttl] path [data] [acl]", flags: "sect:", minArgs: 1, run: cmdCreate},
		{name: "delete", opts: "[-v version] path", flags: "v:", minArgs: 1, run: cmdDelete},
		{name: "deleteall", opts: "path [-b batch size]", flags: "b:", minArgs: 1, run: cmdDeleteAll},
		{name: "get", opts: "[-s] [-w] path", flags: "swbx", minArgs: 1, run: cmdGet},
		{name: "getAcl", opts: "[-s] path", flags: "s", minArgs: 1, run: cmdGetACL},
		{name: "getAllChildrenNumber", opts: "path", minArgs: 1, run: cmdGetAllChildrenNumber},
		{name: "getEphemerals", opts: "[path]", run: cmdGetEphemerals},
		{name: "help", opts: "", local: true, run: cmdHelp},
		{name: "history", opts: "", local: true, run: cmdHistory},
		{name: "ls", opts: "[-s] [-w] [-R] path", flags: "swR?", minArgs: 1, run: cmdLs},
		{name: "printwatches", opts: "on|off", local: true, run: cmdPrintWatches},
		{name: "quit", opts: "", local: true, run: cmdQuit},
		{name: "reconfig", opts: "[-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]", parse: parseReconfigArgs, run: cmdReconfig},
		{name: "redo", opts: "cmdno", local: true, run: cmdRedo},
		{name: "removewatches", opts: "path [-c|-d|-a] [-l]", flags: "cdal", minArgs: 1, run: cmdRemoveWatches},
		{name: "set", opts: "[-s] [-v version] path data", flags: "sv:", minArgs: 2, run: cmdSet},
		{name: "setAcl", opts: "[-s] [-v version] [-R] path acl", flags: "sv:R", minArgs: 2, run: cmdSetACL},
		{name: "stat", opts: "[-w] path", flags: "w", minArgs: 1, run: cmdStat},
		{name: "sync", opts: "path", minArgs: 1, run: cmdSync},
		{name: "version", opts: "", local: true, run: cmdVersion},
		{name: "whoami", opts: "", run: cmdWhoAmI},
	}
	for _, c := range commands {
		commandIndex[c.name] = c
	}
}

func conn(s *Shell) *client.Conn { return s.Conn() }

// pathArg validates and returns the positional argument i (1-based) as a path.
func pathArg(p *parsedArgs, i int, sequential bool) (string, error) {
	path := p.args[i]
	if err := ValidatePath(path, sequential); err != nil {
		return "", err
	}
	return path, nil
}

func versionFlag(p *parsedArgs) (int32, error) {
	v, ok := p.value('v')
	if !ok {
		return -1, nil
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, usageError{fmt.Sprintf("-v argument must be an int value: %q", v)}
	}
	return int32(n), nil
}

// pathVersionArgs is the path argument and -v of set and delete, checked in that order.
func pathVersionArgs(p *parsedArgs) (string, int32, error) {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return "", 0, err
	}
	version, err := versionFlag(p)
	if err != nil {
		return "", 0, err
	}
	return path, version, nil
}

// usageOf is the usage error of the named command.
func usageOf(name string) error { return usageError{commandIndex[name].usage()} }

// readWatched runs read, or with watch its watching form readW, whose channel goes to
// s.watch: the two forms of the reads behind get, ls and stat.
func readWatched[T any](s *Shell, ctx context.Context, path string, watch bool,
	read func(context.Context, string) (T, *client.Stat, error),
	readW func(context.Context, string) (T, *client.Stat, <-chan client.Event, error),
) (T, *client.Stat, error) {
	if !watch {
		return read(ctx, path)
	}
	v, st, ch, err := readW(ctx, path)
	s.watch(ch)
	return v, st, err
}

// statDoc is the --json document of a command that answers with one node's stat.
func statDoc(path string, st *client.Stat) map[string]any {
	return map[string]any{"path": path, "stat": jsonStat(st)}
}

// statIfAsked writes st after a command's text when it was given -s.
func (o *output) statIfAsked(p *parsedArgs, st *client.Stat) {
	if p.has('s') {
		writeStat(&o.out, st)
	}
}

// replyStat answers a write that returns the node's new stat: its stat document under
// --json, otherwise the stat itself with -s.
func (s *Shell) replyStat(o *output, p *parsedArgs, path string, st *client.Stat) {
	if s.cfg.JSON {
		o.doc = statDoc(path, st)
		return
	}
	o.statIfAsked(p, st)
}

// ack sets the --json document of a command that prints nothing in zkCli's text.
func (s *Shell) ack(o *output, doc map[string]any) {
	if s.cfg.JSON {
		o.doc = doc
	}
}

// reply answers with doc under --json, otherwise with line.
func (s *Shell) reply(o *output, doc map[string]any, line any) {
	if s.cfg.JSON {
		o.doc = doc
		return
	}
	o.println(line)
}

// parseACL is ParseACL with its warnings written to standard error, as zkCli does.
func (o *output) parseACL(s string) []client.ACL {
	acl, warnings := ParseACL(s)
	for _, w := range warnings {
		o.eprintln(w)
	}
	return acl
}

func cmdLs(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	c, watch := conn(s), p.has('w')
	if p.has('R') {
		paths, err := s.visitDFS(ctx, path, watch)
		if err != nil && len(paths) == 0 {
			return err
		}
		if s.cfg.JSON {
			if err != nil {
				return err
			}
			o.doc = map[string]any{"path": path, "paths": paths}
			return nil
		}
		for _, p := range paths {
			o.println(p)
		}
		return err
	}
	names, st, err := readWatched(s, ctx, path, watch, c.Children, c.ChildrenW)
	if err != nil {
		return err
	}
	sort.Strings(names)
	if s.cfg.JSON {
		doc := map[string]any{"path": path, "children": nonNil(names)}
		if p.has('s') {
			doc["stat"] = jsonStat(st)
		}
		o.doc = doc
		return nil
	}
	o.println(javaList(names))
	o.statIfAsked(p, st)
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// visitDFS is ZKUtil.visitSubTreeDFS as `ls -R` uses it: the node, then its children
// (sorted), then each child's subtree in turn. A node that vanishes meanwhile is
// skipped; any other error stops the walk and is returned with the paths so far.
func (s *Shell) visitDFS(ctx context.Context, path string, watch bool) ([]string, error) {
	c := conn(s)
	if _, _, err := readWatched(s, ctx, path, watch, c.Get, c.GetW); err != nil {
		return nil, err
	}
	paths := []string{path}
	var visit func(string) error
	visit = func(path string) error {
		names, _, err := readWatched(s, ctx, path, watch, c.Children, c.ChildrenW)
		if errors.Is(err, client.ErrNoNode) {
			return nil
		}
		if err != nil {
			return err
		}
		sort.Strings(names)
		kids := make([]string, len(names))
		for i, n := range names {
			kids[i] = joinPath(path, n)
		}
		paths = append(paths, kids...)
		for _, k := range kids {
			if err := visit(k); err != nil {
				return err
			}
		}
		return nil
	}
	return paths, visit(path)
}

func joinPath(parent, name string) string {
	if parent == "/" {
		return "/" + name
	}
	return parent + "/" + name
}

func cmdGet(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	c := conn(s)
	data, st, err := readWatched(s, ctx, path, p.has('w'), c.Get, c.GetW)
	if err != nil {
		return err
	}
	if s.cfg.JSON {
		doc := statDoc(path, st)
		jsonData(doc, data)
		o.doc = doc
		return nil
	}
	switch {
	case data == nil:
		o.println("null")
	case p.has('b'):
		o.println(base64String(data))
	case p.has('x'):
		o.out.WriteString(hexDump(data))
	default:
		o.println(string(data))
	}
	o.statIfAsked(p, st)
	return nil
}

func cmdStat(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	c := conn(s)
	ok, st, err := readWatched(s, ctx, path, p.has('w'), c.Exists, c.ExistsW)
	if err != nil {
		return err
	}
	if !ok {
		return &client.Error{Code: client.CodeOf(client.ErrNoNode), Path: path}
	}
	if s.cfg.JSON {
		o.doc = statDoc(path, st)
		return nil
	}
	writeStat(&o.out, st)
	return nil
}

func cmdSet(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, version, err := pathVersionArgs(p)
	if err != nil {
		return err
	}
	st, err := conn(s).Set(ctx, path, []byte(p.args[2]), version)
	if err != nil {
		return err
	}
	s.replyStat(o, p, path, st)
	return nil
}

// maxTTL is EphemeralType.TTL.maxValue(): 40 bits of milliseconds.
const maxTTL = 1<<40 - 1

func cmdCreate(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	hasE, hasS, hasC, hasT := p.has('e'), p.has('s'), p.has('c'), p.has('t')
	if hasC && (hasE || hasS) {
		return usageError{"-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential."}
	}
	var ttl int64
	if hasT {
		v, _ := p.value('t')
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return usageError{"-t argument must be a long value"}
		}
		ttl = n
	}
	if hasT && hasE {
		return usageError{"TTLs cannot be used with Ephemeral znodes"}
	}
	if hasT && hasC {
		return usageError{"TTLs cannot be used with Container znodes"}
	}
	var mode client.CreateMode
	switch {
	case hasE && hasS:
		mode = client.EphemeralSequential
	case hasE:
		mode = client.Ephemeral
	case hasS && hasT:
		mode = client.PersistentSequentialWithTTL
	case hasS:
		mode = client.PersistentSequential
	case hasC:
		mode = client.Container
	case hasT:
		mode = client.PersistentWithTTL
	default:
		mode = client.Persistent
	}
	if hasT && (ttl <= 0 || ttl > maxTTL) {
		return usageError{fmt.Sprintf("ttl must be positive and cannot be larger than: %d", int64(maxTTL))}
	}
	path, err := pathArg(p, 1, hasS)
	if err != nil {
		return err
	}
	var data []byte
	if len(p.args) > 2 {
		data = []byte(p.args[2])
	}
	var opts []client.CreateOption
	if len(p.args) > 3 {
		opts = append(opts, client.WithACL(o.parseACL(p.args[3])))
	}
	if hasT {
		opts = append(opts, client.WithTTL(time.Duration(ttl)*time.Millisecond))
	}
	created, st, err := conn(s).Create2(ctx, path, data, mode, opts...)
	if err != nil {
		return err
	}
	s.reply(o, statDoc(created, st), "Created "+created)
	return nil
}

func cmdDelete(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, version, err := pathVersionArgs(p)
	if err != nil {
		return err
	}
	if err := conn(s).Delete(ctx, path, version); err != nil {
		return err
	}
	s.ack(o, map[string]any{"path": path, "deleted": true})
	return nil
}

// cmdDeleteAll is ZKUtil.deleteRecursive: the subtree in breadth-first order, then
// deleted leaves first, in transactions of -b operations (default 1000).
func cmdDeleteAll(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	batch := 1000
	if v, ok := p.value('b'); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return usageError{"-b argument must be an int value"}
		}
		batch = n
	}
	c := conn(s)
	tree := []string{path}
	for i := 0; i < len(tree); i++ {
		names, _, err := c.Children(ctx, tree[i])
		if err != nil {
			if i > 0 && errors.Is(err, client.ErrNoNode) {
				continue
			}
			return err
		}
		for _, n := range names {
			tree = append(tree, joinPath(tree[i], n))
		}
	}
	failed := false
	if batch <= 0 {
		for i := len(tree) - 1; i >= 0; i-- {
			if err := c.Delete(ctx, tree[i], -1); err != nil {
				return err
			}
		}
	} else {
		txn := c.Txn()
		n := 0
		for i := len(tree) - 1; i >= 0; i-- {
			txn.Delete(tree[i], -1)
			n++
			if n == batch || i == 0 {
				if _, err := txn.Commit(ctx); err != nil {
					var te *client.TxnError
					if !errors.As(err, &te) {
						return err
					}
					failed = true
					break
				}
				txn, n = c.Txn(), 0
			}
		}
	}
	if failed {
		return errors.New("Failed to delete some node(s) in the subtree!")
	}
	s.ack(o, map[string]any{"path": path, "deleted": len(tree)})
	return nil
}

func cmdGetACL(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	acl, st, err := conn(s).GetACL(ctx, path)
	if err != nil {
		return err
	}
	if s.cfg.JSON {
		list := make([]JSONACL, 0, len(acl))
		for _, a := range acl {
			list = append(list, JSONACL{Scheme: a.ID.Scheme, ID: a.ID.ID, Perms: PermString(a.Perms)})
		}
		doc := statDoc(path, st)
		doc["acl"] = list
		o.doc = doc
		return nil
	}
	for _, a := range acl {
		o.println(formatACL(a))
	}
	o.statIfAsked(p, st)
	return nil
}

func cmdSetACL(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	acl := o.parseACL(p.args[2])
	version, err := versionFlag(p)
	if err != nil {
		return err
	}
	c := conn(s)
	if p.has('R') {
		paths, err := s.visitDFS(ctx, path, false)
		if err != nil && len(paths) == 0 {
			return err
		}
		var failed error
		for _, q := range paths {
			if _, err := c.SetACL(ctx, q, acl, version); err != nil {
				o.eprintln(err.Error())
				failed = printedError{err.Error()}
			}
		}
		if err != nil {
			return err
		}
		if failed != nil {
			return failed
		}
		s.ack(o, map[string]any{"path": path, "paths": paths})
		return nil
	}
	st, err := c.SetACL(ctx, path, acl, version)
	if err != nil {
		return err
	}
	s.replyStat(o, p, path, st)
	return nil
}

func cmdAddAuth(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	var auth []byte
	if len(p.args) > 2 {
		auth = []byte(p.args[2])
	}
	if err := conn(s).AddAuth(ctx, p.args[1], auth); err != nil {
		return err
	}
	s.ack(o, map[string]any{"scheme": p.args[1], "ok": true})
	return nil
}

func cmdSync(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	if err := conn(s).Sync(ctx, path); err != nil {
		return err
	}
	s.reply(o, map[string]any{"path": path, "synced": true}, "Sync is OK")
	return nil
}

func cmdWhoAmI(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	ids, err := conn(s).WhoAmI(ctx)
	if err != nil {
		return err
	}
	if s.cfg.JSON {
		list := make([]map[string]string, 0, len(ids))
		for _, id := range ids {
			list = append(list, map[string]string{"scheme": id.Scheme, "id": id.ID})
		}
		o.doc = map[string]any{"ids": list}
		return nil
	}
	o.println("Auth scheme: User")
	for _, id := range ids {
		o.println(id.Scheme + ": " + id.ID)
	}
	return nil
}

func cmdGetEphemerals(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	prefix := "/"
	if len(p.args) > 1 {
		prefix = p.args[1]
		if err := ValidatePath(prefix, false); err != nil {
			return err
		}
	}
	paths, err := conn(s).GetEphemerals(ctx, prefix)
	if err != nil {
		return err
	}
	sort.Strings(paths)
	s.reply(o, map[string]any{"path": prefix, "ephemerals": nonNil(paths)}, javaList(paths))
	return nil
}

func cmdGetAllChildrenNumber(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	n, err := conn(s).GetAllChildrenNumber(ctx, path)
	if err != nil {
		return err
	}
	s.reply(o, map[string]any{"path": path, "count": n}, n)
	return nil
}

func cmdAddWatch(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	if len(p.args) != 2 {
		return usageOf("addWatch")
	}
	mode, modeName := client.WatchPersistentRecursive, "PERSISTENT_RECURSIVE"
	if v, ok := p.value('m'); ok {
		switch strings.ToUpper(v) {
		case "PERSISTENT":
			mode, modeName = client.WatchPersistent, "PERSISTENT"
		case "PERSISTENT_RECURSIVE":
		default:
			return usageOf("addWatch")
		}
	}
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	ch, remove, err := conn(s).AddWatch(ctx, path, mode)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.persistent[path] = append(s.persistent[path], remove)
	s.mu.Unlock()
	s.watch(ch)
	s.ack(o, map[string]any{"path": path, "mode": modeName})
	return nil
}

func cmdRemoveWatches(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	path, err := pathArg(p, 1, false)
	if err != nil {
		return err
	}
	typ, typName := client.WatcherAny, "any"
	switch {
	case p.has('c'):
		typ, typName = client.WatcherChildren, "children"
	case p.has('d'):
		typ, typName = client.WatcherData, "data"
	}
	if err := conn(s).RemoveWatches(ctx, path, typ); err != nil {
		return err
	}
	if typ == client.WatcherAny {
		s.mu.Lock()
		delete(s.persistent, path)
		s.mu.Unlock()
	}
	s.ack(o, map[string]any{"path": path, "removed": typName})
	return nil
}

func cmdClose(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	s.closeConn()
	s.ack(o, map[string]any{"closed": true})
	return nil
}

func cmdConnect(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	s.mu.Lock()
	host := s.host
	s.mu.Unlock()
	if len(p.args) > 1 {
		host = p.args[1]
	}
	if err := s.Connect(host); err != nil {
		return err
	}
	if s.cfg.JSON {
		c := s.Conn()
		o.doc = map[string]any{"server": host, "sessionId": fmt.Sprintf("0x%x", c.SessionID())}
	}
	return nil
}

func cmdQuit(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	s.closeConn()
	return ErrQuit
}

func cmdHelp(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	if s.cfg.JSON {
		list := make([]string, 0, len(commands))
		for _, n := range CommandNames() {
			list = append(list, commandIndex[n].usage())
		}
		o.doc = map[string]any{"commands": list}
		return nil
	}
	s.writeUsage(&o.out)
	return nil
}

// cmdHistory prints the last ten commands and this one, numbered, as zkCli does.
func cmdHistory(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	var list []map[string]any
	for i := s.count - 10; i <= s.count; i++ {
		if i < 0 {
			continue
		}
		if s.cfg.JSON {
			list = append(list, map[string]any{"index": i, "command": s.history[i]})
			continue
		}
		o.printf("%d - %s\n", i, s.history[i])
	}
	s.ack(o, map[string]any{"history": list})
	return nil
}

func cmdRedo(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	if len(p.args) < 2 {
		return usageOf("redo")
	}
	i, err := strconv.ParseInt(p.args[1], 0, 32)
	if err != nil || int(i) >= s.count || i < 0 {
		return usageError{"Command index out of range"}
	}
	line := s.history[int(i)]
	words := Tokenize(line)
	if len(words) > 0 && words[0] == "redo" {
		return usageError{"No redoing redos"}
	}
	s.history[s.count] = line
	return s.dispatch(o, words)
}

func cmdPrintWatches(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	if len(p.args) == 1 {
		on := s.printWatches.Load()
		state := "off"
		if on {
			state = "on"
		}
		s.reply(o, map[string]any{"printwatches": on}, "printwatches is "+state)
		return nil
	}
	s.printWatches.Store(p.args[1] == "on")
	s.ack(o, map[string]any{"printwatches": p.args[1] == "on"})
	return nil
}

func cmdVersion(s *Shell, ctx context.Context, o *output, p *parsedArgs) error {
	v := s.cfg.Version
	if v == "" {
		v = "unknown"
	}
	s.reply(o, map[string]any{"version": v}, "corral cli version: "+v)
	return nil
}

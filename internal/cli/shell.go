// Package cli is `corral cli`: a ZooKeeper shell with zkCli's commands, flags and
// output, over corral's Go client. A Shell runs command lines (Exec); the one-shot,
// piped and interactive front ends (cmd/corral) feed it lines.
//
// Output goes to Config.Out, errors to Config.Err, shaped like zkCli 3.8's ("Node
// does not exist: /x", "cZxid = 0x..." stats, "WATCHER::" events) — except that
// "Created /x" goes to Out, where scripts look for results. With Config.JSON every
// command writes exactly one JSON document (one line) to Out instead, errors included
// ({"error": "...", "code": -101, "path": "/x"}); watch events are documents too.
package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/corral-io/corral/client"
)

// DefaultServer is the connect string used when none is given, as zkCli's default.
const DefaultServer = "127.0.0.1:2181"

// Config configures a Shell.
type Config struct {
	// Server is the connect string, "host:port[,host:port...][/chroot]".
	Server string
	// Timeout bounds connecting and each command (default 10s).
	Timeout time.Duration
	// SessionTimeout is asked of the server (default 30s, as zkCli).
	SessionTimeout time.Duration
	// JSON makes every command print one JSON document.
	JSON bool
	// Out and Err receive results and errors (default os.Stdout, os.Stderr).
	Out, Err io.Writer
	// SessionEvents prints changes of the session's state as zkCli does
	// ("WatchedEvent state:Disconnected type:None path:null"); for the interactive shell.
	SessionEvents bool
	// Version is printed by the version command.
	Version string
	// Dialer, if set, replaces the client's dialer (tests).
	Options []client.Option
}

// ErrQuit is returned by Exec for the quit command.
var ErrQuit = errors.New("quit")

// Shell runs zkCli commands over one session at a time.
type Shell struct {
	cfg Config

	outMu     sync.Mutex // serialises writes to out and errw (command output, watch events)
	out       io.Writer
	errw      io.Writer
	watches   map[int]<-chan client.Event // open watch channels, by id
	nextWatch int
	lastEvent lastEvent

	mu         sync.Mutex // guards conn, host, cancel, persistent
	conn       *client.Conn
	host       string
	cancel     context.CancelFunc // of the running command
	persistent map[string][]client.RemoveFunc

	count        int
	history      map[int]string
	printWatches atomic.Bool
}

// New returns a Shell that is not connected yet; call Connect.
func New(cfg Config) *Shell {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.SessionTimeout <= 0 {
		cfg.SessionTimeout = 30 * time.Second
	}
	if cfg.Server == "" {
		cfg.Server = DefaultServer
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.Err == nil {
		cfg.Err = os.Stderr
	}
	s := &Shell{cfg: cfg, out: cfg.Out, errw: cfg.Err, host: cfg.Server,
		history: map[int]string{}, watches: map[int]<-chan client.Event{}, persistent: map[string][]client.RemoveFunc{}}
	s.printWatches.Store(true)
	return s
}

// SetOutput redirects the shell's output (the interactive shell writes through the
// line editor, which redraws the prompt around asynchronous output).
func (s *Shell) SetOutput(out, errw io.Writer) {
	s.outMu.Lock()
	s.out, s.errw = out, errw
	s.outMu.Unlock()
}

// Connect opens a session with the connect string (Config.Server if empty), closing
// the current one first, and waits for it up to Config.Timeout.
func (s *Shell) Connect(server string) error {
	if server == "" {
		server = s.cfg.Server
	}
	s.closeConn()
	s.mu.Lock()
	s.host = server
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	defer cancel()
	opts := append([]client.Option{client.WithSessionTimeout(s.cfg.SessionTimeout)}, s.cfg.Options...)
	if s.cfg.SessionEvents {
		opts = append(opts, client.WithSessionEvents(func(ev client.SessionEvent) {
			if ev.State == client.StateConnecting {
				return
			}
			s.printEvent(keeperState(ev.State), "None", "")
		}))
	}
	conn, err := client.Connect(ctx, server, opts...)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("could not connect to %s within %v", server, s.cfg.Timeout)
		}
		return fmt.Errorf("could not connect to %s: %v", server, err)
	}
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	return nil
}

func (s *Shell) closeConn() {
	s.mu.Lock()
	conn := s.conn
	s.conn = nil
	s.persistent = map[string][]client.RemoveFunc{}
	s.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
}

// Close ends the session.
func (s *Shell) Close() { s.closeConn() }

// Conn returns the current session, or nil.
func (s *Shell) Conn() *client.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn
}

// Prompt is zkCli's prompt with corral's name: "[corral: host:port(CONNECTED) 3] ".
func (s *Shell) Prompt() string {
	s.mu.Lock()
	host, conn := s.host, s.conn
	s.mu.Unlock()
	state := "CLOSED"
	if conn != nil {
		state = promptState(conn.State())
	}
	return fmt.Sprintf("[corral: %s(%s) %d] ", host, state, s.count)
}

// Interrupt cancels the running command, if any (Ctrl-C in the interactive shell).
func (s *Shell) Interrupt() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		s.cancel()
		return true
	}
	return false
}

// Exec runs one command line, prints its output, and returns nil if it succeeded,
// ErrQuit for quit, or the error it printed. Blank lines do nothing.
func (s *Shell) Exec(line string) error {
	if strings.TrimSpace(line) == "" {
		return nil
	}
	s.history[s.count] = line
	err := s.run(Tokenize(line))
	s.count++
	return err
}

// output collects one command's output, written at once when the command ends so that
// it does not interleave with watch events.
type output struct {
	out, err bytes.Buffer
	doc      any // the JSON document, in JSON mode
}

func (o *output) println(a ...any)                { fmt.Fprintln(&o.out, a...) }
func (o *output) printf(f string, a ...any)       { fmt.Fprintf(&o.out, f, a...) }
func (o *output) eprintln(a ...any)               { fmt.Fprintln(&o.err, a...) }
func (o *output) eprintf(format string, a ...any) { fmt.Fprintf(&o.err, format, a...) }

func (s *Shell) flush(o *output, cmdErr error) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	s.drainLocked()
	if s.cfg.JSON {
		doc := o.doc
		if cmdErr != nil && !errors.Is(cmdErr, ErrQuit) {
			doc = errorDoc(cmdErr)
		}
		if doc != nil {
			b, err := json.Marshal(doc)
			if err != nil {
				b, _ = json.Marshal(map[string]any{"error": err.Error()})
			}
			s.out.Write(append(b, '\n'))
		}
		if o.err.Len() > 0 { // warnings (bad ACL entries...)
			s.errw.Write(o.err.Bytes())
		}
		return
	}
	if o.out.Len() > 0 {
		s.out.Write(o.out.Bytes())
	}
	if cmdErr != nil && !errors.Is(cmdErr, ErrQuit) {
		if msg := errorMessage(cmdErr); msg != "" {
			o.eprintln(msg)
		}
	}
	if o.err.Len() > 0 {
		s.errw.Write(o.err.Bytes())
	}
}

func errorDoc(err error) map[string]any {
	m := map[string]any{"error": errorMessage(err)}
	var ce *client.Error
	if errors.As(err, &ce) {
		m["code"] = int32(ce.Code)
		if ce.Path != "" {
			m["path"] = ce.Path
		}
	}
	var ne notFoundError
	if errors.As(err, &ne) {
		m["error"] = "Command not found: " + string(ne)
	}
	return m
}

// notFoundError is an unknown command.
type notFoundError string

func (e notFoundError) Error() string { return "Command not found: " + string(e) }

// printedError is a failure whose message the command has already printed.
type printedError struct{ msg string }

func (e printedError) Error() string { return e.msg }

// errNotConnected is zkCli's answer to a command that needs a session when there is
// none.
var errNotConnected = errors.New("Not connected")

func errorMessage(err error) string {
	var pe printedError
	if errors.As(err, &pe) {
		return ""
	}
	var te *client.TxnError
	if errors.As(err, &te) {
		err = te.Err
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "Timed out: " + err.Error()
	case errors.Is(err, context.Canceled):
		return "Interrupted"
	}
	return err.Error()
}

// printEvent prints a session event as zkCli does, at once.
func (s *Shell) printEvent(state, typ, path string) {
	s.outMu.Lock()
	defer s.outMu.Unlock()
	s.emitEventLocked(-1, state, typ, path)
}

// emitEventLocked prints an event; outMu is held. src identifies the watch it came
// from (-1: the session). zkCli registers every watch with one Watcher, and the Java
// client hands an event to each Watcher once: a change that fires a `get -w` and an
// `addWatch` on the same path prints one event. Here each watch has its own channel,
// so an event (type and path) that another watch printed a moment ago is the same
// change and is not printed again.
func (s *Shell) emitEventLocked(src int, state, typ, path string) {
	if !s.printWatches.Load() {
		return
	}
	now := time.Now()
	if src >= 0 {
		l := s.lastEvent
		if l.typ == typ && l.path == path && l.src != src && l.src >= 0 && now.Sub(l.at) < 200*time.Millisecond {
			return
		}
		s.lastEvent = lastEvent{typ: typ, path: path, src: src, at: now}
	}
	if s.cfg.JSON {
		ev := map[string]any{"state": state, "type": typ, "path": path}
		if path == "" {
			ev["path"] = nil
		}
		b, _ := json.Marshal(map[string]any{"event": ev})
		s.out.Write(append(b, '\n'))
		return
	}
	fmt.Fprintf(s.out, "\nWATCHER::\n\n%s\n", formatEvent(state, typ, path))
}

type lastEvent struct {
	typ, path string
	src       int
	at        time.Time
}

// watch prints the events of a watch channel until it closes. EventNone (the watch
// ended with the session) is left to the session events. Events already delivered
// are printed before the output of the command that follows (drainLocked), as zkCli
// shows an event before the reply of the write that caused it.
func (s *Shell) watch(ch <-chan client.Event) {
	if ch == nil {
		return
	}
	s.outMu.Lock()
	s.nextWatch++
	id := s.nextWatch
	s.watches[id] = ch
	s.outMu.Unlock()
	go func() {
		for {
			ev, ok := <-ch
			s.outMu.Lock()
			if !ok {
				delete(s.watches, id)
				s.outMu.Unlock()
				return
			}
			s.emitWatchLocked(id, ev)
			s.outMu.Unlock()
		}
	}()
}

func (s *Shell) emitWatchLocked(id int, ev client.Event) {
	if ev.Type == client.EventNone {
		return
	}
	s.emitEventLocked(id, "SyncConnected", ev.Type.String(), ev.Path)
}

// drainLocked prints the events waiting in the watch channels; outMu is held.
func (s *Shell) drainLocked() {
	for id, ch := range s.watches {
	loop:
		for {
			select {
			case ev, ok := <-ch:
				if !ok {
					delete(s.watches, id)
					break loop
				}
				s.emitWatchLocked(id, ev)
			default:
				break loop
			}
		}
	}
}

func (s *Shell) run(words []string) error {
	o := &output{}
	err := s.dispatch(o, words)
	s.flush(o, err)
	return err
}

func (s *Shell) dispatch(o *output, words []string) error {
	if len(words) == 0 {
		return nil
	}
	name := words[0]
	cmd, ok := commandIndex[name]
	if !ok {
		if !s.cfg.JSON {
			s.writeUsage(&o.err)
		}
		return notFoundError(name)
	}
	parse := func(w []string) (*parsedArgs, error) { return parseFlags(w, cmd.flags) }
	if cmd.parse != nil {
		parse = cmd.parse
	}
	p, err := parse(words)
	if err != nil {
		return err
	}
	if cmd.local {
		return cmd.run(s, context.Background(), o, p)
	}
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil || conn.State() == client.StateClosed || conn.State() == client.StateExpired {
		if !s.cfg.JSON {
			o.println("Not connected")
			return printedError{errNotConnected.Error()}
		}
		return errNotConnected
	}
	if len(p.args)-1 < cmd.minArgs {
		return usageError{cmd.usage()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.Timeout)
	s.mu.Lock()
	s.cancel = cancel
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.cancel = nil
		s.mu.Unlock()
		cancel()
	}()
	return cmd.run(s, ctx, o, p)
}

// Usage is zkCli's usage: a header line, then "\tname options" for every command.
func (s *Shell) writeUsage(w io.Writer) {
	fmt.Fprintln(w, "corral cli --server host:port[,host:port...][/chroot] [-c] cmd args")
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.name)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "\t%s %s\n", n, commandIndex[n].opts)
	}
}

// CommandNames returns the names of the commands, sorted.
func CommandNames() []string {
	names := make([]string, 0, len(commands))
	for _, c := range commands {
		names = append(names, c.name)
	}
	sort.Strings(names)
	return names
}

// ExecWords runs a command given as words already split (the command line of
// `corral cli get /x`), like Exec.
func (s *Shell) ExecWords(words []string) error {
	if len(words) == 0 {
		return nil
	}
	s.history[s.count] = strings.Join(words, " ")
	err := s.run(words)
	s.count++
	return err
}

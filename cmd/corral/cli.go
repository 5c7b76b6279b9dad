package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/chzyer/readline"
	"github.com/corral-io/corral/internal/cli"
	"github.com/corral-io/corral/internal/server"
	"github.com/spf13/cobra"
)

func cliCmd() *cobra.Command {
	var (
		server_, historyFile string
		commands             []string
		jsonOut              bool
		timeout, sessionTO   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "cli [flags] [command args...]",
		Short: "A ZooKeeper shell: zkCli's commands, history and completion, one-shot and --json",
		Long: `A shell for corral or any ZooKeeper server, with zkCli's commands, flags and output
(ls [-s] [-w] [-R], get [-s] [-w], set, create [-s] [-e] [-c] [-t ttl], delete, deleteall,
stat, getAcl, setAcl, addauth, sync, addWatch, removewatches, whoami, getEphemerals,
getAllChildrenNumber, history, redo, connect, close, quit; "help" lists them).

With -c (repeatable, or several commands separated by ';') or a command after the flags,
it runs those commands and exits: non-zero at the first that fails (127 for an unknown
command). Without, it reads commands from standard input: an interactive shell with
history (~/.corral_history) and TAB completion of commands and znode paths when standard
input is a terminal, otherwise one command per line, going on after errors and exiting
non-zero if any failed.

Arguments are split at white space; quote data that contains spaces or ';' with "..."
or '...'. --json prints one JSON document per command (errors included, as
{"error":...,"code":...,"path":...}) instead of zkCli's text.`,
		Example: `  corral cli -c "ls /"
  corral cli --server 10.0.0.1:2181,10.0.0.2:2181/app -c "create /x hello; get -s /x"
  corral cli --json get /x
  echo "ls -R /" | corral cli --server 127.0.0.1:2181
  corral cli      # interactive`,
		RunE: func(c *cobra.Command, args []string) error {
			cfg := cli.Config{
				Server:         server_,
				Timeout:        timeout,
				SessionTimeout: sessionTO,
				JSON:           jsonOut,
				Out:            c.OutOrStdout(),
				Err:            c.ErrOrStderr(),
				Version:        server.Version,
			}
			var lines []string
			for _, s := range commands {
				lines = append(lines, cli.SplitCommands(s)...)
			}
			switch {
			case len(args) > 0 || len(commands) > 0:
				os.Exit(runOneShot(cfg, lines, args))
			case readline.IsTerminal(int(os.Stdin.Fd())):
				cfg.SessionEvents = true
				if historyFile == "" {
					if home, err := os.UserHomeDir(); err == nil {
						historyFile = filepath.Join(home, ".corral_history")
					}
				}
				os.Exit(runInteractive(cfg, historyFile))
			default:
				os.Exit(runPiped(cfg, os.Stdin))
			}
			return nil
		},
	}
	f := cmd.Flags()
	// Commands after the flags keep their own options: `corral cli get -s /x`.
	f.SetInterspersed(false)
	f.StringVar(&server_, "server", cli.DefaultServer, "servers to connect to, host:port[,host:port...][/chroot]")
	f.StringArrayVarP(&commands, "command", "c", nil, "command to run (repeatable; several may be separated by ';'), then exit")
	f.BoolVar(&jsonOut, "json", false, "print one JSON document per command instead of zkCli's text")
	f.DurationVar(&timeout, "timeout", 10*time.Second, "bound on connecting and on each command")
	f.DurationVar(&sessionTO, "session-timeout", 30*time.Second, "session timeout to ask the server for")
	f.StringVar(&historyFile, "history-file", "", "interactive history file (default ~/.corral_history)")
	return cmd
}

// connectOrReport connects and, on failure, reports it (as a JSON document with --json).
func connectOrReport(sh *cli.Shell, cfg cli.Config) bool {
	err := sh.Connect("")
	if err == nil {
		return true
	}
	if cfg.JSON {
		b, _ := json.Marshal(map[string]string{"error": err.Error()})
		fmt.Fprintln(cfg.Out, string(b))
	}
	fmt.Fprintln(cfg.Err, "corral cli:", err)
	return false
}

// exitCode is zkCli's: 127 for an unknown command, 1 for any other failure.
func exitCode(err error) int {
	if strings.HasPrefix(err.Error(), "Command not found: ") {
		return 127
	}
	return 1
}

func runOneShot(cfg cli.Config, lines, args []string) int {
	sh := cli.New(cfg)
	if !connectOrReport(sh, cfg) {
		return 1
	}
	defer sh.Close()
	if len(args) > 0 {
		if err := sh.ExecWords(args); err != nil && !errors.Is(err, cli.ErrQuit) {
			return exitCode(err)
		}
	}
	for _, l := range lines {
		err := sh.Exec(l)
		if errors.Is(err, cli.ErrQuit) {
			break
		}
		if err != nil {
			return exitCode(err)
		}
	}
	return 0
}

func runPiped(cfg cli.Config, in io.Reader) int {
	sh := cli.New(cfg)
	if !connectOrReport(sh, cfg) {
		return 1
	}
	defer sh.Close()
	code := 0
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		err := sh.Exec(sc.Text())
		if errors.Is(err, cli.ErrQuit) {
			break
		}
		if err != nil {
			code = exitCode(err)
		}
	}
	return code
}

func runInteractive(cfg cli.Config, historyFile string) int {
	sh := cli.New(cfg)
	fmt.Fprintln(cfg.Out, "Connecting to "+cfg.Server)
	rl, err := readline.NewEx(&readline.Config{
		Prompt:            sh.Prompt(),
		HistoryFile:       historyFile,
		AutoComplete:      cli.Completer{Shell: sh},
		InterruptPrompt:   "^C",
		EOFPrompt:         "quit",
		HistorySearchFold: true,
	})
	if err != nil {
		fmt.Fprintln(cfg.Err, "corral cli:", err)
		return 1
	}
	defer rl.Close()
	sh.SetOutput(rl.Stdout(), rl.Stderr())
	if err := sh.Connect(""); err != nil {
		fmt.Fprintln(rl.Stderr(), err)
		fmt.Fprintln(rl.Stderr(), `Not connected: use "connect host:port" to try again.`)
	}
	defer sh.Close()
	fmt.Fprintln(rl.Stdout(), `Welcome to corral! Type "help" for the commands; TAB completes commands and paths.`)

	// Ctrl-C while a command runs cancels it (at the prompt the line editor reads it as
	// a key and clears the line).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	go func() {
		for range sigs {
			sh.Interrupt()
		}
	}()

	for {
		rl.SetPrompt(sh.Prompt())
		line, err := rl.Readline()
		if errors.Is(err, readline.ErrInterrupt) {
			continue
		}
		if err != nil { // io.EOF: Ctrl-D
			return 0
		}
		if errors.Is(sh.Exec(line), cli.ErrQuit) {
			return 0
		}
	}
}

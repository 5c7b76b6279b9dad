package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func newTestShell(jsonOut bool) (*Shell, *bytes.Buffer, *bytes.Buffer) {
	var out, errb bytes.Buffer
	return New(Config{Out: &out, Err: &errb, JSON: jsonOut, Version: "test"}), &out, &errb
}

// Commands that need a session say so without one; local ones work.
func TestShellWithoutSession(t *testing.T) {
	s, out, errb := newTestShell(false)
	if err := s.Exec("ls /"); err == nil {
		t.Fatal("ls without a session succeeded")
	}
	if out.String() != "Not connected\n" || errb.Len() != 0 {
		t.Fatalf("out %q err %q", out, errb)
	}
	out.Reset()
	if err := s.Exec("version"); err != nil || out.String() != "corral cli version: test\n" {
		t.Fatalf("version: %v %q", err, out)
	}
	out.Reset()
	err := s.Exec("frobnicate /x")
	if err == nil || err.Error() != "Command not found: frobnicate" {
		t.Fatalf("unknown command: %v", err)
	}
	if !strings.HasSuffix(errb.String(), "\twhoami \nCommand not found: frobnicate\n") || !strings.Contains(errb.String(), "\tls [-s] [-w] [-R] path\n") {
		t.Fatalf("unknown command output: %q", errb)
	}
	errb.Reset()
	s.Exec("") // blank lines are not commands
	s.Exec("help")
	if !strings.Contains(out.String(), "\tcreate [-s] [-e] [-c] [-t ttl] path [data] [acl]\n") {
		t.Fatalf("help: %q", out)
	}
	out.Reset()
	s.Exec("history")
	if out.String() != "0 - ls /\n1 - version\n2 - frobnicate /x\n3 - help\n4 - history\n" {
		t.Fatalf("history: %q", out)
	}
	if got := s.Prompt(); got != "[corral: 127.0.0.1:2181(CLOSED) 5] " {
		t.Fatalf("prompt %q", got)
	}
	out.Reset()
	if err := s.Exec("redo 1"); err != nil || out.String() != "corral cli version: test\n" {
		t.Fatalf("redo: %v %q", err, out)
	}
	errb.Reset()
	if err := s.Exec("redo 99"); err == nil || errb.String() != "Command index out of range\n" {
		t.Fatalf("redo 99: %v %q", err, errb)
	}
	if err := s.Exec("quit"); !errors.Is(err, ErrQuit) {
		t.Fatalf("quit: %v", err)
	}
}

func TestShellJSONErrors(t *testing.T) {
	s, out, _ := newTestShell(true)
	s.Exec("get /x")
	s.Exec("nope")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one document per command: %q", out)
	}
	var d1, d2 map[string]any
	if json.Unmarshal([]byte(lines[0]), &d1) != nil || d1["error"] != "Not connected" {
		t.Fatalf("doc 1: %s", lines[0])
	}
	if json.Unmarshal([]byte(lines[1]), &d2) != nil || d2["error"] != "Command not found: nope" {
		t.Fatalf("doc 2: %s", lines[1])
	}
}

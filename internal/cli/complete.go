package cli

import (
	"context"
	"sort"
	"strings"
	"time"
)

// Complete returns the completions of the word that ends at pos in line, as zkCli's
// JLineZNodeCompleter: a word that starts with '/' completes to the children of its
// parent that start with its last component (asking the server through children), the
// first word completes to command names. It returns the candidates' suffixes (the text
// to insert after what is typed) and the length of the word being completed — the
// shape of readline's AutoCompleter.
func Complete(line []rune, pos int, children func(parent string) ([]string, error)) ([][]rune, int) {
	if pos > len(line) {
		pos = len(line)
	}
	start := pos
	for start > 0 && !isSpace(line[start-1]) {
		start--
	}
	word := string(line[start:pos])
	first := strings.TrimSpace(string(line[:start])) == ""
	var cands []string
	switch {
	case strings.HasPrefix(word, "/"):
		idx := strings.LastIndex(word, "/") + 1
		dir, prefix := "/", word[idx:]
		if idx > 1 {
			dir = word[:idx-1]
		}
		if children == nil {
			return nil, 0
		}
		names, err := children(dir)
		if err != nil {
			return nil, 0
		}
		sort.Strings(names)
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				cands = append(cands, n[len(prefix):])
			}
		}
	case first:
		for _, n := range CommandNames() {
			if strings.HasPrefix(n, word) {
				cands = append(cands, n[len(word):]+" ")
			}
		}
	default:
		return nil, 0
	}
	out := make([][]rune, len(cands))
	for i, c := range cands {
		out[i] = []rune(c)
	}
	return out, len([]rune(word))
}

// Completer adapts Complete to the shell's session, for the line editor.
type Completer struct{ Shell *Shell }

// Do implements readline.AutoCompleter.
func (c Completer) Do(line []rune, pos int) ([][]rune, int) {
	return Complete(line, pos, func(parent string) ([]string, error) {
		conn := c.Shell.Conn()
		if conn == nil {
			return nil, errNotConnected
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		names, _, err := conn.Children(ctx, parent)
		return names, err
	})
}

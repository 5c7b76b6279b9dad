package cli

import (
	"fmt"
	"strings"
)

// SplitCommands splits a `-c` argument into commands at the semicolons that are not
// inside quotes: `create /a "x;y"; ls /` is two commands. Empty commands are dropped.
func SplitCommands(s string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	flush := func() {
		if c := strings.TrimSpace(cur.String()); c != "" {
			out = append(out, c)
		}
		cur.Reset()
	}
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == ';':
			flush()
			continue
		}
		cur.WriteRune(r)
	}
	flush()
	return out
}

// Tokenize splits a command line into words the way zkCli does: words are separated by
// white space, and a word that starts with a double or a single quote runs to the
// matching quote, which is removed ("hello world" is one word). There are no escape
// sequences. A quote without its match is an ordinary character.
func Tokenize(line string) []string {
	var words []string
	rs := []rune(line)
	i := 0
	for i < len(rs) {
		for i < len(rs) && isSpace(rs[i]) {
			i++
		}
		if i >= len(rs) {
			break
		}
		if q := rs[i]; q == '"' || q == '\'' {
			if j := indexRune(rs[i+1:], q); j >= 0 {
				words = append(words, string(rs[i+1:i+1+j]))
				i += j + 2
				continue
			}
		}
		j := i
		for j < len(rs) && !isSpace(rs[j]) {
			j++
		}
		words = append(words, string(rs[i:j]))
		i = j
	}
	return words
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\f' || r == '\v'
}

func indexRune(rs []rune, r rune) int {
	for i, c := range rs {
		if c == r {
			return i
		}
	}
	return -1
}

// flagSpec says which single-letter options a command takes: a letter followed by ':'
// takes a value ("sv:" is -s, and -v with a value).
type flagSpec string

func (f flagSpec) lookup(c byte) (known, takesValue bool) {
	for i := 0; i < len(f); i++ {
		if f[i] == c {
			return true, i+1 < len(f) && f[i+1] == ':'
		}
	}
	return false, false
}

// parsedArgs is a command line split into options and positional arguments. args[0]
// is the command's name, as in zkCli.
type parsedArgs struct {
	args  []string
	flags map[byte]string // present options; value "" for those without a value
}

func (p *parsedArgs) has(c byte) bool { _, ok := p.flags[c]; return ok }

func (p *parsedArgs) value(c byte) (string, bool) { v, ok := p.flags[c]; return v, ok }

// parseFlags parses words (words[0] is the command) like commons-cli's DefaultParser
// as zkCli uses it: options may come before, between or after the arguments; "-sw" is
// "-s -w"; "-v 3" and "-v3" give -v the value 3; a negative number ("-1") is an
// argument; "--" ends the options.
func parseFlags(words []string, spec flagSpec) (*parsedArgs, error) {
	p := &parsedArgs{flags: map[byte]string{}}
	if len(words) == 0 {
		return p, nil
	}
	p.args = append(p.args, words[0])
	rest := words[1:]
	for i := 0; i < len(rest); i++ {
		w := rest[i]
		if w == "--" {
			p.args = append(p.args, rest[i+1:]...)
			break
		}
		if len(w) < 2 || w[0] != '-' || isNegativeNumber(w) {
			p.args = append(p.args, w)
			continue
		}
		for j := 1; j < len(w); j++ {
			c := w[j]
			known, takesValue := spec.lookup(c)
			if !known {
				if j == 1 {
					return nil, usageError{fmt.Sprintf("Unrecognized option: %s", w)}
				}
				return nil, usageError{fmt.Sprintf("Unrecognized option: -%c", c)}
			}
			if !takesValue {
				p.flags[c] = ""
				continue
			}
			if j+1 < len(w) {
				p.flags[c] = w[j+1:]
			} else if i+1 < len(rest) {
				i++
				p.flags[c] = rest[i]
			} else {
				return nil, usageError{fmt.Sprintf("Missing argument for option: %c", c)}
			}
			break
		}
	}
	return p, nil
}

func isNegativeNumber(w string) bool {
	if len(w) < 2 || w[0] != '-' {
		return false
	}
	for _, c := range w[1:] {
		if (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// usageError is a mistake in how a command was written (not a failure of the server).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// ValidatePath checks a znode path as ZooKeeper's PathUtils.validatePath does and
// returns its message for a bad one ("Path must start with / character").
// sequential says the server will append a suffix, so a trailing '/' is allowed.
func ValidatePath(path string, sequential bool) error {
	if sequential {
		path += "1"
	}
	if path == "" {
		return usageError{"Path length must be > 0"}
	}
	if path[0] != '/' {
		return usageError{"Path must start with / character"}
	}
	if len(path) == 1 {
		return nil
	}
	if path[len(path)-1] == '/' {
		return usageError{"Path must not end with / character"}
	}
	chars := []rune(path)
	reason := ""
	lastc := '/'
	for i := 1; i < len(chars); lastc, i = chars[i], i+1 {
		c := chars[i]
		switch {
		case c == 0:
			reason = fmt.Sprintf("null character not allowed @%d", i)
		case c == '/' && lastc == '/':
			reason = fmt.Sprintf("empty node name specified @%d", i)
		case c == '.' && lastc == '.':
			if chars[i-2] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = fmt.Sprintf("relative paths not allowed @%d", i)
			}
		case c == '.':
			if chars[i-1] == '/' && (i+1 == len(chars) || chars[i+1] == '/') {
				reason = fmt.Sprintf("relative paths not allowed @%d", i)
			}
		case c > 0 && c <= 0x1f, c >= 0x7f && c <= 0x9f, c >= 0xd800 && c <= 0xf8ff, c >= 0xfff0 && c <= 0xffff:
			reason = fmt.Sprintf("invalid character @%d", i)
		}
		if reason != "" {
			if sequential {
				path = path[:len(path)-1]
			}
			return usageError{fmt.Sprintf("Invalid path string \"%s\" caused by %s", path, reason)}
		}
	}
	return nil
}

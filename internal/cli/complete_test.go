package cli

import (
	"errors"
	"reflect"
	"testing"
)

func TestComplete(t *testing.T) {
	tree := map[string][]string{
		"/":     {"zookeeper", "app", "apple"},
		"/app":  {"config", "locks"},
		"/nope": nil,
	}
	var asked []string
	children := func(p string) ([]string, error) {
		asked = append(asked, p)
		if kids, ok := tree[p]; ok && kids != nil {
			return kids, nil
		}
		return nil, errors.New("Node does not exist: " + p)
	}
	str := func(c [][]rune) []string {
		var s []string
		for _, r := range c {
			s = append(s, string(r))
		}
		return s
	}
	for _, tc := range []struct {
		line    string
		want    []string
		length  int
		askedOf string
	}{
		{"get /ap", []string{"p", "ple"}, 3, "/"},
		{"get /app/c", []string{"onfig"}, 6, "/app"},
		{"ls /app/", []string{"config", "locks"}, 5, "/app"},
		{"ls /", []string{"app", "apple", "zookeeper"}, 1, "/"},
		{"ls /nope/x", nil, 0, "/nope"},
		{"getA", []string{"cl ", "llChildrenNumber "}, 4, ""},
		{"del", []string{"ete ", "eteall "}, 3, ""},
		{"  se", []string{"t ", "tAcl "}, 2, ""},
		{"set x", nil, 0, ""},
	} {
		asked = nil
		got, n := Complete([]rune(tc.line), len([]rune(tc.line)), children)
		if !reflect.DeepEqual(str(got), tc.want) || n != tc.length {
			t.Errorf("Complete(%q) = %q, %d; want %q, %d", tc.line, str(got), n, tc.want, tc.length)
		}
		if tc.askedOf != "" && (len(asked) != 1 || asked[0] != tc.askedOf) {
			t.Errorf("Complete(%q) asked for %q, want %q", tc.line, asked, tc.askedOf)
		}
	}
	// The cursor in the middle of the line completes the word before it.
	got, n := Complete([]rune("get /ap -s"), 7, children)
	if !reflect.DeepEqual(str(got), []string{"p", "ple"}) || n != 3 {
		t.Errorf("mid-line: %q %d", str(got), n)
	}
}

package cli

import (
	"reflect"
	"testing"
)

func TestTokenize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"ls /", []string{"ls", "/"}},
		{"  ls   -s\t/a  ", []string{"ls", "-s", "/a"}},
		{`set /a "hello world"`, []string{"set", "/a", "hello world"}},
		{`set /a 'it is'`, []string{"set", "/a", "it is"}},
		{`create /e ""`, []string{"create", "/e", ""}},
		{`set /a "x;y"`, []string{"set", "/a", "x;y"}},
		{`set /a don't`, []string{"set", "/a", "don't"}},
		{`set /a "unclosed`, []string{"set", "/a", `"unclosed`}},
		{`set /a {"k":"v"}`, []string{"set", "/a", `{"k":"v"}`}},
		{"", nil},
	} {
		if got := Tokenize(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Tokenize(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitCommands(t *testing.T) {
	got := SplitCommands(`create /a "x;y"; ls / ;; get -s /a;`)
	want := []string{`create /a "x;y"`, "ls /", "get -s /a"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SplitCommands = %q, want %q", got, want)
	}
}

func TestParseFlags(t *testing.T) {
	p, err := parseFlags([]string{"ls", "-sw", "/a"}, "swR")
	if err != nil || !p.has('s') || !p.has('w') || p.has('R') || !reflect.DeepEqual(p.args, []string{"ls", "/a"}) {
		t.Fatalf("combined: %+v %v", p, err)
	}
	// Options after the arguments, as `removewatches /a -d`.
	p, _ = parseFlags([]string{"removewatches", "/a", "-d"}, "cdal")
	if !p.has('d') || !reflect.DeepEqual(p.args, []string{"removewatches", "/a"}) {
		t.Fatalf("trailing option: %+v", p)
	}
	// Values: separate and attached.
	for _, words := range [][]string{{"set", "-v", "3", "/a", "x"}, {"set", "-v3", "/a", "x"}, {"set", "-sv", "3", "/a", "x"}} {
		p, err = parseFlags(words, "sv:")
		if v, _ := p.value('v'); err != nil || v != "3" || !reflect.DeepEqual(p.args, []string{"set", "/a", "x"}) {
			t.Fatalf("%q: %+v %v", words, p, err)
		}
	}
	// Negative numbers are arguments; "--" ends the options.
	p, _ = parseFlags([]string{"set", "/a", "-1"}, "sv:")
	if !reflect.DeepEqual(p.args, []string{"set", "/a", "-1"}) {
		t.Fatalf("negative number: %+v", p)
	}
	p, _ = parseFlags([]string{"set", "--", "/a", "-s"}, "sv:")
	if p.has('s') || !reflect.DeepEqual(p.args, []string{"set", "/a", "-s"}) {
		t.Fatalf("--: %+v", p)
	}
	if _, err = parseFlags([]string{"create", "-x", "/a"}, "sect:"); err == nil || err.Error() != "Unrecognized option: -x" {
		t.Fatalf("unknown option: %v", err)
	}
	if _, err = parseFlags([]string{"delete", "/a", "-v"}, "v:"); err == nil || err.Error() != "Missing argument for option: v" {
		t.Fatalf("missing value: %v", err)
	}
}

func TestValidatePath(t *testing.T) {
	for _, tc := range []struct {
		path string
		seq  bool
		want string
	}{
		{"/", false, ""},
		{"/a/b", false, ""},
		{"/a/", true, ""},
		{"a", false, "Path must start with / character"},
		{"", false, "Path length must be > 0"},
		{"/a/", false, "Path must not end with / character"},
		{"/a//b", false, `Invalid path string "/a//b" caused by empty node name specified @3`},
		{"/a/./b", false, `Invalid path string "/a/./b" caused by relative paths not allowed @3`},
		{"/a/..", false, `Invalid path string "/a/.." caused by relative paths not allowed @4`},
		{"/a/..b", false, ""},
		{"/a\x01", false, `Invalid path string "/a` + "\x01" + `" caused by invalid character @2`},
	} {
		err := ValidatePath(tc.path, tc.seq)
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.want {
			t.Errorf("ValidatePath(%q, %v) = %q, want %q", tc.path, tc.seq, got, tc.want)
		}
	}
}

package cli

import (
	"fmt"
	"strings"
	"testing"
)

func TestEvenVotersWarning(t *testing.T) {
	line := func(id int, role string) string {
		return fmt.Sprintf("server.%d=127.0.0.1:288%d:388%d:%s;127.0.0.1:218%d", id, id, id, role, id)
	}
	for _, tc := range []struct {
		name  string
		lines []string
		warn  bool
	}{
		{"one voter", []string{line(1, "participant")}, false},
		{"two voters", []string{line(1, "participant"), line(2, "participant")}, true},
		{"three voters", []string{line(1, "participant"), line(2, "participant"), line(3, "participant")}, false},
		{"three voters, one observer", []string{line(1, "participant"), line(2, "participant"), line(3, "participant"), line(4, "observer")}, false},
		{"four voters", []string{line(1, "participant"), line(2, "participant"), line(3, "participant"), line(4, "participant")}, true},
		{"two voters, one observer", []string{line(1, "participant"), line(2, "participant"), line(3, "observer")}, true},
	} {
		cfg := []byte(strings.Join(tc.lines, "\n") + "\nversion=100000003")
		w := evenVotersWarning(cfg)
		if (w != "") != tc.warn {
			t.Errorf("%s: warning %q, want warning %v", tc.name, w, tc.warn)
		}
		doc := configDoc(cfg, nil)
		if _, ok := doc["warning"]; ok != tc.warn {
			t.Errorf("%s: JSON warning present %v, want %v", tc.name, ok, tc.warn)
		}
		var o output
		warnEvenVoters(&o, cfg)
		if (o.err.Len() > 0) != tc.warn || o.out.Len() > 0 {
			t.Errorf("%s: stdout %q stderr %q", tc.name, o.out.String(), o.err.String())
		}
	}
}

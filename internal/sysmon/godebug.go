package sysmon

import (
	"os"
	"strings"
)

// asyncPreemptOff reports whether GODEBUG sets asyncpreemptoff=1 (the last
// setting of a key wins, as in the runtime).
func asyncPreemptOff() bool {
	off := false
	for _, kv := range strings.Split(os.Getenv("GODEBUG"), ",") {
		if k, v, ok := strings.Cut(strings.TrimSpace(kv), "="); ok && k == "asyncpreemptoff" {
			off = v == "1"
		}
	}
	return off
}

package tree

import (
	"strings"
	"unicode/utf8"
)

// Reserved paths that can never be deleted (ZKDatabase.isSpecialPath).
const (
	rootPath      = "/"
	zkPath        = "/zookeeper"
	configPath    = "/zookeeper/config"
	quotaPath     = "/zookeeper/quota"
	configZNodeID = "config"
)

func isSpecialPath(p string) bool {
	return p == rootPath || p == zkPath || p == configPath || p == quotaPath
}

// splitPath returns the parent path and the last segment of p, as ZooKeeper does with
// lastIndexOf('/'): the parent of "/a" is "/" (ZooKeeper's "" key for the root). ok is
// false when p has no slash.
func splitPath(p string) (parent, name string, ok bool) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", "", false
	}
	if i == 0 {
		return rootPath, p[1:], true
	}
	return p[:i], p[i+1:], true
}

// parentOf returns the parent path of a valid non-root path.
func parentOf(p string) string {
	parent, _, _ := splitPath(p)
	return parent
}

// lookupKey maps a request path to the key of Tree.nodes: ZooKeeper's data tree knows
// the root under both "" and "/".
func lookupKey(p string) string {
	if p == "" {
		return rootPath
	}
	return p
}

// validPath reports whether p passes ZooKeeper's PathUtils.validatePath. Java checks
// UTF-16 code units; every code point outside the BMP is a surrogate pair there and is
// rejected, and bytes that are not UTF-8 decode to U+FFFD, which is rejected too.
func validPath(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	if len(p) == 1 {
		return true
	}
	if p[len(p)-1] == '/' {
		return false
	}
	segStart := 1
	for i := 1; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			switch {
			case c == 0 || c <= 0x1f || c == 0x7f:
				return false
			case c == '/':
				if i == segStart || isDots(p[segStart:i]) {
					return false
				}
				segStart = i + 1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError || r >= 0x10000 || (r >= 0x7f && r <= 0x9f) ||
			(r >= 0xd800 && r <= 0xf8ff) || r >= 0xfff0 {
			return false
		}
		i += size
	}
	return !isDots(p[segStart:])
}

func isDots(seg string) bool { return seg == "." || seg == ".." }

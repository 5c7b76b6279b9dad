package client

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
)

// parseConnectString splits "host:port,host:port[/chroot]" into its hosts (a missing
// port is 2181) and its chroot ("" for none).
func parseConnectString(s string) (hosts []string, chroot string, err error) {
	if i := strings.IndexByte(s, '/'); i >= 0 {
		s, chroot = s[:i], s[i:]
		if chroot == "/" {
			chroot = ""
		}
		if strings.HasSuffix(chroot, "/") || strings.Contains(chroot, "//") {
			return nil, "", fmt.Errorf("zk: invalid chroot %q", chroot)
		}
	}
	for _, h := range strings.Split(s, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(h); err != nil {
			h = net.JoinHostPort(strings.Trim(h, "[]"), "2181")
		}
		hosts = append(hosts, h)
	}
	if len(hosts) == 0 {
		return nil, "", fmt.Errorf("zk: no hosts in connect string %q", s)
	}
	return hosts, chroot, nil
}

// hostList hands out hosts in a shuffled order, round-robin, so that clients of one
// ensemble spread over its members and a reconnect goes to another member first.
type hostList struct {
	hosts []string
	next  int
}

func newHostList(hosts []string) *hostList {
	h := &hostList{hosts: append([]string(nil), hosts...)}
	rand.Shuffle(len(h.hosts), func(i, j int) { h.hosts[i], h.hosts[j] = h.hosts[j], h.hosts[i] })
	return h
}

// pick returns the next host.
func (h *hostList) pick() string {
	addr := h.hosts[h.next]
	h.next = (h.next + 1) % len(h.hosts)
	return addr
}

func (h *hostList) len() int { return len(h.hosts) }

// serverPath turns a caller's path into the server's (under the chroot).
func (c *Conn) serverPath(p string) (string, error) {
	if p == "" || p[0] != '/' {
		return "", fmt.Errorf("%w: %q is not absolute", ErrBadPath, p)
	}
	if c.chroot == "" {
		return p, nil
	}
	if p == "/" {
		return c.chroot, nil
	}
	return c.chroot + p, nil
}

// clientPath turns a server's path into the caller's (relative to the chroot).
func (c *Conn) clientPath(p string) string {
	if c.chroot == "" {
		return p
	}
	if p == c.chroot {
		return "/"
	}
	if strings.HasPrefix(p, c.chroot) && len(p) > len(c.chroot) && p[len(c.chroot)] == '/' {
		return p[len(c.chroot):]
	}
	return p
}

// Package freeport hands out free loopback TCP ports to tests that start servers
// in other processes, never the same port twice in one process.
package freeport

import (
	"errors"
	"fmt"
	"net"
	"sync"
)

// handedOut holds the ports Get has returned in this process: the kernel may give
// a port back as soon as its probe listener is closed, and a server whose client
// and peer addresses coincide cannot start.
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// Get returns a loopback port that is free now and that it has not returned
// before in this process.
func Get() (int, error) {
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			if handedOut.ports == nil {
				handedOut.ports = map[int]bool{}
			}
			handedOut.ports[port] = true
			return port, nil
		}
	}
	return 0, errors.New("find a free port: the kernel keeps returning ports already handed out")
}

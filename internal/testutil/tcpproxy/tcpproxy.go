// Package tcpproxy forwards TCP connections to a server and can cut them and refuse new
// ones, so that a test can make a client lose its connection without touching the
// server. It is imported only by tests.
package tcpproxy

import (
	"io"
	"net"
	"sync"
	"testing"
)

// Proxy forwards the TCP connections it accepts on a loopback port to a target address.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex // protects following fields
	conns   []net.Conn
	blocked bool
}

// New starts a proxy to target on a free loopback port. It is closed, with every
// forwarded connection, when the test ends. Failing to listen fails the test.
func New(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.Cut() })
	go p.accept()
	return p
}

// Addr returns the address clients connect to, "127.0.0.1:PORT".
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		blocked := p.blocked
		p.mu.Unlock()
		if blocked {
			c.Close()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { io.Copy(s, c); s.Close(); c.Close() }()
		go func() { io.Copy(c, s); s.Close(); c.Close() }()
	}
}

// Cut closes every forwarded connection.
func (p *Proxy) Cut() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// Block makes the proxy close new connections at once (true) or forward them (false).
func (p *Proxy) Block(b bool) {
	p.mu.Lock()
	p.blocked = b
	p.mu.Unlock()
}

// Isolate cuts the client off: new connections are refused, live ones closed.
func (p *Proxy) Isolate() {
	p.Block(true)
	p.Cut()
}

// Heal lets the client connect again (it undoes Isolate).
func (p *Proxy) Heal() { p.Block(false) }

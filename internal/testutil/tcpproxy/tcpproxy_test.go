package tcpproxy_test

import (
	"bufio"
	"net"
	"testing"
	"time"

	"github.com/corral-io/corral/internal/testutil/tcpproxy"
)

// echoServer accepts connections on loopback and echoes each line back.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := c.Write([]byte(line)); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func roundTrip(c net.Conn, msg string) (string, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg + "\n")); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	return line[:len(line)-1], nil
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestForwardIsolateHeal(t *testing.T) {
	p := tcpproxy.New(t, echoServer(t))

	c := dial(t, p.Addr())
	if got, err := roundTrip(c, "hello"); err != nil || got != "hello" {
		t.Fatalf("through proxy: %q, %v; want hello", got, err)
	}

	p.Isolate()
	if _, err := roundTrip(c, "again"); err == nil {
		t.Fatal("a connection survived Isolate")
	}
	if _, err := roundTrip(dial(t, p.Addr()), "new"); err == nil {
		t.Fatal("a new connection was forwarded while isolated")
	}

	p.Heal()
	if got, err := roundTrip(dial(t, p.Addr()), "back"); err != nil || got != "back" {
		t.Fatalf("after Heal: %q, %v; want back", got, err)
	}
}

func TestCutKeepsAccepting(t *testing.T) {
	p := tcpproxy.New(t, echoServer(t))
	c := dial(t, p.Addr())
	if _, err := roundTrip(c, "x"); err != nil {
		t.Fatal(err)
	}
	p.Cut()
	if _, err := roundTrip(c, "y"); err == nil {
		t.Fatal("a connection survived Cut")
	}
	if got, err := roundTrip(dial(t, p.Addr()), "z"); err != nil || got != "z" {
		t.Fatalf("after Cut: %q, %v; want z", got, err)
	}
}

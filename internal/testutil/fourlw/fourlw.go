// Package fourlw sends ZooKeeper four-letter words ("ruok", "mntr", "srvr", ...) to a
// server's client port and returns the answer. It is a test helper.
package fourlw

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// DefaultTimeout bounds a whole exchange (dial, write, read until close) in Send.
const DefaultTimeout = 5 * time.Second

// Send writes word (for example "ruok") to the server at addr and returns everything the
// server writes before it closes the connection. The whole exchange is bounded by
// DefaultTimeout.
func Send(addr, word string) (string, error) {
	return SendTimeout(addr, word, DefaultTimeout)
}

// SendTimeout is Send with an explicit bound on the whole exchange.
func SendTimeout(addr, word string, timeout time.Duration) (string, error) {
	if len(word) != 4 {
		return "", fmt.Errorf("fourlw: %q is not a four-letter word", word)
	}
	deadline := time.Now().Add(timeout)
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return "", fmt.Errorf("fourlw: dial %s: %w", addr, err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return "", fmt.Errorf("fourlw: %w", err)
	}
	if _, err := conn.Write([]byte(word)); err != nil {
		return "", fmt.Errorf("fourlw: write %q to %s: %w", word, addr, err)
	}
	out, err := io.ReadAll(conn)
	if err != nil && !errors.Is(err, io.EOF) {
		return string(out), fmt.Errorf("fourlw: read answer to %q from %s: %w", word, addr, err)
	}
	return string(out), nil
}

// Line sends word (with a 1 s bound) and returns what follows prefix on the first
// line of the answer that starts with it: a srvr field ("Mode: ") or a mntr key
// ("zk_server_state\t"). It returns "" if no line does or the exchange failed.
func Line(addr, word, prefix string) string {
	out, err := SendTimeout(addr, word, time.Second)
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return ""
}

// WaitOK polls addr with "ruok" until it answers "imok" or timeout passes. It returns the
// last error (or the last unexpected answer) when it gives up.
func WaitOK(addr string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		out, err := SendTimeout(addr, "ruok", time.Second)
		if err == nil && out == "imok" {
			return nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("fourlw: ruok answered %q, want %q", out, "imok")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("fourlw: %s not ready after %v: %w", addr, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

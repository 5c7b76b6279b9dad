package transport

import (
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// peerUserTimeout bounds how long data sent to a peer may stay unacknowledged
// before the kernel drops the stream. Without it, a peer cut off by the network
// (no RST, no FIN) keeps a stream "open" for many minutes, and everything sent on it
// vanishes: a rejoining member would never catch up.
const peerUserTimeout = 3 * time.Second

// tuneConn sets up a peer stream: no Nagle delay, keepalive probes on idle streams,
// and TCP_USER_TIMEOUT so a dead path is noticed in seconds.
func tuneConn(conn net.Conn) {
	tc, ok := conn.(*net.TCPConn)
	if !ok {
		return
	}
	tc.SetNoDelay(true)
	tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true, Idle: time.Second, Interval: time.Second, Count: 3})
	raw, err := tc.SyscallConn()
	if err != nil {
		return
	}
	raw.Control(func(fd uintptr) {
		unix.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(peerUserTimeout/time.Millisecond))
	})
}

package client

import (
	"context"
	"log/slog"
	"net"
	"time"
)

// DefaultSessionTimeout is the session timeout asked for when WithSessionTimeout is not
// given. The server clamps it to its [minSessionTimeout, maxSessionTimeout].
const DefaultSessionTimeout = 10 * time.Second

// Option configures Connect.
type Option func(*config)

type config struct {
	sessionTimeout time.Duration
	auths          []authInfo
	logger         *slog.Logger
	readOnly       bool
	onSession      []func(SessionEvent)
	sessionID      int64
	passwd         []byte
	dialer         func(ctx context.Context, network, addr string) (net.Conn, error)
	maxBuffer      int
}

type authInfo struct {
	scheme string
	auth   []byte
}

func defaultConfig() config {
	d := &net.Dialer{}
	return config{
		sessionTimeout: DefaultSessionTimeout,
		logger:         slog.New(slog.DiscardHandler),
		dialer:         d.DialContext,
		maxBuffer:      0xfffff + 1024,
	}
}

// WithSessionTimeout asks for a session timeout (default DefaultSessionTimeout). The
// server's answer, within its bounds, is what counts; the client pings every third of
// it and gives up on a silent connection after two thirds of it.
func WithSessionTimeout(d time.Duration) Option {
	return func(c *config) { c.sessionTimeout = d }
}

// WithDigestAuth authenticates the session as user with password (scheme "digest"),
// on the first connection and again after every reconnect.
func WithDigestAuth(user, password string) Option {
	return WithAuth("digest", []byte(user+":"+password))
}

// WithAuth authenticates the session with any scheme the servers know, on the first
// connection and again after every reconnect.
func WithAuth(scheme string, auth []byte) Option {
	return func(c *config) { c.auths = append(c.auths, authInfo{scheme, auth}) }
}

// WithLogger sets the logger for connection events (default: discard).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithReadOnlyAllowed lets the client attach to a server that has lost its quorum and
// serves reads only (ZooKeeper's canBeReadOnly). The state is then
// StateConnectedReadOnly and writes fail with ErrNotReadOnly.
func WithReadOnlyAllowed() Option {
	return func(c *config) { c.readOnly = true }
}

// WithSessionEvents calls fn with every change of session state, in order, from one
// goroutine of the client's (so fn may block without stalling the connection, but
// later events wait for it).
func WithSessionEvents(fn func(SessionEvent)) Option {
	return func(c *config) { c.onSession = append(c.onSession, fn) }
}

// WithSessionEventChannel sends every change of session state to ch, in order. The
// client waits for ch to take each event (from a goroutine of its own, without
// stalling the connection); give ch a buffer or read it.
func WithSessionEventChannel(ch chan<- SessionEvent) Option {
	return WithSessionEvents(func(ev SessionEvent) { ch <- ev })
}

// WithSession resumes an existing session (its id and password, from Conn.SessionID
// and Conn.SessionPassword) instead of creating one, for handing a session over to
// another process. If the session is gone, Connect fails with ErrSessionExpired.
func WithSession(id int64, password []byte) Option {
	return func(c *config) { c.sessionID, c.passwd = id, append([]byte(nil), password...) }
}

// WithDialer replaces net.Dialer.DialContext for connecting to servers.
func WithDialer(dial func(ctx context.Context, network, addr string) (net.Conn, error)) Option {
	return func(c *config) {
		if dial != nil {
			c.dialer = dial
		}
	}
}

// WithMaxBufferSize bounds the size of a frame the client accepts from a server
// (default: jute.maxbuffer, 1 MiB, plus room for headers). A larger frame drops the
// connection.
func WithMaxBufferSize(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxBuffer = n
		}
	}
}

// CreateOption configures Create, Create2 and Txn.Create.
type CreateOption func(*createConfig)

type createConfig struct {
	acl []ACL
	ttl time.Duration
}

// WithACL sets the new node's ACL (default OpenACLUnsafe).
func WithACL(acl []ACL) CreateOption {
	return func(c *createConfig) { c.acl = acl }
}

// WithTTL sets the time to live of a PersistentWithTTL or PersistentSequentialWithTTL
// node: the server deletes it once it has had no children and no change for that long.
// The server must have extended types enabled (ZooKeeper's
// zookeeper.extendedTypesEnabled); otherwise it answers ErrUnimplemented.
func WithTTL(d time.Duration) CreateOption {
	return func(c *createConfig) { c.ttl = d }
}

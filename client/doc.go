// Package client is a ZooKeeper client for Go. It speaks ZooKeeper's wire protocol
// (3.9, and works against 3.8 servers as well as corral), takes a context.Context on
// every call, and keeps one session alive across connections to the servers of an
// ensemble.
//
// # Connecting
//
//	conn, err := client.Connect(ctx, "zk1:2181,zk2:2181,zk3:2181/app",
//		client.WithSessionTimeout(10*time.Second),
//		client.WithDigestAuth("user", "secret"),
//		client.WithSessionEvents(func(ev client.SessionEvent) { log.Println(ev.State) }))
//	if err != nil { ... }
//	defer conn.Close()
//
// The connect string lists servers, comma-separated, and an optional chroot: with
// "/app", the path "/x" of every call means "/app/x" on the servers, and every path the
// client returns (created names, watch events, ephemerals) is relative to "/app" again.
//
// # Calls, results, errors
//
// The calls follow ZooKeeper's API: Create (and Create2, which also returns the Stat),
// Get, Set, Delete, Exists, Children, GetACL, SetACL, Sync, MultiRead, GetEphemerals,
// GetAllChildrenNumber, WhoAmI, AddAuth, AddWatch, RemoveWatches, and transactions
// with Txn:
//
//	res, err := conn.Txn().
//		Check("/config", 4).
//		SetData("/config", data, 4).
//		Create("/config-log/entry-", data, client.PersistentSequential).
//		Commit(ctx)
//
// A failed call returns an *Error holding the ZooKeeper code and the path; test it with
// errors.Is against the sentinels (ErrNoNode, ErrNodeExists, ErrBadVersion, ...).
// Versions are int32 and -1 means "any version".
//
// # Watches
//
// GetW, ExistsW and ChildrenW set one-shot watches: the returned channel receives one
// event and is closed. AddWatch sets a persistent (optionally recursive) watch whose
// channel receives events until it is removed. A watch that ends for another reason
// than a change of its node (the session expired, Close) receives an Event of type
// EventNone whose Err says why, and its channel is closed.
//
// # What happens to my calls when the connection drops
//
// A session outlives its TCP connection. When the connection to a server drops (the
// server died, the network failed, the server stopped answering pings), the client
// reports StateDisconnected and reconnects, trying the servers of the connect string in
// a shuffled order, with backoff after each failed round. It presents the session id,
// its password and the last zxid it has seen, so a server that is behind what the
// client already saw refuses it and the client tries another one: a session never
// travels back in time.
//
//   - Calls in flight when the connection drops fail with ErrConnectionLoss. The server
//     may or may not have carried a write out: a Create may have created the node, a
//     Set may have changed it. Check before you retry (Curator's "protected" names, used
//     by package recipe, make creates checkable).
//   - Calls made while disconnected wait for the next connection, as long as their
//     context allows; they then fail with the context's error (context.DeadlineExceeded
//     or context.Canceled). Give calls a deadline.
//   - A call whose context ends while it waits for its reply returns the context's error
//     at once. The request stays on the wire: the server may still carry it out.
//   - On the new connection the client authenticates again (WithDigestAuth, AddAuth),
//     then registers every watch again (setWatches2) with the last zxid it saw: a watch
//     whose node changed during the gap fires at once, from the server's replay, so no
//     change is missed. Watch channels stay open across the gap; they do not receive
//     Disconnected events.
//   - If the servers have expired the session meanwhile (the client was away for
//     longer than the session timeout), the reconnect reports StateExpired. The Conn is
//     then dead: its ephemeral nodes are gone, every watch receives EventNone with
//     ErrSessionExpired, and every call, waiting or new, returns ErrSessionExpired.
//     Make a new Conn. Anything that depended on the session (locks, leadership)
//     was lost, possibly before the client could know: see package recipe.
//
// Session states arrive in order through WithSessionEvents or WithSessionEventChannel:
// StateConnected (or StateConnectedReadOnly with WithReadOnlyAllowed, when the server
// serves reads only), StateDisconnected, StateExpired, StateAuthFailed and StateClosed.
// Conn.State returns the current one.
//
// # The connection
//
// Each connection has one goroutine reading and one writing. Requests are pipelined:
// many may be in flight, and replies come back in the order the requests were sent.
// The client pings after a third of the session timeout without sending, and gives up
// on a connection that has said nothing for two thirds of it. Watch events are
// dispatched by the reading goroutine to buffered channels, so the connection never
// waits for a slow consumer, and an event always arrives before the reply of any read
// that reflects the change it reports.
package client

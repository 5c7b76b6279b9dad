// Package recipe builds coordination recipes on package client: locks (Mutex,
// RWMutex, Semaphore), leader election (LeaderLatch, LeaderSelector), service
// discovery, barriers (Barrier, DoubleBarrier), a queue, counters (SharedCount,
// AtomicLong), group membership and a tree cache.
//
// The recipes use the znode layouts of Apache Curator (and, for locks and elections,
// those kazoo understands), so Go, Java and Python processes can contend for the same
// paths: a Mutex and a Curator InterProcessMutex on one path exclude each other.
//
// # A lock can be lost
//
// A ZooKeeper lock, lease or leadership is held by a session, not by a process. If the
// session expires (the process paused longer than the session timeout, or was cut off
// from the servers), the servers delete its node and the next waiter takes over, while
// the old holder may still be running its critical section. Nothing can prevent this;
// a correct program limits the damage:
//
//   - Watch Lost() and stop working on the resource when it closes. Lost closes when
//     the node is deleted, when the session ends (expiry, Close), and also when the
//     connection has been down for a quarter of the session timeout: past that the
//     servers may expire the session at any moment without the client hearing of it,
//     so the recipe stops trusting it. The client only learns of an expiry when it
//     reaches a server again; a process cut off from all servers only has the clock.
//
//   - Hand the FencingToken to the resource with every write, and have the resource
//     reject a token smaller than the largest it has seen. A token is the creation
//     zxid (czxid) of the lock node: it grows with every acquisition of the path, by
//     anyone, on every server of the ensemble. A holder that was paused past its
//     session and wakes up still believing it holds the lock carries an old token, and
//     the resource turns it away:
//
//     if err := m.Lock(ctx); err != nil { ... }
//     defer m.Unlock(context.Background())
//     storage.Write(ctx, key, value, m.FencingToken()) // storage rejects tokens < the last seen
//
// After Lost has closed, call Unlock (or Release, Close) anyway: if the node survived
// a short disconnection, that removes it and lets the next waiter in.
//
// # No herd, no orphans
//
// Every waiter of a lock or election watches only the node just before its own, so a
// release wakes one waiter, not all of them. Every ephemeral-sequential node is
// created with a protected name, "_c_<uuid>-<name><seq>" as Curator's
// withProtection() does: the uuid is new for each attempt, so when a create's reply
// is lost with the connection (ErrConnectionLoss: the node may or may not exist), the
// recipe lists the parent, finds its own node by that prefix and goes on with it. If
// the caller's context ends before that check could be made, a background cleanup
// looks for the node and deletes it once the connection is back.
//
// # Contexts
//
// Every call that waits takes a context.Context; when it ends, the call withdraws what
// it had created (a waiting lock node, say) and returns the context's error.
package recipe

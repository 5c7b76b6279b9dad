#!/usr/bin/python3
"""kazoo interop cases for corral, driven by test/interop/interop_test.go.

Usage: /usr/bin/python3 cases.py CASE --hosts HOST:PORT --root /znode/root [--out FILE] [--id N]

Each case asserts real outcomes against the server at --hosts, works only under --root
(which it creates), prints "OK <case>" and exits 0 on success; any failure raises, which
prints a traceback and exits non-zero. Runs on Debian's python3-kazoo 2.8.0, which has no
TTL/container/add_watch API: those cases send the raw requests (opcodes 19, 21, 106)
through kazoo's own connection.
"""

import argparse
import fcntl
import logging
import os
import struct
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.exceptions import (
    BadVersionError,
    NoAuthError,
    NoChildrenForEphemeralsError,
    NodeExistsError,
    NoNodeError,
    NotEmptyError,
    RolledBackError,
    RuntimeInconsistency,
)
from kazoo.protocol.serialization import Watch, int_struct, read_string, stat_struct, write_buffer, write_string
from kazoo.protocol.states import EventType, ZnodeStat
from kazoo.recipe.cache import TreeCache, TreeEvent
from kazoo.security import OPEN_ACL_UNSAFE, READ_ACL_UNSAFE, make_digest_acl

ARGS = None
WAIT = 15.0  # bound on every wait for an asynchronous outcome


def client(auth=None):
    c = KazooClient(hosts=ARGS.hosts, timeout=10.0, connection_retry={"max_tries": 3, "delay": 0.1})
    c.start(timeout=15)
    if auth:
        c.add_auth("digest", auth)
    return c


def check(cond, msg, *a):
    if not cond:
        raise AssertionError(msg % a if a else msg)


def eq(got, want, what):
    if got != want:
        raise AssertionError("%s: got %r, want %r" % (what, got, want))


def wait_until(fn, what, timeout=WAIT):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            if callable(what):
                what = what()
            raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(0.05)


def p(*parts):
    return "/".join([ARGS.root.rstrip("/")] + list(parts))


# ---------------------------------------------------------------- raw requests
class CreateContainer(object):
    """createContainer (19): CreateRequest -> Create2Response."""

    type = 19

    def __init__(self, path, data, acl):
        self.path, self.data, self.acl = path, data, acl

    def serialize(self):
        b = bytearray()
        b.extend(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(int_struct.pack(len(self.acl)))
        for a in self.acl:
            b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) + write_string(a.id.id))
        b.extend(int_struct.pack(4))  # CONTAINER
        return b

    @classmethod
    def deserialize(cls, buf, offset):
        path, offset = read_string(buf, offset)
        return path, ZnodeStat._make(stat_struct.unpack_from(buf, offset))


class CreateTTL(CreateContainer):
    """createTTL (21): CreateTTLRequest{path,data,acl,flags,long ttl} -> Create2Response."""

    type = 21

    def __init__(self, path, data, acl, flags, ttl):
        CreateContainer.__init__(self, path, data, acl)
        self.flags, self.ttl = flags, ttl

    def serialize(self):
        b = bytearray()
        b.extend(write_string(self.path))
        b.extend(write_buffer(self.data))
        b.extend(int_struct.pack(len(self.acl)))
        for a in self.acl:
            b.extend(int_struct.pack(a.perms) + write_string(a.id.scheme) + write_string(a.id.id))
        b.extend(int_struct.pack(self.flags))
        b.extend(struct.pack("!q", self.ttl))
        return b


class AddWatch(object):
    """addWatch (106): AddWatchRequest{path, int mode}; 0 persistent, 1 recursive."""

    type = 106

    def __init__(self, path, mode):
        self.path, self.mode = path, mode

    def serialize(self):
        return bytearray(write_string(self.path) + int_struct.pack(self.mode))

    @classmethod
    def deserialize(cls, buf, offset):
        return True


def raw_call(c, req):
    r = c.handler.async_result()
    c._call(req, r)
    return r.get(timeout=WAIT)


def record_all_events(c):
    """Hooks kazoo's connection so every watch notification (including those of
    persistent watches, which kazoo 2.8 does not know) is appended to the returned list."""
    events = []
    conn = c._connection
    orig = conn._read_watch_event

    def hooked(buffer, offset):
        w, _ = Watch.deserialize(buffer, offset)
        events.append((w.type, w.path))
        return orig(buffer, offset)

    conn._read_watch_event = hooked
    return events


# ---------------------------------------------------------------- cases
def case_crud():
    c = client()
    root = ARGS.root
    c.create(root)
    path, st = c.create(p("a"), b"hello", include_data=True)
    eq(path, p("a"), "created path")
    data, st = c.get(p("a"))
    eq(data, b"hello", "data")
    eq((st.version, st.cversion, st.aversion, st.dataLength, st.numChildren, st.ephemeralOwner),
       (0, 0, 0, 5, 0, 0), "fresh stat")
    eq(st.czxid, st.mzxid, "czxid == mzxid on a fresh node")
    check(st.ctime > 0 and st.ctime == st.mtime, "ctime/mtime %r", st)
    st2 = c.set(p("a"), b"world!")
    eq(st2.version, 1, "version after set")
    check(st2.mzxid > st.mzxid, "mzxid grows: %r -> %r", st.mzxid, st2.mzxid)
    eq(st2.czxid, st.czxid, "czxid unchanged by set")
    eq(st2.dataLength, 6, "dataLength after set")
    try:
        c.set(p("a"), b"x", version=0)
        raise AssertionError("set with stale version succeeded")
    except BadVersionError:
        pass
    c.set(p("a"), b"x", version=1)
    try:
        c.create(p("a"))
        raise AssertionError("duplicate create succeeded")
    except NodeExistsError:
        pass
    try:
        c.create(p("missing", "child"))
        raise AssertionError("create without parent succeeded")
    except NoNodeError:
        pass
    c.create(p("deep", "er", "est"), b"d", makepath=True)
    eq(c.get(p("deep", "er", "est"))[0], b"d", "makepath data")
    c.ensure_path(p("deep", "er"))
    pst = c.exists(root)
    eq(pst.numChildren, 2, "root numChildren")
    eq(sorted(c.get_children(root)), ["a", "deep"], "children")
    kids, kst = c.get_children(root, include_data=True)
    eq(kst.numChildren, 2, "getChildren2 stat")
    try:
        c.delete(p("deep"))
        raise AssertionError("delete of non-empty node succeeded")
    except NotEmptyError:
        pass
    try:
        c.delete(p("a"), version=0)
        raise AssertionError("delete with stale version succeeded")
    except BadVersionError:
        pass
    c.delete(p("a"), version=2)
    eq(c.exists(p("a")), None, "exists after delete")
    c.delete(p("deep"), recursive=True)
    eq(c.get_children(root), [], "children after deletes")
    # empty and binary data round-trip
    c.create(p("bin"), bytes(range(256)))
    eq(c.get(p("bin"))[0], bytes(range(256)), "binary data")
    c.create(p("empty"))
    eq(c.get(p("empty"))[0], b"", "empty data")
    c.sync(root)
    c.stop()


def case_ephemeral_sequential():
    a, b = client(), client()
    a.create(ARGS.root)
    sid = a.client_id[0]
    a.create(p("e"), b"mine", ephemeral=True)
    st = b.exists(p("e"))
    eq(st.ephemeralOwner, sid, "ephemeralOwner")
    try:
        a.create(p("e", "child"))
        raise AssertionError("child of ephemeral created")
    except NoChildrenForEphemeralsError:
        pass
    a.create(p("seq"))
    names = [a.create(p("seq", "s-"), b"", sequence=True) for _ in range(3)]
    eq(names, [p("seq", "s-%010d" % i) for i in range(3)], "sequential names")
    a.delete(names[2])
    n = a.create(p("seq", "s-"), sequence=True)
    eq(n, p("seq", "s-%010d" % 3), "sequence numbers are not reused")
    # the suffix counts every child created under the parent, not only sequential ones
    a.create(p("seq", "plain"))
    eq(a.create(p("seq", "s-"), sequence=True), p("seq", "s-%010d" % 5), "suffix after a plain create")
    es = a.create(p("es-"), ephemeral=True, sequence=True)
    check(es.startswith(p("es-")) and len(es) == len(p("es-")) + 10, "ephemeral sequential name %r", es)
    eq(b.exists(es).ephemeralOwner, sid, "ephemeral sequential owner")
    eq(b.exists(names[0]).ephemeralOwner, 0, "persistent sequential owner")
    # closing a's session removes its ephemerals, and b's watch sees it
    gone = threading.Event()
    b.exists(p("e"), watch=lambda ev: gone.set() if ev.type == EventType.DELETED else None)
    a.stop()
    a.close()
    check(gone.wait(WAIT), "no NodeDeleted for the ephemeral after its session closed")
    eq(b.exists(p("e")), None, "ephemeral after close")
    eq(b.exists(es), None, "ephemeral sequential after close")
    check(b.exists(names[0]) is not None, "persistent sequential survived")
    b.stop()


def case_container_ttl():
    c = client()
    c.create(ARGS.root)
    # container: stays while it has children, is reaped after the last one goes
    path, st = raw_call(c, CreateContainer(p("box"), b"c", OPEN_ACL_UNSAFE))
    eq(path, p("box"), "container path")
    eq(st.ephemeralOwner, 0, "container ephemeralOwner as seen by clients")
    c.create(p("box", "item"))
    time.sleep(2.5)  # several reaper intervals: a non-empty container must survive
    check(c.exists(p("box")) is not None, "container with a child was reaped")
    c.delete(p("box", "item"))
    wait_until(lambda: c.exists(p("box")) is None, "empty container to be reaped")
    # TTL node: reaped once it is childless and unmodified for ttl ms
    path, st = raw_call(c, CreateTTL(p("ttl"), b"t", OPEN_ACL_UNSAFE, 5, 500))
    eq(path, p("ttl"), "ttl path")
    eq(st.ephemeralOwner, 0, "ttl ephemeralOwner as seen by clients")
    path, _ = raw_call(c, CreateTTL(p("ttlseq-"), b"", OPEN_ACL_UNSAFE, 6, 500))
    eq(path, p("ttlseq-0000000002"), "persistent-sequential-with-ttl name")
    wait_until(lambda: c.exists(p("ttl")) is None and c.exists(path) is None, "TTL nodes to expire")
    # a TTL on a non-TTL mode is refused
    from kazoo.exceptions import BadArgumentsError
    try:
        raw_call(c, CreateTTL(p("bad"), b"", OPEN_ACL_UNSAFE, 0, 500))
        raise AssertionError("createTTL with PERSISTENT mode succeeded")
    except BadArgumentsError:
        pass
    c.stop()


def case_transaction():
    c = client()
    c.create(ARGS.root)
    c.create(p("t1"), b"one")
    tx = c.transaction()
    tx.create(p("t2"), b"two")
    tx.set_data(p("t1"), b"uno")
    tx.check(p("t1"), 1)  # sees the set_data above
    tx.create(p("t2", "child"))
    tx.delete(p("t2", "child"))
    res = tx.commit()
    eq(len(res), 5, "results")
    eq(res[0], p("t2"), "create result")
    check(isinstance(res[1], ZnodeStat) and res[1].version == 1, "set_data result %r", res[1])
    eq(res[2:], [True, p("t2", "child"), True], "check/create/delete results")
    eq(c.get(p("t1"))[0], b"uno", "t1 after commit")
    # a failing transaction changes nothing
    tx = c.transaction()
    tx.create(p("t3"))
    tx.delete(p("missing"))
    tx.set_data(p("t1"), b"never")
    res = tx.commit()
    check(isinstance(res[0], RolledBackError), "op before failure: %r", res[0])
    check(isinstance(res[1], NoNodeError), "failing op: %r", res[1])
    check(isinstance(res[2], RuntimeInconsistency), "op after failure: %r", res[2])
    eq(c.exists(p("t3")), None, "t3 after failed transaction")
    eq(c.get(p("t1"))[0], b"uno", "t1 after failed transaction")
    # version check failure
    tx = c.transaction()
    tx.check(p("t1"), 0)
    tx.create(p("t4"))
    res = tx.commit()
    check(isinstance(res[0], BadVersionError), "check result %r", res[0])
    eq(c.exists(p("t4")), None, "t4 after failed check")
    c.stop()


def case_watches():
    c, w = client(), client()
    c.create(ARGS.root)
    c.create(p("d"), b"v0")
    data_seen, kid_seen = [], []
    data_ev, kid_ev = threading.Event(), threading.Event()

    @w.DataWatch(p("d"))
    def on_data(data, stat, event):
        data_seen.append((data, event.type if event else None))
        data_ev.set()

    @w.ChildrenWatch(p("d"))
    def on_kids(children):
        kid_seen.append(sorted(children))
        kid_ev.set()

    wait_until(lambda: data_seen and kid_seen, "initial DataWatch/ChildrenWatch calls")
    for v in (b"v1", b"v2"):
        data_ev.clear()
        c.set(p("d"), v)
        check(data_ev.wait(WAIT), "no DataWatch call after set %r", v)
        wait_until(lambda: data_seen[-1][0] == v, "DataWatch to see %r" % v)
    c.create(p("d", "k1"))
    wait_until(lambda: kid_seen[-1] == ["k1"], "ChildrenWatch to see k1")
    c.create(p("d", "k2"))
    wait_until(lambda: kid_seen[-1] == ["k1", "k2"], "ChildrenWatch to see k1,k2")
    c.delete(p("d", "k1"))
    wait_until(lambda: kid_seen[-1] == ["k2"], "ChildrenWatch to see k2")
    eq(data_seen[0], (b"v0", None), "first DataWatch call")
    # one-shot watches: exactly one event per registration, with the right type and path
    got = []
    ev = threading.Event()

    def one(e):
        got.append((e.type, e.path))
        ev.set()

    w.exists(p("new"), watch=one)
    c.create(p("new"))
    check(ev.wait(WAIT), "no exists watch event")
    c.set(p("new"), b"again")  # must not fire the already-consumed watch
    ev.clear()
    w.get(p("new"), watch=one)
    c.delete(p("new"))
    check(ev.wait(WAIT), "no get watch event for delete")
    time.sleep(0.3)
    eq(got, [(EventType.CREATED, p("new")), (EventType.DELETED, p("new"))], "one-shot events")
    # The order of a watch event and a reply on the wire is checked by the Go
    # tests (frame level): kazoo runs watch callbacks on another thread, so the
    # order seen here would race. Here: the event does arrive.
    order = []
    w.get(p("d"), watch=lambda e: order.append("event"))
    c.set(p("d"), b"v3")
    wait_until(lambda: w.exists(p("d")).version == 3, "w to see version 3")
    wait_until(lambda: order == ["event"], "the data watch event")
    c.stop()
    w.stop()


def case_persistent_watches():
    c, w = client(), client()
    c.create(ARGS.root)
    c.create(p("pw"))
    events = record_all_events(w)
    raw_call(w, AddWatch(p("pw"), 0))  # persistent on pw
    raw_call(w, AddWatch(p("rw"), 1))  # recursive on rw, which does not exist yet
    c.set(p("pw"), b"1")
    c.set(p("pw"), b"2")
    c.create(p("pw", "kid"))
    c.create(p("rw"))
    c.create(p("rw", "a"))
    c.create(p("rw", "a", "b"))
    c.set(p("rw", "a", "b"), b"x")
    c.delete(p("rw", "a", "b"))
    c.create(p("pw", "kid", "grandkid"))  # not reported: persistent is not recursive
    c.set(p("pw", "kid"), b"y")  # not reported either
    w.sync(ARGS.root)
    want = [
        (EventType.CHANGED, p("pw")),
        (EventType.CHANGED, p("pw")),
        (EventType.CHILD, p("pw")),
        (EventType.CREATED, p("rw")),
        (EventType.CREATED, p("rw", "a")),
        (EventType.CREATED, p("rw", "a", "b")),
        (EventType.CHANGED, p("rw", "a", "b")),
        (EventType.DELETED, p("rw", "a", "b")),
    ]
    names = {1: EventType.CREATED, 2: EventType.DELETED, 3: EventType.CHANGED, 4: EventType.CHILD}
    wait_until(lambda: len(events) >= len(want), "%d persistent/recursive events" % len(want))
    time.sleep(0.3)
    eq([(names.get(t, t), path) for t, path in events], want, "persistent/recursive events")
    w.stop()
    c.stop()


def case_acl():
    admin = client(auth="admin:secret")
    anon = client()
    admin.create(ARGS.root)
    acl = make_digest_acl("admin", "secret", all=True)
    admin.create(p("private"), b"s3cret", acl=[acl])
    got, _ = admin.get_acls(p("private"))
    eq([(a.perms, a.id.scheme, a.id.id) for a in got], [(acl.perms, "digest", acl.id.id)], "getACL")
    eq(admin.get(p("private"))[0], b"s3cret", "owner can read")
    for op in (lambda: anon.get(p("private")),
               lambda: anon.set(p("private"), b"x"),
               lambda: anon.create(p("private", "kid")),
               lambda: anon.get_acls(p("private"))):
        try:
            op()
            raise AssertionError("unauthenticated client passed the ACL")
        except NoAuthError:
            pass
    check(anon.exists(p("private")) is not None, "exists needs no permission")
    anon.add_auth("digest", "admin:wrong")  # a wrong password is not an error...
    try:
        anon.get(p("private"))
        raise AssertionError("wrong password passed the ACL")
    except NoAuthError:
        pass  # ...it just does not grant anything
    other = client(auth="admin:secret")
    eq(other.get(p("private"))[0], b"s3cret", "second session with the right digest")
    # read-only world ACL
    admin.create(p("ro"), b"r", acl=READ_ACL_UNSAFE)
    eq(anon.get(p("ro"))[0], b"r", "world read")
    try:
        anon.set(p("ro"), b"w")
        raise AssertionError("write to read-only node succeeded")
    except NoAuthError:
        pass
    # setACL bumps aversion; the new ACL takes effect
    st = admin.set_acls(p("private"), OPEN_ACL_UNSAFE)
    eq(st.aversion, 1, "aversion after setACL")
    eq(anon.get(p("private"))[0], b"s3cret", "read after opening the ACL")
    for c in (admin, anon, other):
        c.stop()


def locked_append(path, line):
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(line + "\n")
        f.flush()
        fcntl.flock(f, fcntl.LOCK_UN)


def case_lock_worker():
    """One contender: takes the lock --iters times; inside, it claims an ephemeral
    marker (which fails if anyone else is inside) and logs enter/exit to --out."""
    c = client()
    c.ensure_path(ARGS.root)
    lock = c.Lock(p("lock"), "worker-%s" % ARGS.id)
    for i in range(ARGS.iters):
        check(lock.acquire(timeout=WAIT * 2), "lock not acquired within %ss", WAIT * 2)
        locked_append(ARGS.out, "enter %s %d" % (ARGS.id, i))
        c.create(p("holder"), ARGS.id.encode(), ephemeral=True)  # NodeExists = exclusion broken
        time.sleep(0.05)
        c.delete(p("holder"))
        locked_append(ARGS.out, "exit %s %d" % (ARGS.id, i))
        lock.release()
    c.stop()


def case_election_worker():
    """One candidate: waits to be elected, logs lead/resign to --out, holds leadership
    briefly, then gives it up."""
    c = client()
    c.ensure_path(ARGS.root)
    el = c.Election(p("election"), "cand-%s" % ARGS.id)

    def lead():
        locked_append(ARGS.out, "lead %s" % ARGS.id)
        contenders = el.contenders()
        check(contenders and contenders[0] == "cand-%s" % ARGS.id, "leader is first contender: %r", contenders)
        time.sleep(0.3)
        locked_append(ARGS.out, "resign %s" % ARGS.id)

    el.run(lead)
    c.stop()


def case_counter_worker():
    """One incrementer: adds 1 to a shared Counter --iters times."""
    c = client()
    c.ensure_path(ARGS.root)
    counter = c.Counter(p("counter"))
    for _ in range(ARGS.iters):
        counter += 1
    c.stop()


def case_counter_check():
    c = client()
    eq(c.Counter(p("counter")).value, ARGS.iters, "counter value")
    c.stop()


def case_barrier():
    c = client()
    c.create(ARGS.root)
    b = c.Barrier(p("barrier"))
    b.create()
    check(not b.wait(timeout=0.5), "Barrier.wait passed a raised barrier")
    waiter = client()
    passed = threading.Event()
    threading.Thread(target=lambda: waiter.Barrier(p("barrier")).wait(timeout=WAIT) and passed.set(),
                     daemon=True).start()
    time.sleep(0.5)
    check(not passed.is_set(), "waiter passed before the barrier was removed")
    b.remove()
    check(passed.wait(WAIT), "waiter not released after Barrier.remove")
    # DoubleBarrier: nobody gets past enter() until all three have arrived
    n = 3
    clients = [client() for _ in range(n)]
    entered, left, errors = [], [], []
    lk = threading.Lock()

    def member(i, cl):
        try:
            db = cl.DoubleBarrier(p("double"), n, identifier="m%d" % i)
            time.sleep(0.2 * i)
            db.enter()
            with lk:
                entered.append((i, time.monotonic()))
            time.sleep(0.1)
            db.leave()
            with lk:
                left.append(i)
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    start = time.monotonic()
    ts = [threading.Thread(target=member, args=(i, cl), daemon=True) for i, cl in enumerate(clients)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(WAIT * 2)
    eq(errors, [], "DoubleBarrier errors")
    eq(sorted(i for i, _ in entered), list(range(n)), "members that entered")
    eq(sorted(left), list(range(n)), "members that left")
    first = min(ts_ for _, ts_ in entered) - start
    check(first >= 0.2 * (n - 1) - 0.05, "a member entered after %.2fs, before the last arrived", first)
    for cl in clients + [c, waiter]:
        cl.stop()


def case_queue():
    c = client()
    c.create(ARGS.root)
    q = c.Queue(p("queue"))
    for v, prio in ((b"low", 200), (b"high", 10), (b"mid", 100), (b"mid2", 100)):
        q.put(v, priority=prio)
    eq(len(q), 4, "Queue length")
    eq([q.get() for _ in range(4)], [b"high", b"mid", b"mid2", b"low"], "Queue order")
    eq(q.get(), None, "empty Queue")
    # LockingQueue across two sessions: an item taken but not consumed is invisible to
    # others, and comes back if the taker's session ends without consuming it.
    lq = c.LockingQueue(p("lq"))
    lq.put_all([b"a", b"b"])
    other = client()
    lq2 = other.LockingQueue(p("lq"))
    eq(lq.get(timeout=WAIT), b"a", "first LockingQueue item")
    eq(lq2.get(timeout=WAIT), b"b", "second consumer skips the locked item")
    check(lq.consume(), "consume a")
    other.stop()
    other.close()
    eq(lq.get(timeout=WAIT), b"b", "item returns after its taker's session ended")
    check(lq.consume(), "consume b")
    eq(lq.get(timeout=0.5), None, "empty LockingQueue")
    eq(len(lq), 0, "LockingQueue length")
    c.stop()


def case_treecache():
    c = client()
    c.create(ARGS.root)
    c.create(p("tc"), b"top")
    c.create(p("tc", "x"), b"1")
    events = []
    tc = TreeCache(c, p("tc"))
    tc.listen(lambda e: events.append(e))
    tc.start()
    wait_until(lambda: any(e.event_type == TreeEvent.INITIALIZED for e in events), "TreeCache INITIALIZED")
    eq(tc.get_data(p("tc", "x")).data, b"1", "cached x")
    c.create(p("tc", "y"), b"2")
    c.create(p("tc", "y", "z"), b"3")
    c.set(p("tc", "x"), b"1b")
    wait_until(lambda: tc.get_data(p("tc", "y", "z")) is not None, "cache to add y/z")
    eq(tc.get_data(p("tc", "y", "z")).data, b"3", "cached y/z")
    c.delete(p("tc", "y", "z"))
    wait_until(lambda: tc.get_data(p("tc", "x")) and tc.get_data(p("tc", "x")).data == b"1b", "cache update of x")
    wait_until(lambda: tc.get_data(p("tc", "y", "z")) is None and tc.get_data(p("tc", "y")) is not None,
               "cache to add y and drop y/z")
    eq(sorted(tc.get_children(p("tc"))), ["x", "y"], "cached children")
    def seen():
        return {(e.event_type, e.event_data.path) for e in list(events) if e.event_data is not None}

    for want in ((TreeEvent.NODE_ADDED, p("tc", "y")), (TreeEvent.NODE_ADDED, p("tc", "y", "z")),
                 (TreeEvent.NODE_UPDATED, p("tc", "x")), (TreeEvent.NODE_REMOVED, p("tc", "y", "z"))):
        wait_until(lambda: want in seen(), lambda: "TreeCache event %r (seen: %r)" % (want, sorted(seen())))
    tc.close()
    c.stop()


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("case", choices=sorted(CASES))
    ap.add_argument("--hosts", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--out", default="")
    ap.add_argument("--id", default="0")
    ap.add_argument("--iters", type=int, default=1)
    ARGS = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    CASES[ARGS.case]()
    print("OK", ARGS.case)
    sys.stdout.flush()
    os._exit(0)  # do not wait for kazoo's daemon threads


if __name__ == "__main__":
    main()

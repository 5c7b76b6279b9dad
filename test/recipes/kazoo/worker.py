#!/usr/bin/python3
"""kazoo side of the recipe interop tests (test/recipes/recipes_test.go).

Runs one contender on a lock or election path and appends "enter/exit" (lock) or
"lead/resign" (election) lines to a shared log. Waits for a start node first, so that
every process contends at once. Prints "OK <case>" on success.

--names kazoo: stock kazoo Lock/Election ("<hex>__lock__N" nodes; they see only those,
so Go contenders use recipe.WithKazooNames). --names curator: a kazoo Lock whose node
is named "<hex>-lock-N" and that also sees "-lock-" contenders (extra_lock_patterns,
kazoo's documented cross-implementation option), so Curator, which orders contenders
by the digits after "lock-", orders it correctly too.
"""
import argparse
import os
import sys
import time

from kazoo.client import KazooClient
from kazoo.recipe.lock import Lock

ap = argparse.ArgumentParser()
ap.add_argument("case", choices=["lock", "election"])
ap.add_argument("--hosts", required=True)
ap.add_argument("--path", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--id", required=True)
ap.add_argument("--iters", type=int, default=5)
ap.add_argument("--names", choices=["kazoo", "curator"], default="kazoo")
ap.add_argument("--start", required=True)
ap.add_argument("--hold", type=float, default=0.02)
ARGS = ap.parse_args()


class CuratorNamedLock(Lock):
    """kazoo's Lock with node names Curator orders correctly."""
    _NODE_NAME = "-lock-"


def log(event):
    line = "%s %s %d\n" % (event, ARGS.id, time.time_ns())
    fd = os.open(ARGS.out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


def make_lock(c):
    if ARGS.names == "curator":
        return CuratorNamedLock(c, ARGS.path, ARGS.id, extra_lock_patterns=["-lock-", "__lock__"])
    return Lock(c, ARGS.path, ARGS.id)  # stock kazoo Lock


def main():
    c = KazooClient(hosts=ARGS.hosts, timeout=10)
    c.start(timeout=15)
    deadline = time.time() + 60
    while not c.exists(ARGS.start):
        if time.time() > deadline:
            raise SystemExit("start node never appeared")
        time.sleep(0.02)
    if ARGS.case == "lock":
        lock = make_lock(c)
        for _ in range(ARGS.iters):
            lock.acquire(timeout=60)
            log("enter")
            time.sleep(ARGS.hold)
            log("exit")
            lock.release()
    else:
        el = c.Election(ARGS.path, ARGS.id)
        if ARGS.names == "curator":
            el.lock = make_lock(c)
        else:
            el.lock = Lock(c, ARGS.path, ARGS.id)  # stock Election: sees "__lock__" only

        def lead():
            log("lead")
            time.sleep(ARGS.hold * 5)
            log("resign")

        el.run(lead)
    c.stop()
    c.close()
    print("OK " + ARGS.case, flush=True)


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)

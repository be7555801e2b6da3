"""zkbench_kazoo is zkbench's Python peer: kazoo's recipes, run and timed in
this process (time.monotonic_ns), driven line by line over stdin/stdout by
zkbench.

Usage: python3 -u zkbench_kazoo.py

It prints "ready" and then answers each command with exactly one line, in
order; a failure answers "error <message>". The commands are those of
ZkbenchCurator.java, with kazoo's recipes:

  open <group> <server>,<server>,...      sessions, the i-th on the i-th server only
  close <group>
  uncontended <op> <group> <dir> <n> <permits>
      op floor (create + delete of <dir>/n), mutex (Lock acquire + release),
      sem (Semaphore of permits leases, acquire + release)
  contended <kind> <group> <dir> <total> <holdMillis> <permits>
      kind mutex (Lock) or sem (Semaphore)
  chain <kind> <group> <dir> <waiters> <skip> <want> <settleMillis>
      kind handoff (Lock) or failover (Election: leading is the leader
      function running, resigning is its return)
  pair <kind> <group> <dir> <settleMillis>, handover, unpair
      one holder and one waiter on the group's first session: handover
      answers once the waiter holds, so that zkbench can count on the wire
      what one handoff does

When stdin closes it closes every session and exits.
"""

import os
import sys
import threading
import time

from kazoo.client import KazooClient
from kazoo.recipe.election import Election
from kazoo.recipe.lock import Lock, Semaphore

# Nothing in a run should wait this long; if it does, fail rather than hang.
TIMEOUT_S = 120.0

now = time.monotonic_ns

groups = {}
# The uncontended operations' recipes, kept across calls as an application
# keeps its lock: key (op, group, dir).
recipes = {}

# A thousand waiting threads need little stack each.
threading.stack_size(512 * 1024)


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def one_line(e):
    return repr(e).replace("\n", " ")


def csv(values):
    return ",".join(str(v) for v in values) or "-"


def group(name):
    if name not in groups:
        raise ValueError("no group %s" % name)
    return groups[name]


def open_group(name, servers):
    if name in groups:
        raise ValueError("group %s exists" % name)
    clients = []
    groups[name] = clients
    for s in servers:
        c = KazooClient(hosts=s, timeout=10.0)
        c.start(timeout=60)
        clients.append(c)
    return "ok %d" % len(clients)


def close_group(name):
    for c in groups.pop(name):
        c.stop()
        c.close()
    for k in [k for k in recipes if k[1] == name]:
        del recipes[k]
    return "ok"


def uncontended(op, g, d, n, permits):
    c = group(g)[0]
    key = (op, g, d)
    out = []
    if op == "floor":
        p = d + "/n"
        for _ in range(n):
            t0 = now()
            c.create(p, b"")
            c.delete(p)
            out.append(now() - t0)
    elif op == "mutex":
        lock = recipes.setdefault(key, Lock(c, d, "zkbench"))
        for _ in range(n):
            t0 = now()
            if not lock.acquire(timeout=TIMEOUT_S):
                raise RuntimeError("Lock.acquire returned False")
            lock.release()
            out.append(now() - t0)
    elif op == "sem":
        sem = recipes.setdefault(key, Semaphore(c, d, "zkbench", max_leases=permits))
        for _ in range(n):
            t0 = now()
            if not sem.acquire(timeout=TIMEOUT_S):
                raise RuntimeError("Semaphore.acquire returned False")
            sem.release()
            out.append(now() - t0)
    else:
        raise ValueError("unknown operation %s" % op)
    return "samples " + csv(out)


class Contender:
    """One contender's lock, lease or candidacy: hold(body) takes it, runs
    body, and gives it back."""

    def __init__(self, kind, client, d, permits, ident):
        self.client, self.dir, self.kind = client, d, kind
        if kind in ("mutex", "handoff"):
            self.recipe = Lock(client, d, ident)
        elif kind == "sem":
            self.recipe = Semaphore(client, d, ident, max_leases=permits)
        elif kind == "failover":
            self.recipe = Election(client, d, ident)
        else:
            raise ValueError("unknown kind %s" % kind)

    def hold(self, body):
        if self.kind == "failover":
            # Leading is the leader function running; it returning resigns
            # (run releases the election's lock on the way out).
            self.recipe.run(body)
            return
        if not self.recipe.acquire(timeout=TIMEOUT_S):
            raise RuntimeError("%s not acquired in %ss" % (self.kind, TIMEOUT_S))
        try:
            body()
        finally:
            self.recipe.release()

    def list(self):
        # A kazoo Semaphore's leases are the children of its directory.
        return self.client.get_children(self.dir)


def contended(kind, clients, d, total, hold_ms, permits):
    cs = [Contender(kind, c, d, permits, "zkbench-%d" % i) for i, c in enumerate(clients)]
    mu = threading.Lock()
    state = {"claimed": 0, "held": 0, "most": 0, "error": None}
    start = threading.Event()

    def claim():
        with mu:
            state["claimed"] += 1
            return state["claimed"] <= total

    def body():
        with mu:
            state["held"] += 1
            state["most"] = max(state["most"], state["held"])
        if hold_ms > 0:
            time.sleep(hold_ms / 1000.0)
        with mu:
            state["held"] -= 1

    def work(c):
        try:
            start.wait()
            while claim():
                c.hold(body)
        except Exception as e:
            with mu:
                if state["error"] is None:
                    state["error"] = e
                state["claimed"] = total  # stop the others

    ts = [threading.Thread(target=work, args=(c,), daemon=True) for c in cs]
    for t in ts:
        t.start()
    t0 = now()
    start.set()
    for t in ts:
        t.join()
    elapsed = now() - t0
    if state["error"] is not None:
        raise RuntimeError("contended %s: %s" % (kind, one_line(state["error"])))
    return "contended %d %d" % (elapsed, state["most"])


class Chain:
    """zkbench's handoff relay (handoff.go): a sample is the time from a
    holder giving the lock up to the next holder's acquisition returning.
    The queue stays at one holder and n waiters: the holder that released
    joins the tail again once the next one holds, and each holder waits,
    before it releases, until the queue is full again and settle more."""

    def __init__(self, skip, want, workers):
        self.skip, self.want = skip, want
        self.join = [threading.Semaphore(1) for _ in range(workers)]
        self.stopped = False
        self.mu = threading.Lock()
        self.prev = -1
        self.rel_at = 0
        self.samples, self.listing = [], []
        self.error = None

    def acquired(self, at):
        with self.mu:
            if self.stopped:
                return False
            if self.prev >= 0:
                if self.skip > 0:
                    self.skip -= 1
                else:
                    self.samples.append(at - self.rel_at)
                if len(self.samples) == self.want:
                    self._stop()
                    return False
                self.join[self.prev].release()
            return True

    def releasing(self, w, listing):
        with self.mu:
            if self.skip == 0:
                self.listing.append(listing)
            self.prev = w
            self.rel_at = now()

    def _stop(self):
        self.stopped = True
        for s in self.join:
            s.release()

    def fail(self, e):
        with self.mu:
            if self.error is None:
                self.error = e
            if not self.stopped:
                self._stop()


def wait_full(c, full):
    deadline = now() + int(TIMEOUT_S * 1e9)
    while True:
        t0 = now()
        n = len(c.list())
        took = now() - t0
        if n >= full:
            return took
        if now() > deadline:
            raise RuntimeError("%d of %d contenders queued after %ss" % (n, full, TIMEOUT_S))
        time.sleep(0.005)


def chain(kind, clients, d, waiters, skip, want, settle_ms):
    workers = waiters + 1
    ch = Chain(skip, want, workers)
    cs = [Contender(kind, clients[i % len(clients)], d, 0, "zkbench-%d" % i) for i in range(workers)]

    def work(i, c):
        try:
            while True:
                ch.join[i].acquire()
                if ch.stopped:
                    return
                go_on = [False]

                def body():
                    go_on[0] = ch.acquired(now())
                    if go_on[0]:
                        took = wait_full(c, workers)
                        time.sleep(settle_ms / 1000.0)
                        ch.releasing(i, took)

                c.hold(body)
                if not go_on[0]:
                    return
        except Exception as e:
            ch.fail(e)

    ts = [threading.Thread(target=work, args=(i, c), daemon=True) for i, c in enumerate(cs)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if ch.error is not None:
        raise RuntimeError("chain %s: %s" % (kind, one_line(ch.error)))
    return "chain %s %s" % (csv(ch.samples), csv(ch.listing))


class Pair:
    """A holder (a) and one waiter (b) on one session, each on a thread of
    its own, so that zkbench can trace one handoff alone."""

    def __init__(self, kind, client, d, settle_ms):
        self.error = None
        self.sides = []
        for ident in ("zkbench-a", "zkbench-b"):
            side = {
                "c": Contender(kind, client, d, 0, ident),
                "held": threading.Event(),
                "release": threading.Event(),
            }
            side["t"] = threading.Thread(target=self._run, args=(side,), daemon=True)
            self.sides.append(side)
        a, b = self.sides
        a["t"].start()
        self._wait(a["held"])
        b["t"].start()
        wait_full(a["c"], 2)
        time.sleep(settle_ms / 1000.0)  # for b to list the directory and set its watch

    def _run(self, side):
        def body():
            side["held"].set()
            side["release"].wait()

        try:
            side["c"].hold(body)
        except Exception as e:
            self.error = e
            side["held"].set()

    def _wait(self, ev):
        if not ev.wait(TIMEOUT_S):
            raise RuntimeError("pair: not held in %ss" % TIMEOUT_S)
        if self.error is not None:
            raise RuntimeError("pair: %s" % one_line(self.error))

    def handover(self):
        a, b = self.sides
        a["release"].set()
        self._wait(b["held"])
        return "ok"

    def unpair(self):
        a, b = self.sides
        b["release"].set()
        for s in self.sides:
            s["t"].join(TIMEOUT_S)
        return "ok"


pairs = []


def pair(kind, client, d, settle_ms):
    if pairs:
        raise RuntimeError("a pair exists")
    pairs.append(Pair(kind, client, d, settle_ms))
    return "ok"


def unpair():
    return pairs.pop().unpair()


def dispatch(f):
    cmd = f[0]
    if cmd == "open":
        return open_group(f[1], f[2].split(","))
    if cmd == "close":
        return close_group(f[1])
    if cmd == "uncontended":
        return uncontended(f[1], f[2], f[3], int(f[4]), int(f[5]))
    if cmd == "contended":
        return contended(f[1], group(f[2]), f[3], int(f[4]), int(f[5]), int(f[6]))
    if cmd == "chain":
        return chain(f[1], group(f[2]), f[3], int(f[4]), int(f[5]), int(f[6]), int(f[7]))
    if cmd == "pair":
        return pair(f[1], group(f[2])[0], f[3], int(f[4]))
    if cmd == "handover":
        return pairs[0].handover()
    if cmd == "unpair":
        return unpair()
    raise ValueError("unknown command %s" % cmd)


def main():
    say("ready")
    for line in sys.stdin:
        f = line.rstrip("\n").split(" ")
        if f == [""]:
            continue
        try:
            reply = dispatch(f)
        except Exception as e:
            reply = "error " + one_line(e)
        say(reply)
    for name in list(groups):
        try:
            close_group(name)
        except Exception:
            pass
    sys.stdout.flush()
    # Waiting threads, if a run failed, must not keep the process alive.
    os._exit(0)


if __name__ == "__main__":
    main()

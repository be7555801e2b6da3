"""kazoo_driver is the Python peer of zkcoord's interop tests: kazoo's Lock,
driven line by line over stdin/stdout by the Go test.

Usage: python3 kazoo_driver.py <connect string>

It prints "ready <session id in hex>" once connected, then reads commands,
one per line, fields separated by single spaces (the protocol of
java/CuratorDriver.java):

  mutex <h> <path> <data>   h is a kazoo Lock at path that also counts
                            "-lock-" nodes (zkcoord's, Curator's) as contenders
  lock <h>                  acquire; prints "locked <h>"
  unlock <h>                release; prints "unlocked <h>"
  once <h> <root>           acquire, run the critical section, release;
                            prints "once <h> ok" or "once <h> violation: ..."
  loop <h> <n> <root>       once, n times; prints "loop <h> <violations>"

Each handle runs its commands in order on a thread of its own; handles run
concurrently. A failure prints "error <h> <message>". When stdin closes the
driver closes its session, which deletes its ephemeral nodes, and exits.

The critical section is the exclusive one of CuratorDriver: create the
ephemeral <root>/excl (it existing means another holder), find <root>/readers
empty, append <data> to <root>/log with a version check, delete <root>/excl.
"""

import inspect
import os
import queue
import sys
import threading

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError
from kazoo.recipe.lock import Lock

# zkcoord's and Curator's mutex nodes are "_c_<uuid>-lock-<seq>": kazoo
# counts them as contenders when told this pattern (kazoo 2.7.1+).
EXTRA_LOCK_PATTERNS = ["-lock-"]

_out = threading.Lock()


def say(line):
    with _out:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


class Handle:
    def __init__(self, client, name, path, data):
        self.client = client
        self.name = name
        self.data = data
        self.lock = Lock(
            client, path, identifier=data, extra_lock_patterns=EXTRA_LOCK_PATTERNS
        )
        self.jobs = queue.Queue()
        threading.Thread(target=self._run, name="handle-" + name, daemon=True).start()

    def _run(self):
        while True:
            job = self.jobs.get()
            try:
                job()
            except Exception as e:  # reported, the driver carries on
                say("error %s %s" % (self.name, repr(e).replace("\n", " ")))

    def acquire(self):
        if not self.lock.acquire():
            raise RuntimeError("Lock.acquire returned False")

    def release(self):
        if not self.lock.release():
            raise RuntimeError("Lock.release: not held")

    def once(self, root):
        self.acquire()
        try:
            return self.critical(root)
        finally:
            self.release()

    def critical(self, root):
        zk = self.client
        excl = root + "/excl"
        try:
            zk.create(excl, self.data.encode(), ephemeral=True)
        except NodeExistsError:
            held_by, _ = zk.get(excl)
            return "violation: %s exists: held by %s" % (excl, held_by.decode())
        try:
            readers = zk.get_children(root + "/readers")
            if readers:
                return "violation: readers hold: %s" % readers
            log = root + "/log"
            old, stat = zk.get(log)
            try:
                zk.set(log, (old or b"") + b" " + self.name.encode(), version=stat.version)
            except BadVersionError:
                return "violation: %s changed under us" % log
        finally:
            zk.delete(excl)
        return "ok"


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: kazoo_driver.py <connect string>\n")
        sys.exit(2)
    if "extra_lock_patterns" not in inspect.signature(Lock.__init__).parameters:
        sys.stderr.write("kazoo_driver: this kazoo's Lock has no extra_lock_patterns (needs 2.7.1+)\n")
        sys.exit(1)
    client = KazooClient(hosts=sys.argv[1], timeout=8.0)
    client.start(timeout=60)
    say("ready %x" % client.client_id[0])

    handles = {}

    def run(h, job):
        handles[h].jobs.put(job)

    for line in sys.stdin:
        f = line.rstrip("\n").split(" ")
        if f == [""]:
            continue
        h = f[1] if len(f) > 1 else "-"
        try:
            if f[0] == "mutex":
                if h in handles:
                    raise ValueError("handle %s exists" % h)
                handles[h] = Handle(client, h, f[2], f[3])
                say("ok " + h)
            elif f[0] == "lock":
                hd = handles[h]

                def lock(hd=hd):
                    hd.acquire()
                    say("locked " + hd.name)

                run(h, lock)
            elif f[0] == "unlock":
                hd = handles[h]

                def unlock(hd=hd):
                    hd.release()
                    say("unlocked " + hd.name)

                run(h, unlock)
            elif f[0] == "once":
                hd, root = handles[h], f[2]
                run(h, lambda hd=hd, root=root: say("once %s %s" % (hd.name, hd.once(root))))
            elif f[0] == "loop":
                hd, n, root = handles[h], int(f[2]), f[3]

                def loop(hd=hd, n=n, root=root):
                    results = [hd.once(root) for _ in range(n)]
                    bad = [r for r in results if r != "ok"]
                    say("loop %s %d%s" % (hd.name, len(bad), " " + bad[0] if bad else ""))

                run(h, loop)
            else:
                say("error %s unknown command %s" % (h, f[0]))
        except Exception as e:
            say("error %s %s" % (h, repr(e).replace("\n", " ")))

    # stdin closed: end the session (its ephemeral nodes go with it) and
    # exit without waiting for handles blocked in acquire.
    client.stop()
    client.close()
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()

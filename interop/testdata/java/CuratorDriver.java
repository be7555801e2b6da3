// CuratorDriver is the Java peer of zkcoord's interop tests: Apache Curator's
// recipes, driven line by line over stdin/stdout by the Go test.
//
// Usage: java -cp <curator jars>:<dir> CuratorDriver <connect string>
//
// It prints "ready <session id in hex>" once connected, then reads commands,
// one per line, fields separated by single spaces:
//
//   mutex <h> <path> <data>       h is an InterProcessMutex at path
//   read <h> <path> <data>        h is the read side of an InterProcessReadWriteLock
//   write <h> <path> <data>       h is the write side of one
//   sem <h> <path> <max> <data>   h takes one lease of an InterProcessSemaphoreV2
//   latch <h> <path> <data>       h is a candidate in a LeaderLatch election: lock
//                                 starts a new LeaderLatch (id <data>) and waits
//                                 to lead, unlock closes it
//   abort <h>                     closes a latch handle's candidacy while it waits
//                                 to lead (from outside the handle's thread, which
//                                 waits in LeaderLatch.await); prints "aborted <h>"
//   leader <h> <path>             prints "leader <h> <id>": the leader's id as
//                                 Curator reads it, a NUL in it written as \0
//   lock <h>                      acquire; prints "locked <h>"
//   unlock <h>                    release; prints "unlocked <h>"
//   once <h> <root>               acquire, run the critical section, release;
//                                 prints "once <h> ok" or "once <h> violation: ..."
//   loop <h> <n> <root>           once, n times; prints "loop <h> <violations>"
//   count <h> <path> <n>          h is a SharedCount at path, seeded with n
//   semcount <h> <path> <count> <data>
//                                 h is a semaphore whose limit is SharedCount count
//   close <h>                     closes a SharedCount; prints "closed <h>"
//
// Node data of every node h creates is <data>, so inspection can name it,
// except the nodes of a semaphore's internal lock, which Curator creates
// with the client's default data: "curator-driver".
// Each handle runs its commands in order on a thread of its own (Curator's
// locks must be released by the thread that acquired them); handles run
// concurrently. A failure prints "error <h> <message>". When stdin closes the
// driver closes its session, which deletes its ephemeral nodes, and exits.
//
// The critical section, the same in every driver, checks exclusion with
// nodes under <root> (which the test creates):
//   exclusive (mutex, write): create the ephemeral <root>/excl (it existing
//     means another exclusive holder), find <root>/readers empty (for a
//     read-write lock), append <data> to <root>/log with a version check
//     (a conflict means a concurrent writer), delete <root>/excl;
//   shared (read): create an ephemeral sequential node in <root>/readers,
//     find no <root>/excl, delete the node;
//   lease (sem): create an ephemeral sequential node in <root>/holders, find
//     at most <max> children there, append <data> to <root>/log, delete it.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.framework.recipes.locks.InterProcessLock;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;
import org.apache.zookeeper.data.Stat;

public final class CuratorDriver {
    private static CuratorFramework client;
    private static final Map<String, Handle> handles = new ConcurrentHashMap<>();
    private static final Map<String, SharedCount> counts = new ConcurrentHashMap<>();

    enum Kind { EXCLUSIVE, SHARED, LEASE }

    static final class Handle {
        final String name;
        final Kind kind;
        final byte[] data;
        final int max; // LEASE only
        final InterProcessLock lock; // EXCLUSIVE, SHARED
        final InterProcessSemaphoreV2 sem; // LEASE
        final String latchPath; // a LeaderLatch candidate
        volatile LeaderLatch latch; // the current candidacy; closed elsewhere only by abort
        volatile boolean aborted; // abort closed latch: its await's EOFException is expected
        final ExecutorService exec;
        Lease lease; // held lease, on exec's thread only

        Handle(String name, Kind kind, byte[] data, int max, InterProcessLock lock, InterProcessSemaphoreV2 sem) {
            this(name, kind, data, max, lock, sem, null);
        }

        Handle(String name, Kind kind, byte[] data, int max, InterProcessLock lock, InterProcessSemaphoreV2 sem,
                String latchPath) {
            this.latchPath = latchPath;
            this.name = name;
            this.kind = kind;
            this.data = data;
            this.max = max;
            this.lock = lock;
            this.sem = sem;
            this.exec = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "handle-" + name);
                t.setDaemon(true);
                return t;
            });
        }

        void acquire() throws Exception {
            if (latchPath != null) {
                // A closed LeaderLatch cannot start again: one per term.
                LeaderLatch l = new LeaderLatch(client, latchPath, new String(data, StandardCharsets.UTF_8));
                latch = l;
                l.start();
                try {
                    l.await();
                } catch (java.io.EOFException e) {
                    if (aborted) {
                        aborted = false;
                        latch = null;
                        throw new Aborted();
                    }
                    throw e;
                }
            } else if (sem != null) {
                lease = sem.acquire();
            } else {
                lock.acquire();
            }
        }

        void release() throws Exception {
            if (latchPath != null) {
                LeaderLatch l = latch;
                latch = null;
                if (l == null) {
                    throw new IllegalStateException("not a candidate");
                }
                l.close();
            } else if (sem != null) {
                Lease l = lease;
                lease = null;
                if (l == null) {
                    throw new IllegalStateException("no lease held");
                }
                l.close();
            } else {
                lock.release();
            }
        }
    }

    // Aborted ends a job whose candidacy abort closed: it prints "aborted <h>".
    static final class Aborted extends Exception {
    }

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: CuratorDriver <connect string>");
            System.exit(2);
        }
        client = CuratorFrameworkFactory.builder()
                .connectString(args[0])
                .sessionTimeoutMs(8000)
                .connectionTimeoutMs(5000)
                .retryPolicy(new ExponentialBackoffRetry(50, 10, 1000))
                .defaultData(bytes("curator-driver"))
                .build();
        client.start();
        if (!client.blockUntilConnected(60, TimeUnit.SECONDS)) {
            System.err.println("CuratorDriver: not connected to " + args[0]);
            System.exit(1);
        }
        say("ready " + Long.toHexString(client.getZookeeperClient().getZooKeeper().getSessionId()));

        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line;
        while ((line = in.readLine()) != null) {
            if (!line.isEmpty()) {
                dispatch(line.split(" "));
            }
        }
        client.close(); // ends the session: its ephemeral nodes go with it
        System.exit(0);
    }

    static void dispatch(String[] f) {
        String h = f.length > 1 ? f[1] : "-";
        try {
            switch (f[0]) {
                case "mutex": {
                    byte[] data = bytes(f[3]);
                    InterProcessMutex m = new InterProcessMutex(client, f[2]) {
                        @Override
                        protected byte[] getLockNodeBytes() {
                            return data;
                        }
                    };
                    add(new Handle(h, Kind.EXCLUSIVE, data, 0, m, null));
                    break;
                }
                case "read":
                case "write": {
                    byte[] data = bytes(f[3]);
                    InterProcessReadWriteLock rw = new InterProcessReadWriteLock(client, f[2], data);
                    boolean read = f[0].equals("read");
                    add(new Handle(h, read ? Kind.SHARED : Kind.EXCLUSIVE, data, 0,
                            read ? rw.readLock() : rw.writeLock(), null));
                    break;
                }
                case "sem": {
                    int max = Integer.parseInt(f[3]);
                    byte[] data = bytes(f[4]);
                    InterProcessSemaphoreV2 s = new InterProcessSemaphoreV2(client, f[2], max);
                    s.setNodeData(data);
                    add(new Handle(h, Kind.LEASE, data, max, null, s));
                    break;
                }
                case "latch": {
                    add(new Handle(h, Kind.EXCLUSIVE, bytes(f[3]), 0, null, null, f[2]));
                    break;
                }
                case "abort": {
                    Handle hd = handles.get(h);
                    LeaderLatch l = hd == null ? null : hd.latch;
                    if (l == null) {
                        throw new IllegalStateException("no candidacy to abort: " + h);
                    }
                    hd.aborted = true;
                    l.close(); // await wakes with EOFException: the job prints "aborted <h>"
                    break;
                }
                case "leader": {
                    Participant p = new LeaderLatch(client, f[2]).getLeader();
                    say("leader " + h + " " + p.getId().replace("\0", "\\0"));
                    break;
                }
                case "count": {
                    SharedCount sc = new SharedCount(client, f[2], Integer.parseInt(f[3]));
                    sc.start();
                    if (counts.putIfAbsent(h, sc) != null) {
                        throw new IllegalArgumentException("count " + h + " exists");
                    }
                    say("ok " + h);
                    break;
                }
                case "semcount": {
                    SharedCount sc = counts.get(f[3]);
                    if (sc == null) {
                        throw new IllegalArgumentException("no count " + f[3]);
                    }
                    byte[] data = bytes(f[4]);
                    InterProcessSemaphoreV2 s = new InterProcessSemaphoreV2(client, f[2], sc);
                    s.setNodeData(data);
                    add(new Handle(h, Kind.LEASE, data, sc.getCount(), null, s));
                    break;
                }
                case "close": {
                    SharedCount sc = counts.remove(h);
                    if (sc == null) {
                        throw new IllegalArgumentException("no count " + h);
                    }
                    sc.close();
                    say("closed " + h);
                    break;
                }
                case "lock":
                    run(h, hd -> {
                        hd.acquire();
                        say("locked " + h);
                    });
                    break;
                case "unlock":
                    run(h, hd -> {
                        hd.release();
                        say("unlocked " + h);
                    });
                    break;
                case "once": {
                    String root = f[2];
                    run(h, hd -> say("once " + h + " " + once(hd, root)));
                    break;
                }
                case "loop": {
                    int n = Integer.parseInt(f[2]);
                    String root = f[3];
                    run(h, hd -> {
                        int violations = 0;
                        String first = "";
                        for (int i = 0; i < n; i++) {
                            String r = once(hd, root);
                            if (!r.equals("ok")) {
                                if (violations++ == 0) {
                                    first = " " + r;
                                }
                            }
                        }
                        say("loop " + h + " " + violations + first);
                    });
                    break;
                }
                default:
                    say("error " + h + " unknown command " + f[0]);
            }
        } catch (Exception e) {
            say("error " + h + " " + oneLine(e));
        }
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static void add(Handle hd) {
        if (handles.putIfAbsent(hd.name, hd) != null) {
            throw new IllegalArgumentException("handle " + hd.name + " exists");
        }
        say("ok " + hd.name);
    }

    interface Job {
        void run(Handle hd) throws Exception;
    }

    static void run(String h, Job job) {
        Handle hd = handles.get(h);
        if (hd == null) {
            throw new IllegalArgumentException("no handle " + h);
        }
        hd.exec.submit(() -> {
            try {
                job.run(hd);
            } catch (Aborted e) {
                say("aborted " + h);
            } catch (Throwable e) {
                say("error " + h + " " + oneLine(e));
            }
        });
    }

    static String oneLine(Throwable e) {
        return e.toString().replace('\n', ' ');
    }

    // once acquires, runs the critical section and releases; it returns "ok"
    // or "violation: <what>".
    static String once(Handle hd, String root) throws Exception {
        hd.acquire();
        String result;
        try {
            result = critical(hd, root);
        } finally {
            hd.release();
        }
        return result;
    }

    static String critical(Handle hd, String root) throws Exception {
        ZooKeeper zk = client.getZookeeperClient().getZooKeeper();
        switch (hd.kind) {
            case EXCLUSIVE: {
                String excl = root + "/excl";
                try {
                    zk.create(excl, hd.data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.EPHEMERAL);
                } catch (KeeperException.NodeExistsException e) {
                    return "violation: " + excl + " exists: held by " + data(zk, excl);
                }
                try {
                    List<String> readers = zk.getChildren(root + "/readers", false);
                    if (!readers.isEmpty()) {
                        return "violation: readers hold: " + readers;
                    }
                    if (!append(zk, root + "/log", hd.name)) {
                        return "violation: " + root + "/log changed under us";
                    }
                } finally {
                    zk.delete(excl, -1);
                }
                return "ok";
            }
            case SHARED: {
                String me = zk.create(root + "/readers/r-", hd.data, ZooDefs.Ids.OPEN_ACL_UNSAFE,
                        CreateMode.EPHEMERAL_SEQUENTIAL);
                try {
                    if (zk.exists(root + "/excl", false) != null) {
                        return "violation: a writer holds: " + data(zk, root + "/excl");
                    }
                } finally {
                    zk.delete(me, -1);
                }
                return "ok";
            }
            case LEASE: {
                String me = zk.create(root + "/holders/h-", hd.data, ZooDefs.Ids.OPEN_ACL_UNSAFE,
                        CreateMode.EPHEMERAL_SEQUENTIAL);
                try {
                    List<String> holders = zk.getChildren(root + "/holders", false);
                    if (holders.size() > hd.max) {
                        return "violation: " + holders.size() + " holders of " + hd.max + ": " + holders;
                    }
                    // Holders append concurrently: retry on conflict.
                    while (!append(zk, root + "/log", hd.name)) {
                    }
                } finally {
                    zk.delete(me, -1);
                }
                return "ok";
            }
        }
        throw new IllegalStateException("kind " + hd.kind);
    }

    // append adds " <word>" to the node's data if nobody wrote it since we
    // read it, and reports whether it did.
    static boolean append(ZooKeeper zk, String path, String word) throws Exception {
        Stat stat = new Stat();
        byte[] old = zk.getData(path, false, stat);
        String next = (old == null ? "" : new String(old, StandardCharsets.UTF_8)) + " " + word;
        try {
            zk.setData(path, bytes(next), stat.getVersion());
            return true;
        } catch (KeeperException.BadVersionException e) {
            return false;
        }
    }

    static String data(ZooKeeper zk, String path) {
        try {
            return new String(zk.getData(path, false, null), StandardCharsets.UTF_8);
        } catch (Exception e) {
            return "(" + e.getMessage() + ")";
        }
    }
}

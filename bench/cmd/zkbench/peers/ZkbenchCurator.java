// ZkbenchCurator is zkbench's Java peer: Apache Curator's recipes, run and
// timed in this JVM (System.nanoTime), driven line by line over
// stdin/stdout by zkbench, which compiles it at run time against the
// Curator jars it finds (Debian's /usr/share/java by default).
//
// Usage: java -cp <curator jars>:<dir> ZkbenchCurator
//
// It prints "ready" and then answers each command with exactly one line,
// in order; a failure answers "error <message>". Commands (fields separated
// by single spaces):
//
//   open <group> <server>,<server>,...
//       a group of sessions, the i-th connected to the i-th server only;
//       answers "ok <sessions>"
//   close <group>
//       closes its sessions (their ephemeral nodes go with them); "ok"
//   uncontended <op> <group> <dir> <n> <permits>
//       n operations one after the other on the group's first session;
//       answers "samples <ns>,<ns>,..." (each operation's duration). op:
//       floor   create + delete of the persistent node <dir>/n
//       mutex   InterProcessMutex(<dir>) acquire + release
//       sem     InterProcessSemaphoreV2(<dir>, permits) acquire one lease + close it
//   contended <kind> <group> <dir> <total> <holdMillis> <permits>
//       one worker per session of the group, kind mutex (InterProcessMutex)
//       or sem (InterProcessSemaphoreV2 of permits leases), until total
//       acquisitions are done, each holding holdMillis (0: an empty
//       critical section); answers "contended <elapsed ns> <most held at once>"
//   chain <kind> <group> <dir> <waiters> <skip> <want> <settleMillis>
//       one holder and <waiters> waiters (worker i on session i mod
//       sessions), kind handoff (InterProcessMutex) or failover (LeaderLatch),
//       relayed as zkbench's own handoff chain does: answers
//       "chain <handoff ns>,... <listing ns>,..."
//   pair <kind> <group> <dir> <settleMillis>
//       a holder and one waiter (kind handoff or failover) on the group's
//       first session, the waiter queued and given settleMillis; "ok"
//   handover
//       the holder releases; answers "ok" once the waiter holds, so that
//       zkbench can count on the wire what one handoff does
//   unpair
//       the waiter releases; "ok"
//
// When stdin closes it closes every session and exits.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;

public final class ZkbenchCurator {
    // Nothing in a run should wait this long; if it does, fail rather than hang.
    static final long TIMEOUT_S = 120;
    static final byte[] EMPTY = new byte[0];

    static final Map<String, List<CuratorFramework>> groups = new HashMap<>();
    // Recipes of the uncontended operations, kept across calls as an
    // application keeps its lock: key "<op> <group> <dir>".
    static final Map<String, Object> recipes = new HashMap<>();

    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        say("ready");
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isEmpty()) {
                continue;
            }
            String reply;
            try {
                reply = dispatch(line.split(" "));
            } catch (Throwable e) {
                reply = "error " + oneLine(e);
            }
            say(reply);
        }
        for (List<CuratorFramework> g : groups.values()) {
            for (CuratorFramework c : g) {
                c.close();
            }
        }
        System.exit(0);
    }

    static void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static String oneLine(Throwable e) {
        return e.toString().replace('\n', ' ');
    }

    static String dispatch(String[] f) throws Exception {
        switch (f[0]) {
            case "open":
                return open(f[1], f[2].split(","));
            case "close": {
                List<CuratorFramework> g = groups.remove(f[1]);
                if (g == null) {
                    throw new IllegalArgumentException("no group " + f[1]);
                }
                for (CuratorFramework c : g) {
                    c.close();
                }
                recipes.keySet().removeIf(k -> k.split(" ")[1].equals(f[1]));
                return "ok";
            }
            case "uncontended":
                return uncontended(f[1], f[2], f[3], Integer.parseInt(f[4]), Integer.parseInt(f[5]));
            case "contended":
                return contended(f[1], group(f[2]), f[3], Integer.parseInt(f[4]), Long.parseLong(f[5]),
                        Integer.parseInt(f[6]));
            case "chain":
                return chain(f[1], group(f[2]), f[3], Integer.parseInt(f[4]), Integer.parseInt(f[5]),
                        Integer.parseInt(f[6]), Long.parseLong(f[7]));
            case "pair":
                return pair(f[1], group(f[2]).get(0), f[3], Long.parseLong(f[4]));
            case "handover":
                return handover();
            case "unpair":
                return unpair();
            default:
                throw new IllegalArgumentException("unknown command " + f[0]);
        }
    }

    static List<CuratorFramework> group(String name) {
        List<CuratorFramework> g = groups.get(name);
        if (g == null) {
            throw new IllegalArgumentException("no group " + name);
        }
        return g;
    }

    // open connects each session to one server only, as zkbench pins its own
    // clients. The ensemble tracker is off: it would replace that single
    // server with the ensemble's list, and ZooKeeper's client may then move
    // the session to rebalance.
    static String open(String name, String[] servers) throws Exception {
        if (groups.containsKey(name)) {
            throw new IllegalArgumentException("group " + name + " exists");
        }
        List<CuratorFramework> g = new ArrayList<>();
        groups.put(name, g);
        for (String s : servers) {
            CuratorFramework c = CuratorFrameworkFactory.builder()
                    .connectString(s)
                    .sessionTimeoutMs(10000)
                    .connectionTimeoutMs(15000)
                    .retryPolicy(new ExponentialBackoffRetry(100, 10, 2000))
                    .ensembleTracker(false)
                    .build();
            c.start();
            g.add(c);
        }
        for (CuratorFramework c : g) {
            if (!c.blockUntilConnected(60, TimeUnit.SECONDS)) {
                throw new IllegalStateException("not connected to " + c.getZookeeperClient().getCurrentConnectionString());
            }
        }
        return "ok " + g.size();
    }

    static String csv(long[] v, int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                b.append(',');
            }
            b.append(v[i]);
        }
        return b.length() == 0 ? "-" : b.toString();
    }

    static String csv(List<Long> v) {
        long[] a = new long[v.size()];
        for (int i = 0; i < a.length; i++) {
            a[i] = v.get(i);
        }
        return csv(a, a.length);
    }

    static String uncontended(String op, String g, String dir, int n, int permits) throws Exception {
        CuratorFramework c = group(g).get(0);
        String key = op + " " + g + " " + dir;
        long[] d = new long[n];
        switch (op) {
            case "floor": {
                String p = dir + "/n";
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    c.create().forPath(p, EMPTY);
                    c.delete().forPath(p);
                    d[i] = System.nanoTime() - t0;
                }
                break;
            }
            case "mutex": {
                InterProcessMutex m = (InterProcessMutex) recipes.computeIfAbsent(key, k -> new InterProcessMutex(c, dir));
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    if (!m.acquire(TIMEOUT_S, TimeUnit.SECONDS)) {
                        throw new IllegalStateException("mutex not acquired in " + TIMEOUT_S + "s");
                    }
                    m.release();
                    d[i] = System.nanoTime() - t0;
                }
                break;
            }
            case "sem": {
                InterProcessSemaphoreV2 s = (InterProcessSemaphoreV2) recipes.computeIfAbsent(key,
                        k -> new InterProcessSemaphoreV2(c, dir, permits));
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    Lease l = s.acquire(TIMEOUT_S, TimeUnit.SECONDS);
                    if (l == null) {
                        throw new IllegalStateException("no lease in " + TIMEOUT_S + "s");
                    }
                    l.close();
                    d[i] = System.nanoTime() - t0;
                }
                break;
            }
            default:
                throw new IllegalArgumentException("unknown operation " + op);
        }
        return "samples " + csv(d, n);
    }

    // A contender takes and gives back one lock, lease or leadership; a
    // Curator lock must be released by the thread that took it, and each
    // contender lives on one thread.
    interface Contender {
        void lock() throws Exception;

        void unlock() throws Exception;

        List<String> list() throws Exception;
    }

    static Contender contender(String kind, CuratorFramework c, String dir, int permits, String id) {
        switch (kind) {
            case "mutex":
            case "handoff": {
                InterProcessMutex m = new InterProcessMutex(c, dir);
                return new Contender() {
                    public void lock() throws Exception {
                        if (!m.acquire(TIMEOUT_S, TimeUnit.SECONDS)) {
                            throw new IllegalStateException("mutex not acquired in " + TIMEOUT_S + "s");
                        }
                    }

                    public void unlock() throws Exception {
                        m.release();
                    }

                    public List<String> list() throws Exception {
                        return c.getChildren().forPath(dir);
                    }
                };
            }
            case "sem": {
                InterProcessSemaphoreV2 s = new InterProcessSemaphoreV2(c, dir, permits);
                return new Contender() {
                    Lease lease;

                    public void lock() throws Exception {
                        lease = s.acquire(TIMEOUT_S, TimeUnit.SECONDS);
                        if (lease == null) {
                            throw new IllegalStateException("no lease in " + TIMEOUT_S + "s");
                        }
                    }

                    public void unlock() throws Exception {
                        Lease l = lease;
                        lease = null;
                        l.close();
                    }

                    public List<String> list() throws Exception {
                        return c.getChildren().forPath(dir + "/leases");
                    }
                };
            }
            case "failover":
                // A closed LeaderLatch cannot start again: one per term.
                return new Contender() {
                    LeaderLatch latch;

                    public void lock() throws Exception {
                        latch = new LeaderLatch(c, dir, id);
                        latch.start();
                        if (!latch.await(TIMEOUT_S, TimeUnit.SECONDS)) {
                            throw new IllegalStateException("not elected in " + TIMEOUT_S + "s");
                        }
                    }

                    public void unlock() throws Exception {
                        LeaderLatch l = latch;
                        latch = null;
                        l.close();
                    }

                    public List<String> list() throws Exception {
                        return c.getChildren().forPath(dir);
                    }
                };
            default:
                throw new IllegalArgumentException("unknown kind " + kind);
        }
    }

    // contended has one worker per session take and give back the lock until
    // total acquisitions are done, and counts, between acquire returning and
    // release being called, how many hold at once.
    static String contended(String kind, List<CuratorFramework> g, String dir, int total, long holdMillis, int permits)
            throws Exception {
        int n = g.size();
        Contender[] cs = new Contender[n];
        for (int i = 0; i < n; i++) {
            cs[i] = contender(kind, g.get(i), dir, permits, "zkbench-" + i);
        }
        AtomicLong claimed = new AtomicLong(), held = new AtomicLong(), most = new AtomicLong();
        AtomicReference<Throwable> failed = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);
        Thread[] ts = new Thread[n];
        for (int i = 0; i < n; i++) {
            Contender c = cs[i];
            ts[i] = new Thread(() -> {
                try {
                    start.await();
                    while (claimed.incrementAndGet() <= total) {
                        c.lock();
                        long h = held.incrementAndGet();
                        most.accumulateAndGet(h, Math::max);
                        if (holdMillis > 0) {
                            Thread.sleep(holdMillis);
                        }
                        held.decrementAndGet();
                        c.unlock();
                    }
                } catch (Throwable e) {
                    failed.compareAndSet(null, e);
                    claimed.set(total); // stop the others
                }
            }, "contender-" + i);
            ts[i].setDaemon(true);
            ts[i].start();
        }
        long t0 = System.nanoTime();
        start.countDown();
        for (Thread t : ts) {
            t.join();
        }
        long elapsed = System.nanoTime() - t0;
        if (failed.get() != null) {
            throw new Exception("contended " + kind + ": " + oneLine(failed.get()));
        }
        return "contended " + elapsed + " " + most.get();
    }

    // Chain is zkbench's handoff relay (handoff.go): a sample is the time from
    // a holder calling unlock to the next holder's lock returning. The queue
    // stays at one holder and n waiters: the holder that released joins the
    // tail again once the next one holds, and each holder waits, before it
    // releases, until the queue is full again and settle more.
    static final class Chain {
        int skip;
        final int want;
        final Semaphore[] join;
        volatile boolean stopped;
        int prev = -1;
        long relAt;
        final List<Long> samples = new ArrayList<>(), listing = new ArrayList<>();
        final AtomicReference<Throwable> failed = new AtomicReference<>();

        Chain(int skip, int want, int workers) {
            this.skip = skip;
            this.want = want;
            join = new Semaphore[workers];
            for (int i = 0; i < workers; i++) {
                join[i] = new Semaphore(1);
            }
        }

        synchronized boolean acquired(long at) {
            if (stopped) {
                return false;
            }
            if (prev >= 0) {
                if (skip > 0) {
                    skip--;
                } else {
                    samples.add(at - relAt);
                }
                if (samples.size() == want) {
                    stop();
                    return false;
                }
                join[prev].release();
            }
            return true;
        }

        synchronized void releasing(int w, long listingNs) {
            if (skip == 0) {
                listing.add(listingNs);
            }
            prev = w;
            relAt = System.nanoTime();
        }

        // stop lets every worker that waits to rejoin see it is over.
        void stop() {
            stopped = true;
            for (Semaphore s : join) {
                s.release(1000);
            }
        }

        void fail(Throwable e) {
            failed.compareAndSet(null, e);
            stop();
        }
    }

    static String chain(String kind, List<CuratorFramework> g, String dir, int waiters, int skip, int want,
            long settleMillis) throws Exception {
        int workers = waiters + 1;
        Chain ch = new Chain(skip, want, workers);
        Thread[] ts = new Thread[workers];
        for (int i = 0; i < workers; i++) {
            Contender c = contender(kind, g.get(i % g.size()), dir, 0, "zkbench-" + i);
            int w = i;
            ts[i] = new Thread(() -> worker(ch, w, c, workers, settleMillis), "worker-" + i);
            ts[i].setDaemon(true);
        }
        for (Thread t : ts) {
            t.start();
        }
        for (Thread t : ts) {
            t.join();
        }
        if (ch.failed.get() != null) {
            throw new Exception("chain " + kind + ": " + oneLine(ch.failed.get()));
        }
        return "chain " + csv(ch.samples) + " " + csv(ch.listing);
    }

    static void worker(Chain ch, int i, Contender c, int full, long settleMillis) {
        try {
            while (true) {
                ch.join[i].acquire();
                if (ch.stopped) {
                    return;
                }
                c.lock();
                boolean goOn = ch.acquired(System.nanoTime());
                try {
                    if (goOn) {
                        long took = waitFull(c, full);
                        Thread.sleep(settleMillis);
                        ch.releasing(i, took);
                    }
                } finally {
                    c.unlock();
                }
                if (!goOn) {
                    return;
                }
            }
        } catch (Throwable e) {
            ch.fail(e);
        }
    }

    // A pair is one holder (a) and one waiter (b) on one session, each on a
    // thread of its own, so that zkbench can trace one handoff alone: pair
    // sets them up, handover has a release and returns once b holds, unpair
    // releases b.
    static Contender pairA, pairB;
    static ExecutorService pairExA, pairExB;
    static Future<?> pairBLocked;

    static ExecutorService daemonExecutor(String name) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    static String pair(String kind, CuratorFramework c, String dir, long settleMillis) throws Exception {
        if (pairA != null) {
            throw new IllegalStateException("a pair exists");
        }
        pairA = contender(kind, c, dir, 0, "zkbench-a");
        pairB = contender(kind, c, dir, 0, "zkbench-b");
        pairExA = daemonExecutor("pair-a");
        pairExB = daemonExecutor("pair-b");
        Contender a = pairA, b = pairB;
        pairExA.submit(() -> {
            a.lock();
            return null;
        }).get(TIMEOUT_S, TimeUnit.SECONDS);
        pairBLocked = pairExB.submit(() -> {
            b.lock();
            return null;
        });
        waitFull(a, 2);
        Thread.sleep(settleMillis); // for b to list the directory and set its watch
        return "ok";
    }

    static String handover() throws Exception {
        Contender a = pairA;
        pairExA.submit(() -> {
            a.unlock();
            return null;
        }).get(TIMEOUT_S, TimeUnit.SECONDS);
        pairBLocked.get(TIMEOUT_S, TimeUnit.SECONDS);
        return "ok";
    }

    static String unpair() throws Exception {
        Contender b = pairB;
        try {
            pairExB.submit(() -> {
                b.unlock();
                return null;
            }).get(TIMEOUT_S, TimeUnit.SECONDS);
        } finally {
            pairExA.shutdownNow();
            pairExB.shutdownNow();
            pairA = pairB = null;
        }
        return "ok";
    }

    // waitFull lists the directory until it holds full nodes, and returns
    // how long the last listing, the full one, took.
    static long waitFull(Contender c, int full) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(TIMEOUT_S);
        while (true) {
            long t0 = System.nanoTime();
            int n = c.list().size();
            long took = System.nanoTime() - t0;
            if (n >= full) {
                return took;
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException(n + " of " + full + " contenders queued after " + TIMEOUT_S + "s");
            }
            Thread.sleep(5);
        }
    }
}

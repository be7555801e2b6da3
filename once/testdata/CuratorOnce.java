// CuratorOnce is BenchmarkCuratorDistinctKeys's peer: the same work as
// once.Do with Curator 5, a thread per key in flight. For each key: skip it
// if its marker exists; else take an InterProcessMutex on <dir>/locks/<key>,
// look again, "run" (nothing), create <dir>/done/<key>, release. The
// marker's create is not guarded by the lock (Curator's mutex does not
// expose its node for a transaction), which only makes it cheaper.
//
// Usage: java CuratorOnce <servers> <dir> <keys> <threads>
// Prints: "<keys> keys in <milliseconds> ms".
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class CuratorOnce {
    public static void main(String[] args) throws Exception {
        String servers = args[0], dir = args[1];
        int keys = Integer.parseInt(args[2]), threads = Integer.parseInt(args[3]);
        CuratorFramework c = CuratorFrameworkFactory.newClient(servers, 10000, 10000, new ExponentialBackoffRetry(100, 3));
        c.start();
        c.blockUntilConnected();
        c.createContainers(dir + "/done");
        AtomicInteger next = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        long start = System.nanoTime();
        List<Future<Object>> work = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            work.add(pool.submit(() -> {
                for (int k = next.incrementAndGet(); k <= keys; k = next.incrementAndGet()) {
                    String marker = dir + "/done/key-" + k;
                    if (c.checkExists().forPath(marker) != null) {
                        continue;
                    }
                    InterProcessMutex mu = new InterProcessMutex(c, dir + "/locks/key-" + k);
                    mu.acquire();
                    try {
                        if (c.checkExists().forPath(marker) == null) {
                            c.create().forPath(marker);
                        }
                    } finally {
                        mu.release();
                    }
                }
                return null;
            }));
        }
        for (Future<Object> f : work) {
            f.get();
        }
        long ms = (System.nanoTime() - start) / 1_000_000;
        pool.shutdown();
        c.close();
        System.out.println(keys + " keys in " + ms + " ms");
    }
}

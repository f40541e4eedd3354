/*
 * Curator's CuratorCache driven for zkwire's cache benchmarks (bench/recipes/cache/run.ts), beside zkwire's
 * TreeCache driven by bench/recipes/cache/program.ts over the same protocol:
 *
 *   java -cp <curator classpath> CacheBench CONNECT
 *
 * Commands on stdin, one per line; answers on stdout, one JSON object per line, flushed per line
 * (Curator's and ZooKeeper's logs go to stderr):
 *   initial PATH   a cache on PATH from nothing to initialized, then closed
 *                  -> {"event":"initial","ms":..,"nodes":..}
 *   watch PATH     a cache on PATH, kept; answers once initialized -> {"event":"watching","nodes":..}
 *   expect N       counts the watched cache's "changed" events from now; answers at once
 *                  -> {"event":"armed"}, then after the N-th -> {"event":"applied","ms":..} (ms since armed)
 *   unwatch        closes the watched cache -> {"event":"closed"}
 *   quit           exits 0
 * First line: {"event":"ready","peer":"curator","pid":..}. Errors: {"event":"error","message":..}, exit 1
 * (exit 2: no CONNECT). The logs, the client and stdin are PeerIo's; the lines, with no "id", are its own.
 */

import java.io.BufferedReader;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.retry.RetryNTimes;

public class CacheBench {
    /** Its lines are the benchmark's protocol, spoken by program.ts too: no "id", so not PeerIo.emit. */
    static void say(String json) {
        PeerIo.println(json);
    }

    static CuratorCache watched;
    static final AtomicLong changes = new AtomicLong();
    static volatile long expected = -1;
    static volatile long armedAt;

    public static void main(String[] args) throws Exception {
        PeerIo.quietLogs();
        if (args.length < 1) {
            say("{\"event\":\"error\",\"message\":\"usage: CacheBench CONNECT\"}");
            System.exit(2);
        }
        try {
            CuratorFramework client = PeerIo.client(args[0], 30_000, 15_000, new RetryNTimes(3, 100));
            say("{\"event\":\"ready\",\"peer\":\"curator\",\"pid\":" + ProcessHandle.current().pid() + "}");
            BufferedReader in = PeerIo.stdin();
            for (String line; (line = in.readLine()) != null; ) {
                String[] w = line.trim().split(" ");
                switch (w[0]) {
                    case "initial": {
                        CountDownLatch done = new CountDownLatch(1);
                        CuratorCache cache = CuratorCache.build(client, w[1]);
                        cache.listenable().addListener(CuratorCacheListener.builder().forInitialized(done::countDown).build());
                        long t0 = System.nanoTime();
                        cache.start();
                        if (!done.await(120, TimeUnit.SECONDS)) throw new IllegalStateException("not initialized");
                        long ns = System.nanoTime() - t0;
                        long nodes = cache.size();
                        cache.close();
                        say("{\"event\":\"initial\",\"ms\":" + ns / 1e6 + ",\"nodes\":" + nodes + "}");
                        break;
                    }
                    case "watch": {
                        CountDownLatch done = new CountDownLatch(1);
                        watched = CuratorCache.build(client, w[1]);
                        watched.listenable().addListener(CuratorCacheListener.builder()
                                .forInitialized(done::countDown)
                                .forChanges((before, after) -> {
                                    long n = changes.incrementAndGet();
                                    if (n == expected) {
                                        say("{\"event\":\"applied\",\"ms\":" + (System.nanoTime() - armedAt) / 1e6 + "}");
                                    }
                                })
                                .build());
                        watched.start();
                        if (!done.await(120, TimeUnit.SECONDS)) throw new IllegalStateException("not initialized");
                        say("{\"event\":\"watching\",\"nodes\":" + watched.size() + "}");
                        break;
                    }
                    case "expect": {
                        expected = -1;
                        changes.set(0);
                        armedAt = System.nanoTime();
                        expected = Long.parseLong(w[1]);
                        say("{\"event\":\"armed\"}");
                        break;
                    }
                    case "unwatch": {
                        if (watched != null) watched.close();
                        watched = null;
                        say("{\"event\":\"closed\"}");
                        break;
                    }
                    case "quit":
                        client.close();
                        System.exit(0);
                        return;
                    default:
                        throw new IllegalArgumentException("unknown command: " + line);
                }
            }
        } catch (Exception e) {
            say("{\"event\":\"error\",\"message\":\"" + String.valueOf(e).replace("\\", "\\\\").replace("\"", "'") + "\"}");
            System.exit(1);
        }
    }
}

/*
 * A Curator counter peer for zkwire's counter interop tests (test/recipes/counters-interop.test.ts).
 *
 *   java CounterPeer CONNECT PATH ITERATIONS ID MODE
 *
 * MODE "sharedcount": Curator's SharedCount on PATH (4-byte big-endian int); each iteration loops on
 * trySetCount(versioned, value + 1) until it applies. MODE "atomiclong": Curator's DistributedAtomicLong
 * (8-byte big-endian long); each iteration is increment(), with a retry policy generous enough that it
 * succeeds under contention (a failed increment is reported, not hidden).
 *
 * Protocol: JSON lines on stdout. {"event":"ready"} once connected (and started), then the program
 * waits for a line "go" on stdin, runs, and prints {"event":"done","applied":N,"failed":F,"retries":R}
 * and exits 0; {"event":"error","message":...} and exit 1 on failure (exit 2: wrong arguments). Every
 * line carries "id":ID after "event" too. Logging goes to stderr. The plumbing is PeerIo's.
 */
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.RetryNTimes;

public final class CounterPeer {
    public static void main(String[] args) {
        PeerIo.main(args, CounterPeer::run);
    }

    private static void run(String[] args) throws Exception {
        if (args.length != 5) PeerIo.usage("usage: CounterPeer CONNECT PATH ITERATIONS ID MODE");
        String connect = args[0], path = args[1], mode = args[4];
        int iterations = Integer.parseInt(args[2]);
        PeerIo.id = args[3];
        CuratorFramework client = PeerIo.client(connect, 15_000, 15_000, new RetryNTimes(3, 200));
        int applied = 0, failed = 0, retries = 0;
        if (mode.equals("sharedcount")) {
            try (SharedCount count = new SharedCount(client, path, 0)) {
                count.start();
                PeerIo.emit(PeerIo.event("ready"));
                PeerIo.waitFor("go");
                for (int i = 0; i < iterations; i++) {
                    for (;;) {
                        VersionedValue<Integer> seen = count.getVersionedValue();
                        if (count.trySetCount(seen, seen.getValue() + 1)) break;
                        retries++;
                    }
                    applied++;
                }
            }
        } else if (mode.equals("atomiclong")) {
            DistributedAtomicLong counter = new DistributedAtomicLong(client, path, new RetryNTimes(10_000, 1));
            PeerIo.emit(PeerIo.event("ready"));
            PeerIo.waitFor("go");
            for (int i = 0; i < iterations; i++) {
                AtomicValue<Long> result = counter.increment();
                if (result.succeeded()) applied++;
                else failed++;
                retries += result.getStats().getOptimisticTries() - 1;
            }
        } else {
            throw new IllegalArgumentException("unknown mode " + mode);
        }
        PeerIo.emit(PeerIo.event("done").put("applied", applied).put("failed", failed).put("retries", retries));
        client.close();
    }
}

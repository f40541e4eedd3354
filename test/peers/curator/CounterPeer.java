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
 * and exits 0; {"event":"error","message":...} and exit 1 on failure. Logging goes to stderr.
 */
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.atomic.AtomicValue;
import org.apache.curator.framework.recipes.atomic.DistributedAtomicLong;
import org.apache.curator.framework.recipes.shared.SharedCount;
import org.apache.curator.framework.recipes.shared.VersionedValue;
import org.apache.curator.retry.RetryNTimes;

public final class CounterPeer {
    private static String id = "";

    public static void main(String[] args) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        if (args.length != 5) {
            System.err.println("usage: CounterPeer CONNECT PATH ITERATIONS ID MODE");
            System.exit(2);
        }
        String connect = args[0], path = args[1], mode = args[4];
        int iterations = Integer.parseInt(args[2]);
        id = args[3];
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(15_000)
                .connectionTimeoutMs(15_000)
                .retryPolicy(new RetryNTimes(3, 200))
                .build();
        try {
            client.start();
            client.blockUntilConnected();
            int applied = 0, failed = 0, retries = 0;
            BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            if (mode.equals("sharedcount")) {
                try (SharedCount count = new SharedCount(client, path, 0)) {
                    count.start();
                    emit("{\"event\":\"ready\"}");
                    awaitGo(stdin);
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
                emit("{\"event\":\"ready\"}");
                awaitGo(stdin);
                for (int i = 0; i < iterations; i++) {
                    AtomicValue<Long> result = counter.increment();
                    if (result.succeeded()) applied++;
                    else failed++;
                    retries += result.getStats().getOptimisticTries() - 1;
                }
            } else {
                throw new IllegalArgumentException("unknown mode " + mode);
            }
            emit("{\"event\":\"done\",\"applied\":" + applied + ",\"failed\":" + failed + ",\"retries\":" + retries + "}");
        } catch (Exception e) {
            emit("{\"event\":\"error\",\"message\":\"" + String.valueOf(e).replace("\\", "\\\\").replace("\"", "'") + "\"}");
            System.exit(1);
        } finally {
            client.close();
        }
    }

    private static void awaitGo(BufferedReader stdin) throws Exception {
        for (String line; (line = stdin.readLine()) != null; ) {
            if (line.trim().equals("go")) return;
        }
        throw new IllegalStateException("stdin closed before \"go\"");
    }

    /** Adds the program's id to a one-line JSON object and prints it at once. */
    private static void emit(String json) {
        String quoted = id.replace("\\", "\\\\").replace("\"", "\\\"");
        System.out.println("{\"id\":\"" + quoted + "\"," + json.substring(1));
        System.out.flush();
    }
}

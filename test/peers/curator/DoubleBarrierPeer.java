/*
 * A Curator DistributedDoubleBarrier member for zkwire's barrier interop tests
 * (test/recipes/barrier-interop.test.ts).
 *
 *   java DoubleBarrierPeer CONNECT PATH MEMBERS ID
 *
 * Protocol: JSON lines on stdout, "t" in wall-clock microseconds since the epoch. {"event":"ready"} once
 * connected. On the line "enter": {"event":"entering","t":...}, enter(), {"event":"entered","t":...}; on
 * "leave": {"event":"leaving","t":...}, leave(), {"event":"left","t":...}, {"event":"done"}, exit 0.
 * {"event":"error","message":...} and exit 1 on failure.
 */
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.retry.RetryNTimes;

public final class DoubleBarrierPeer {
    private static String id = "";

    public static void main(String[] args) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        if (args.length != 4) {
            System.err.println("usage: DoubleBarrierPeer CONNECT PATH MEMBERS ID");
            System.exit(2);
        }
        id = args[3];
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(args[0])
                .sessionTimeoutMs(15_000)
                .connectionTimeoutMs(15_000)
                .retryPolicy(new RetryNTimes(3, 200))
                .build();
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            client.start();
            client.blockUntilConnected();
            DistributedDoubleBarrier barrier = new DistributedDoubleBarrier(client, args[1], Integer.parseInt(args[2]));
            emit("{\"event\":\"ready\"}");
            waitFor(stdin, "enter");
            emit("{\"event\":\"entering\",\"t\":" + now() + "}");
            barrier.enter();
            emit("{\"event\":\"entered\",\"t\":" + now() + "}");
            waitFor(stdin, "leave");
            emit("{\"event\":\"leaving\",\"t\":" + now() + "}");
            barrier.leave();
            emit("{\"event\":\"left\",\"t\":" + now() + "}");
            emit("{\"event\":\"done\"}");
        } catch (Exception e) {
            emit("{\"event\":\"error\",\"message\":\"" + String.valueOf(e).replace("\\", "/").replace("\"", "'") + "\"}");
            System.exit(1);
        } finally {
            client.close();
        }
    }

    private static long now() {
        Instant at = Instant.now();
        return at.getEpochSecond() * 1_000_000L + at.getNano() / 1_000;
    }

    private static void waitFor(BufferedReader stdin, String command) throws Exception {
        for (String line; (line = stdin.readLine()) != null; ) {
            if (line.trim().equals(command)) return;
        }
        throw new IllegalStateException("stdin closed before \"" + command + "\"");
    }

    private static void emit(String json) {
        System.out.println("{\"id\":\"" + id.replace("\"", "'") + "\"," + json.substring(1));
        System.out.flush();
    }
}

/*
 * A lock contender built on Apache Curator's InterProcessMutex, for zkwire's lock interoperability tests.
 * It speaks the protocol that test/peers/kazoo/lock_contender.py speaks too (see test/peers/peers.ts):
 *
 *   java -cp <curator classpath> LockContender.java CONNECT LOCK_PATH COUNTER_PATH ITERATIONS ID [HOLD_MS]
 *        [--gate] [--manual] [--session-timeout-ms=N] [--acquire-timeout-ms=N]
 *
 * Each iteration: acquire the mutex, read COUNTER_PATH (a decimal integer) and its version, optionally
 * sleep HOLD_MS, setData(value + 1, version), release. A BadVersion on that setData means someone wrote
 * the counter while we held the lock, i.e. mutual exclusion failed: it is counted as a conflict and NOT
 * retried, so a broken lock cannot hide behind a retry.
 *
 * stdout carries one JSON object per line, flushed per line (Curator's and ZooKeeper's logs go to stderr):
 *   {"event":"ready","id":..,"peer":"curator","pid":..,"sessionId":"0x.."}
 *   {"event":"enter","id":..,"n":..,"node":"_c_<uuid>-lock-0000000007","seq":7,"value":..,"version":..,"t":..}
 *   {"event":"conflict","id":..,"n":..,"value":..,"version":..,"t":..}
 *   {"event":"exit","id":..,"n":..,"node":..,"value":..,"t":..}
 *   {"event":"done","id":..,"acquired":..,"conflicts":..,"ms":..}       then exit 0
 *   {"event":"error","id":..,"message":..}                              then exit 1 (2: bad arguments)
 * "t" is microseconds of the monotonic clock (as PeerIo.micros): every process on one host reads the same clock,
 * so enter/exit intervals of different processes can be compared, to a few microseconds.
 *
 * --gate: after "ready", wait for a line "go" on stdin, so contenders that start at different speeds
 *         (a JVM takes longer than Python) really contend.
 * --manual: ignore ITERATIONS; read commands from stdin: "acquire" (take the lock, read the counter,
 *         print enter), "release" (write the counter, release, print exit), "quit". This lets a test put
 *         the lock in a known state, e.g. "Curator holds it; does zkwire wait?".
 */

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

public class LockContender {
    /** Exposes the path of the node this mutex created; InterProcessMutex keeps it protected. */
    static final class Mutex extends InterProcessMutex {
        Mutex(CuratorFramework client, String path) {
            super(client, path);
        }

        String ownNode() {
            return getLockPath();
        }
    }

    /** Thrown for anything the caller got wrong, so main can exit 2 instead of 1. */
    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    private static String id = "";
    private static final Object OUT = new Object();

    public static void main(String[] args) {
        // Before Curator or ZooKeeper create their first logger: warnings only, on stderr, so stdout stays
        // pure JSON and a test's output is not buried in INFO lines.
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        int status;
        try {
            status = run(args);
        } catch (UsageException e) {
            emit(event("error").put("message", e.getMessage()));
            status = 2;
        } catch (Throwable e) {
            emit(event("error").put("message", e.toString()));
            e.printStackTrace();
            status = 1;
        }
        // Curator leaves non-daemon threads behind for a while after close(); do not wait for them.
        System.exit(status);
    }

    private static int run(String[] args) throws Exception {
        Options o = Options.parse(args);
        id = o.id;
        long started = System.nanoTime();
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(o.connect)
                .sessionTimeoutMs(o.sessionTimeoutMs)
                .connectionTimeoutMs(10_000)
                // A few quick retries for connection loss only; BadVersion is never retried by Curator.
                .retryPolicy(new RetryNTimes(3, 200))
                // The tracker would rewrite our connect string from the server's dynamic config; the test
                // gave us the exact address to use.
                .ensembleTracker(false)
                .build();
        client.start();
        try {
            if (!client.blockUntilConnected(15, TimeUnit.SECONDS)) {
                throw new IllegalStateException("could not connect to " + o.connect + " within 15 s");
            }
            ensureCounter(client, o.counterPath);
            Mutex mutex = new Mutex(client, o.lockPath);
            long sessionId = client.getZookeeperClient().getZooKeeper().getSessionId();
            emit(event("ready")
                    .put("peer", "curator")
                    .put("pid", ProcessHandle.current().pid())
                    .put("sessionId", "0x" + Long.toHexString(sessionId)));

            BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            Tally tally = new Tally();
            if (o.manual) {
                manual(client, mutex, o, stdin, tally);
            } else {
                if (o.gate) waitForGo(stdin);
                for (int n = 1; n <= o.iterations; n++) {
                    Held held = acquire(client, mutex, o, n, tally);
                    release(client, mutex, o, held, tally);
                }
            }
            emit(event("done")
                    .put("acquired", tally.acquired)
                    .put("conflicts", tally.conflicts)
                    .put("ms", (System.nanoTime() - started) / 1_000_000));
            return 0;
        } finally {
            client.close();
        }
    }

    private static void manual(CuratorFramework client, Mutex mutex, Options o, BufferedReader stdin, Tally tally)
            throws Exception {
        Held held = null;
        int n = 0;
        for (String line; (line = stdin.readLine()) != null; ) {
            String command = line.trim();
            if (command.equals("acquire")) {
                if (held != null) throw new UsageException("acquire while holding the lock");
                held = acquire(client, mutex, o, ++n, tally);
            } else if (command.equals("release")) {
                if (held == null) throw new UsageException("release without holding the lock");
                release(client, mutex, o, held, tally);
                held = null;
            } else if (command.equals("quit")) {
                break;
            } else if (!command.isEmpty()) {
                throw new UsageException("unknown command: " + command);
            }
        }
        // stdin closed or "quit" while holding: give the lock back so other contenders are not stuck until
        // our session expires.
        if (held != null) release(client, mutex, o, held, tally);
    }

    private static void waitForGo(BufferedReader stdin) throws Exception {
        for (String line; (line = stdin.readLine()) != null; ) {
            if (line.trim().equals("go")) return;
        }
        throw new IllegalStateException("stdin closed before \"go\"");
    }

    /** What an iteration learned inside the critical section, carried from acquire to release. */
    record Held(int n, String node, long value, int version) {}

    static final class Tally {
        int acquired;
        int conflicts;
    }

    private static Held acquire(CuratorFramework client, Mutex mutex, Options o, int n, Tally tally)
            throws Exception {
        if (!mutex.acquire(o.acquireTimeoutMs, TimeUnit.MILLISECONDS)) {
            throw new IllegalStateException(
                    "lock not acquired within " + o.acquireTimeoutMs + " ms (iteration " + n + ")");
        }
        tally.acquired++;
        String node = relative(o.lockPath, mutex.ownNode());
        Stat stat = new Stat();
        byte[] data = client.getData().storingStatIn(stat).forPath(o.counterPath);
        long value = parseCounter(data, o.counterPath);
        emit(event("enter")
                .put("n", n)
                .put("node", node)
                .put("seq", sequenceOf(node))
                .put("value", value)
                .put("version", stat.getVersion())
                .put("t", nowMicros()));
        return new Held(n, node, value, stat.getVersion());
    }

    private static void release(CuratorFramework client, Mutex mutex, Options o, Held held, Tally tally)
            throws Exception {
        try {
            if (o.holdMs > 0) Thread.sleep(o.holdMs);
            long next = held.value + 1;
            try {
                client.setData()
                        .withVersion(held.version)
                        .forPath(o.counterPath, Long.toString(next).getBytes(StandardCharsets.UTF_8));
            } catch (KeeperException.BadVersionException e) {
                tally.conflicts++;
                emit(event("conflict")
                        .put("n", held.n)
                        .put("value", held.value)
                        .put("version", held.version)
                        .put("t", nowMicros()));
                next = -1;
            }
            // Logged before the release, so this process's logged interval lies inside its lock tenure.
            emit(event("exit").put("n", held.n).put("node", held.node).put("value", next).put("t", nowMicros()));
        } finally {
            mutex.release();
        }
    }

    private static void ensureCounter(CuratorFramework client, String counterPath) throws Exception {
        try {
            client.create().creatingParentsIfNeeded().forPath(counterPath, "0".getBytes(StandardCharsets.UTF_8));
        } catch (KeeperException.NodeExistsException e) {
            // Another contender made it first; its value is whatever the run has counted so far.
        }
    }

    private static long parseCounter(byte[] data, String path) {
        String text = data == null ? "" : new String(data, StandardCharsets.UTF_8).trim();
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalStateException("counter " + path + " holds \"" + text + "\", not a decimal integer");
        }
    }

    private static String relative(String lockPath, String nodePath) {
        if (nodePath == null) throw new IllegalStateException("the mutex reports no lock node while held");
        String prefix = lockPath.endsWith("/") ? lockPath : lockPath + "/";
        return nodePath.startsWith(prefix) ? nodePath.substring(prefix.length()) : nodePath;
    }

    /** ZooKeeper appends the parent's cversion as %010d; a name too short to carry one yields -1. */
    private static long sequenceOf(String node) {
        if (node.length() < 10) return -1;
        try {
            return Long.parseLong(node.substring(node.length() - 10));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /** As PeerIo.micros: the monotonic clock, which every process of the machine reads alike. */
    private static long nowMicros() {
        return System.nanoTime() / 1_000L;
    }

    // --- output -----------------------------------------------------------------------------------------

    /** An ordered JSON object; values are strings, numbers or booleans, which is all the protocol uses. */
    static final class Json {
        private final Map<String, Object> fields = new LinkedHashMap<>();

        Json put(String key, Object value) {
            fields.put(key, value);
            return this;
        }

        @Override
        public String toString() {
            StringBuilder out = new StringBuilder("{");
            for (Map.Entry<String, Object> field : fields.entrySet()) {
                if (out.length() > 1) out.append(',');
                quote(out, field.getKey());
                out.append(':');
                Object value = field.getValue();
                if (value instanceof Number || value instanceof Boolean) out.append(value);
                else quote(out, String.valueOf(value));
            }
            return out.append('}').toString();
        }

        private static void quote(StringBuilder out, String text) {
            out.append('"');
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                switch (c) {
                    case '"' -> out.append("\\\"");
                    case '\\' -> out.append("\\\\");
                    case '\n' -> out.append("\\n");
                    case '\r' -> out.append("\\r");
                    case '\t' -> out.append("\\t");
                    default -> {
                        if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
                        else out.append(c);
                    }
                }
            }
            out.append('"');
        }
    }

    private static Json event(String name) {
        return new Json().put("event", name).put("id", id);
    }

    private static void emit(Json json) {
        // One writer at a time and a flush per line: the reader parses line by line as the run goes.
        synchronized (OUT) {
            System.out.println(json);
            System.out.flush();
        }
    }

    // --- arguments --------------------------------------------------------------------------------------

    static final class Options {
        String connect;
        String lockPath;
        String counterPath;
        int iterations;
        String id;
        long holdMs;
        boolean gate;
        boolean manual;
        int sessionTimeoutMs = 10_000;
        long acquireTimeoutMs = 30_000;

        static Options parse(String[] args) throws UsageException {
            Options o = new Options();
            java.util.List<String> positional = new java.util.ArrayList<>();
            for (String arg : args) {
                if (arg.equals("--gate")) o.gate = true;
                else if (arg.equals("--manual")) o.manual = true;
                else if (arg.startsWith("--session-timeout-ms=")) o.sessionTimeoutMs = (int) number(arg);
                else if (arg.startsWith("--acquire-timeout-ms=")) o.acquireTimeoutMs = number(arg);
                else if (arg.startsWith("--")) throw new UsageException("unknown option " + arg);
                else positional.add(arg);
            }
            if (positional.size() < 5 || positional.size() > 6) {
                throw new UsageException(
                        "usage: LockContender CONNECT LOCK_PATH COUNTER_PATH ITERATIONS ID [HOLD_MS]"
                                + " [--gate] [--manual] [--session-timeout-ms=N] [--acquire-timeout-ms=N]");
            }
            o.connect = positional.get(0);
            o.lockPath = positional.get(1);
            o.counterPath = positional.get(2);
            o.iterations = (int) number("ITERATIONS=" + positional.get(3));
            o.id = positional.get(4);
            LockContender.id = o.id;
            if (positional.size() == 6) o.holdMs = number("HOLD_MS=" + positional.get(5));
            if (o.counterPath.startsWith(o.lockPath.endsWith("/") ? o.lockPath : o.lockPath + "/")) {
                // Curator sorts every child of the lock path, not only lock nodes: a counter there would
                // take part in the ordering.
                throw new UsageException("the counter must not live under the lock path");
            }
            return o;
        }

        private static long number(String arg) throws UsageException {
            String text = arg.substring(arg.indexOf('=') + 1);
            try {
                long value = Long.parseLong(text);
                if (value < 0) throw new NumberFormatException();
                return value;
            } catch (NumberFormatException e) {
                throw new UsageException("not a non-negative integer: " + arg);
            }
        }
    }
}

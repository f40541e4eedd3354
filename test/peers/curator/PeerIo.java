/*
 * Shared plumbing of the Curator peer programs in this folder: logs, the client, stdin and stdout.
 * Used by CounterPeer, DiscoveryPeer, DoubleBarrierPeer, GroupMemberPeer, HolderPeer, LatchPeer,
 * QueuePeer and SelectorPeer, and by CacheBench for its logs, client and stdin (the benchmark's lines
 * carry no id; it writes them itself). LockContender has its own copy of what it needs: it must also run
 * alone under the single-file source launcher (see test/peers/peers.ts).
 *
 *   main(args, program)   warnings-only logs on stderr, run the program, exit 0; anything it throws is
 *                         printed as {"event":"error","id":ID,"message":..} (stack trace on stderr), exit 1
 *   client(...)           a started Curator client, connected; each program passes its own settings
 *                         (builder and connect: for one that sets more before start, as LatchPeer does)
 *   stdin(), waitFor(..)  the commands, one per line, UTF-8
 *   event(name), emit(..) JSON lines on stdout, {"event":NAME,"id":ID,...}, one writer at a time, flushed
 *   println(line)         a line written some other way, under the same rule
 *   micros()              microseconds of the monotonic clock (CLOCK_MONOTONIC), comparable across processes
 *
 * Times that processes compare are all of the machine's monotonic clock: System.nanoTime here,
 * time.monotonic_ns in the kazoo peers, process.hrtime in Node, all CLOCK_MONOTONIC on Linux. Not the
 * wall clock: Node's only microsecond wall clock (performance.timeOrigin + now()) is the wall clock at its
 * start plus monotonic time since, so it parts from the wall clock the JVM and Python read whenever the
 * system's clock is stepped or slewed while a test runs.
 *
 * Every program's own header comment is its protocol.
 */

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.curator.RetryPolicy;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;

final class PeerIo {
    private PeerIo() {}

    /** The program's id: every event carries it. */
    static String id = "";
    private static final Object OUT = new Object();
    private static BufferedReader stdin;

    /** A program's body, run by main. */
    interface Program {
        void run(String[] args) throws Exception;
    }

    /**
     * A program's main: quiet logs, then the program; exit 0 when it returns, 1 after an error event when it
     * throws. Curator leaves non-daemon threads behind for a while after close(); the exit does not wait.
     */
    static void main(String[] args, Program program) {
        quietLogs();
        int status = 0;
        try {
            program.run(args);
        } catch (Throwable e) {
            emit(event("error").put("message", e.toString()));
            e.printStackTrace();
            status = 1;
        }
        System.exit(status);
    }

    /** Wrong arguments: the usage line on stderr, exit 2. */
    static void usage(String text) {
        System.err.println(text);
        System.exit(2);
    }

    /** Before Curator or ZooKeeper create their first logger: warnings only, on stderr. */
    static void quietLogs() {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
    }

    /** GroupMemberPeer's, HolderPeer's and SelectorPeer's client: many quick retries. */
    static CuratorFramework client(String connect, int sessionTimeoutMs) throws InterruptedException {
        return client(connect, sessionTimeoutMs, 15_000, new RetryNTimes(100, 100));
    }

    /** A client with these settings, started, connected within 30 s. */
    static CuratorFramework client(String connect, int sessionTimeoutMs, int connectionTimeoutMs, RetryPolicy retry)
            throws InterruptedException {
        return connect(builder(connect, sessionTimeoutMs, connectionTimeoutMs, retry).build(), 30);
    }

    /** The settings every program gives, for one that adds its own before build(). */
    static CuratorFrameworkFactory.Builder builder(
            String connect, int sessionTimeoutMs, int connectionTimeoutMs, RetryPolicy retry) {
        return CuratorFrameworkFactory.builder()
                .connectString(connect)
                .sessionTimeoutMs(sessionTimeoutMs)
                .connectionTimeoutMs(connectionTimeoutMs)
                .retryPolicy(retry);
    }

    /** Starts the client and waits up to `seconds` for its first connection. */
    static CuratorFramework connect(CuratorFramework client, int seconds) throws InterruptedException {
        client.start();
        if (!client.blockUntilConnected(seconds, TimeUnit.SECONDS)) {
            String connect = client.getZookeeperClient().getCurrentConnectionString();
            throw new IllegalStateException("not connected to " + connect + " within " + seconds + " s");
        }
        return client;
    }

    /** stdin as UTF-8 lines: one reader for the whole program, so that no line is lost in another's buffer. */
    static synchronized BufferedReader stdin() {
        if (stdin == null) stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        return stdin;
    }

    /** Reads stdin up to the line `command` (trimmed); throws if stdin ends first. */
    static void waitFor(String command) throws IOException {
        for (String line; (line = stdin().readLine()) != null; ) {
            if (line.trim().equals(command)) return;
        }
        throw new IllegalStateException("stdin closed before \"" + command + "\"");
    }

    static Json event(String name) {
        return new Json().put("event", name).put("id", id);
    }

    static void emit(Json json) {
        println(json.toString());
    }

    /** One line of JSON on stdout, at once: one writer at a time and a flush per line. */
    static void println(String line) {
        synchronized (OUT) {
            System.out.println(line);
            System.out.flush();
        }
    }

    static long micros() {
        return System.nanoTime() / 1_000L;
    }

    /**
     * An ordered JSON object. Values: strings, numbers, booleans, null, maps and iterables of these; anything
     * else is written as its String.valueOf.
     */
    static final class Json {
        private final Map<String, Object> fields = new LinkedHashMap<>();

        Json put(String key, Object value) {
            fields.put(key, value);
            return this;
        }

        /** The fields in order, for a program that writes them with a serializer of its own. */
        Map<String, Object> fields() {
            return Collections.unmodifiableMap(fields);
        }

        @Override
        public String toString() {
            StringBuilder out = new StringBuilder();
            write(out, fields);
            return out.toString();
        }

        @SuppressWarnings("unchecked")
        private static void write(StringBuilder out, Object value) {
            if (value == null) {
                out.append("null");
            } else if (value instanceof Number || value instanceof Boolean) {
                out.append(value);
            } else if (value instanceof Map<?, ?> map) {
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    if (!first) out.append(',');
                    first = false;
                    quote(out, String.valueOf(e.getKey()));
                    out.append(':');
                    write(out, e.getValue());
                }
                out.append('}');
            } else if (value instanceof Iterable<?> list) {
                out.append('[');
                boolean first = true;
                for (Object item : list) {
                    if (!first) out.append(',');
                    first = false;
                    write(out, item);
                }
                out.append(']');
            } else {
                quote(out, String.valueOf(value));
            }
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
}

/*
 * A participant built on Apache Curator's LeaderLatch, for zkwire's election interoperability tests.
 *
 *   java -cp <curator classpath> LatchPeer CONNECT LATCH_PATH ID [--session-timeout-ms=N]
 *
 * stdout carries one JSON object per line, flushed per line (logs go to stderr):
 *   {"event":"ready","id":..,"pid":..,"sessionId":"0x.."}
 *   {"event":"isLeader","id":..,"t":..}        LeaderLatchListener.isLeader
 *   {"event":"notLeader","id":..,"t":..}       LeaderLatchListener.notLeader
 *   {"event":"state","id":..,"state":"SUSPENDED","t":..}   Curator's connection states
 *   {"event":"leader","id":..,"n":..,"leader":..,"participants":[..],"has":true|false}   answer to "leader"
 *   {"event":"closed","id":..,"t":..}          after "close" (CloseMode.NOTIFY_LEADER), then exit 0
 *   {"event":"error","id":..,"message":..}     then exit 1
 * "t" is wall-clock microseconds since the Unix epoch (comparable across processes on one host).
 * stdin commands: "leader" (report what Curator sees: the leader's id and every participant's, in
 * order), "close", "closeSession" (close the Curator client, not the latch: {"event":"closing","t":..}
 * first, {"event":"sessionClosed"} after, then exit 0), "quit".
 */

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.retry.RetryNTimes;

public class LatchPeer {
    private static String id = "";
    private static final Object OUT = new Object();

    public static void main(String[] args) {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        int status;
        try {
            status = run(args);
        } catch (Throwable e) {
            emit("error", "\"message\":" + quote(e.toString()));
            e.printStackTrace();
            status = 1;
        }
        System.exit(status);
    }

    private static int run(String[] args) throws Exception {
        List<String> positional = new ArrayList<>();
        int sessionTimeoutMs = 10_000;
        for (String arg : args) {
            if (arg.startsWith("--session-timeout-ms=")) sessionTimeoutMs = Integer.parseInt(arg.substring(21));
            else positional.add(arg);
        }
        if (positional.size() != 3) throw new IllegalArgumentException("usage: LatchPeer CONNECT LATCH_PATH ID");
        id = positional.get(2);
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(positional.get(0))
                .sessionTimeoutMs(sessionTimeoutMs)
                .connectionTimeoutMs(10_000)
                // Keep retrying through cuts and expiry: the test wants the participant back afterwards.
                .retryPolicy(new RetryNTimes(1_000, 200))
                .ensembleTracker(false)
                .build();
        client.getConnectionStateListenable().addListener((c, state) ->
                emit("state", "\"state\":" + quote(state.name()) + ",\"t\":" + nowMicros()));
        client.start();
        if (!client.blockUntilConnected(15, TimeUnit.SECONDS)) {
            throw new IllegalStateException("could not connect within 15 s");
        }
        LeaderLatch latch = new LeaderLatch(client, positional.get(1), id, LeaderLatch.CloseMode.NOTIFY_LEADER);
        latch.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                emit("isLeader", "\"t\":" + nowMicros());
            }

            @Override
            public void notLeader() {
                emit("notLeader", "\"t\":" + nowMicros());
            }
        });
        latch.start();
        long sessionId = client.getZookeeperClient().getZooKeeper().getSessionId();
        emit("ready", "\"pid\":" + ProcessHandle.current().pid() + ",\"sessionId\":\"0x" + Long.toHexString(sessionId) + "\"");
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        int n = 0;
        for (String line; (line = stdin.readLine()) != null; ) {
            String command = line.trim();
            if (command.equals("leader")) {
                n++;
                StringBuilder ids = new StringBuilder("[");
                for (Participant p : latch.getParticipants()) {
                    if (ids.length() > 1) ids.append(',');
                    ids.append(quote(p.getId()));
                }
                ids.append(']');
                Participant leader = latch.getLeader();
                emit("leader", "\"n\":" + n + ",\"leader\":" + quote(leader.isLeader() ? leader.getId() : null)
                        + ",\"participants\":" + ids + ",\"has\":" + latch.hasLeadership());
            } else if (command.equals("close")) {
                latch.close();
                emit("closed", "\"t\":" + nowMicros());
                client.close();
                return 0;
            } else if (command.equals("closeSession")) {
                // The session ends without the latch's own delete: its child goes with the session.
                emit("closing", "\"t\":" + nowMicros());
                client.close();
                emit("sessionClosed", "\"t\":" + nowMicros());
                return 0;
            } else if (command.equals("quit")) {
                break;
            }
        }
        client.close();
        return 0;
    }

    private static long nowMicros() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000L + now.getNano() / 1_000;
    }

    private static String quote(String s) {
        if (s == null) return "null";
        StringBuilder out = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    private static void emit(String event, String fields) {
        synchronized (OUT) {
            System.out.println("{\"event\":" + quote(event) + ",\"id\":" + quote(id) + (fields.isEmpty() ? "" : "," + fields) + "}");
            System.out.flush();
        }
    }
}

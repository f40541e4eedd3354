/*
 * A contender built on Apache Curator's LeaderSelector (autoRequeue, the id set with setId), for
 * zkwire's election interoperability tests.
 *
 *   java ... SelectorPeer CONNECT PATH COUNTER_PATH ROUNDS ID HOLD_MS [--gate] [--session-timeout-ms=N]
 *
 * Each leadership (takeLeadership): read COUNTER_PATH (a decimal integer) and its version, sleep
 * HOLD_MS, setData(value + 1) with that version. A BadVersion there means someone else wrote the
 * counter while this one led, i.e. two leaders at once: logged as a conflict, never retried. After
 * ROUNDS leaderships the selector is closed and the program ends; a leadership Curator grants after the
 * last round (autoRequeue lines up again before the close) returns at once and does nothing.
 *
 * stdout carries one JSON object per line, flushed per line (logs go to stderr):
 *   {"event":"ready","id":..,"pid":..,"sessionId":"0x.."}   connected; with --gate, waiting for "go"
 *   {"event":"isLeader","id":..,"n":..,"t":..}               takeLeadership entered (n counts from 1)
 *   {"event":"wrote","id":..,"n":..,"value":..,"participants":[..]}   the counter write succeeded;
 *                                                            participants: the line as Curator reads it
 *   {"event":"conflict","id":..,"n":..,"version":..}         the write failed with BadVersion
 *   {"event":"notLeader","id":..,"n":..,"t":..}              just before takeLeadership returns (also
 *                                                            when interrupted)
 *   {"event":"done","id":..,"leaderships":..,"conflicts":..} after ROUNDS or "quit", then exit 0
 *   {"event":"error","id":..,"message":..}                   then exit 1
 * "t" is microseconds of the monotonic clock (PeerIo.micros; comparable across processes on one host).
 * stdin commands: "go" (with --gate: start the selector), "quit" (close the selector, interrupting a
 * leadership in progress, then the client).
 */

import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;

public class SelectorPeer {
    public static void main(String[] args) {
        PeerIo.main(args, SelectorPeer::run);
    }

    private static void run(String[] args) throws Exception {
        List<String> positional = new ArrayList<>();
        boolean gate = false;
        int sessionTimeoutMs = 10_000;
        for (String arg : args) {
            if (arg.equals("--gate")) gate = true;
            else if (arg.startsWith("--session-timeout-ms=")) sessionTimeoutMs = Integer.parseInt(arg.substring(21));
            else positional.add(arg);
        }
        if (positional.size() != 6)
            throw new IllegalArgumentException("usage: SelectorPeer CONNECT PATH COUNTER_PATH ROUNDS ID HOLD_MS");
        String path = positional.get(1);
        String counter = positional.get(2);
        int rounds = Integer.parseInt(positional.get(3));
        PeerIo.id = positional.get(4);
        long holdMs = Long.parseLong(positional.get(5));

        CuratorFramework client = PeerIo.client(positional.get(0), sessionTimeoutMs);
        AtomicInteger leaderships = new AtomicInteger();
        AtomicInteger conflicts = new AtomicInteger();
        AtomicBoolean finishing = new AtomicBoolean();
        CountDownLatch finished = new CountDownLatch(1);

        LeaderSelector[] self = new LeaderSelector[1];
        LeaderSelector selector = new LeaderSelector(client, path, new LeaderSelectorListenerAdapter() {
            @Override
            public void takeLeadership(CuratorFramework c) throws Exception {
                if (finishing.get()) return;
                int n = leaderships.incrementAndGet();
                PeerIo.emit(PeerIo.event("isLeader").put("n", n).put("t", PeerIo.micros()));
                try {
                    List<String> line = new ArrayList<>();
                    for (Participant p : self[0].getParticipants()) line.add(p.getId());
                    Stat stat = new Stat();
                    byte[] data = c.getData().storingStatIn(stat).forPath(counter);
                    long value = Long.parseLong(new String(data, StandardCharsets.UTF_8).trim()) + 1;
                    Thread.sleep(holdMs);
                    try {
                        c.setData().withVersion(stat.getVersion())
                                .forPath(counter, Long.toString(value).getBytes(StandardCharsets.UTF_8));
                        PeerIo.emit(PeerIo.event("wrote").put("n", n).put("value", value).put("participants", line));
                    } catch (KeeperException.BadVersionException e) {
                        conflicts.incrementAndGet();
                        PeerIo.emit(PeerIo.event("conflict").put("n", n).put("version", stat.getVersion()));
                    }
                } finally {
                    PeerIo.emit(PeerIo.event("notLeader").put("n", n).put("t", PeerIo.micros()));
                    if (n >= rounds && finishing.compareAndSet(false, true)) finished.countDown();
                }
            }
        });
        self[0] = selector;
        selector.setId(PeerIo.id);
        selector.autoRequeue();

        long sessionId = client.getZookeeperClient().getZooKeeper().getSessionId();
        PeerIo.emit(PeerIo.event("ready")
                .put("pid", ProcessHandle.current().pid())
                .put("sessionId", "0x" + Long.toHexString(sessionId)));

        // stdin on its own thread: "quit" (or EOF) ends the run whatever the rounds.
        BufferedReader in = PeerIo.stdin();
        CountDownLatch go = new CountDownLatch(gate ? 1 : 0);
        Thread reader = new Thread(() -> {
            try {
                for (String line; (line = in.readLine()) != null; ) {
                    String command = line.trim();
                    if (command.equals("go")) go.countDown();
                    else if (command.equals("quit")) break;
                    else if (!command.isEmpty())
                        PeerIo.emit(PeerIo.event("error").put("message", "unknown command " + command));
                }
            } catch (java.io.IOException e) {
                // stdin gone: end as on "quit"
            }
            finishing.set(true);
            go.countDown();
            finished.countDown();
        }, "stdin");
        reader.setDaemon(true);
        reader.start();

        go.await();
        if (!finishing.get()) selector.start();
        finished.await();
        finishing.set(true);
        try {
            selector.close();
        } catch (IllegalStateException notStarted) {
            // "quit" before "go": the selector never started
        }
        client.close();
        PeerIo.emit(PeerIo.event("done").put("leaderships", leaderships.get()).put("conflicts", conflicts.get()));
    }
}

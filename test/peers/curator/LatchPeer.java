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
 * "t" is microseconds of the monotonic clock (PeerIo.micros; comparable across processes on one host).
 * stdin commands: "leader" (report what Curator sees: the leader's id and every participant's, in
 * order), "close", "closeSession" (close the Curator client, not the latch: {"event":"closing","t":..}
 * first, {"event":"sessionClosed"} after, then exit 0), "quit". The plumbing is PeerIo's.
 */

import java.io.BufferedReader;
import java.util.ArrayList;
import java.util.List;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.leader.Participant;
import org.apache.curator.retry.RetryNTimes;

public class LatchPeer {
    public static void main(String[] args) {
        PeerIo.main(args, LatchPeer::run);
    }

    private static void run(String[] args) throws Exception {
        List<String> positional = new ArrayList<>();
        int sessionTimeoutMs = 10_000;
        for (String arg : args) {
            if (arg.startsWith("--session-timeout-ms=")) sessionTimeoutMs = Integer.parseInt(arg.substring(21));
            else positional.add(arg);
        }
        if (positional.size() != 3) throw new IllegalArgumentException("usage: LatchPeer CONNECT LATCH_PATH ID");
        PeerIo.id = positional.get(2);
        // Keep retrying through cuts and expiry: the test wants the participant back afterwards.
        RetryNTimes retry = new RetryNTimes(1_000, 200);
        CuratorFramework client = PeerIo.builder(positional.get(0), sessionTimeoutMs, 10_000, retry)
                .ensembleTracker(false)
                .build();
        client.getConnectionStateListenable().addListener((c, state) ->
                PeerIo.emit(PeerIo.event("state").put("state", state.name()).put("t", PeerIo.micros())));
        PeerIo.connect(client, 15);
        LeaderLatch latch = new LeaderLatch(client, positional.get(1), PeerIo.id, LeaderLatch.CloseMode.NOTIFY_LEADER);
        latch.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                PeerIo.emit(PeerIo.event("isLeader").put("t", PeerIo.micros()));
            }

            @Override
            public void notLeader() {
                PeerIo.emit(PeerIo.event("notLeader").put("t", PeerIo.micros()));
            }
        });
        latch.start();
        long sessionId = client.getZookeeperClient().getZooKeeper().getSessionId();
        PeerIo.emit(PeerIo.event("ready")
                .put("pid", ProcessHandle.current().pid())
                .put("sessionId", "0x" + Long.toHexString(sessionId)));
        BufferedReader stdin = PeerIo.stdin();
        int n = 0;
        for (String line; (line = stdin.readLine()) != null; ) {
            String command = line.trim();
            if (command.equals("leader")) {
                n++;
                List<String> ids = new ArrayList<>();
                for (Participant p : latch.getParticipants()) ids.add(p.getId());
                Participant leader = latch.getLeader();
                PeerIo.emit(PeerIo.event("leader")
                        .put("n", n)
                        .put("leader", leader.isLeader() ? leader.getId() : null)
                        .put("participants", ids)
                        .put("has", latch.hasLeadership()));
            } else if (command.equals("close")) {
                latch.close();
                PeerIo.emit(PeerIo.event("closed").put("t", PeerIo.micros()));
                client.close();
                return;
            } else if (command.equals("closeSession")) {
                // The session ends without the latch's own delete: its child goes with the session.
                PeerIo.emit(PeerIo.event("closing").put("t", PeerIo.micros()));
                client.close();
                PeerIo.emit(PeerIo.event("sessionClosed").put("t", PeerIo.micros()));
                return;
            } else if (command.equals("quit")) {
                break;
            }
        }
        client.close();
    }
}

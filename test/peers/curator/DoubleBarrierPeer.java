/*
 * A Curator DistributedDoubleBarrier member for zkwire's barrier interop tests
 * (test/recipes/barrier-interop.test.ts).
 *
 *   java DoubleBarrierPeer CONNECT PATH MEMBERS ID
 *
 * Protocol: JSON lines on stdout, "t" in monotonic-clock microseconds (PeerIo.micros). {"event":"ready"} once
 * connected. On the line "enter": {"event":"entering","t":...}, enter(), {"event":"entered","t":...}; on
 * "leave": {"event":"leaving","t":...}, leave(), {"event":"left","t":...}, {"event":"done"}, exit 0.
 * {"event":"error","message":...} and exit 1 on failure (exit 2: wrong arguments). Every line carries
 * "id":ID after "event" too. The plumbing is PeerIo's.
 */
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.barriers.DistributedDoubleBarrier;
import org.apache.curator.retry.RetryNTimes;

public final class DoubleBarrierPeer {
    public static void main(String[] args) {
        PeerIo.main(args, DoubleBarrierPeer::run);
    }

    private static void run(String[] args) throws Exception {
        if (args.length != 4) PeerIo.usage("usage: DoubleBarrierPeer CONNECT PATH MEMBERS ID");
        PeerIo.id = args[3];
        CuratorFramework client = PeerIo.client(args[0], 15_000, 15_000, new RetryNTimes(3, 200));
        DistributedDoubleBarrier barrier = new DistributedDoubleBarrier(client, args[1], Integer.parseInt(args[2]));
        PeerIo.emit(PeerIo.event("ready"));
        PeerIo.waitFor("enter");
        PeerIo.emit(PeerIo.event("entering").put("t", PeerIo.micros()));
        barrier.enter();
        PeerIo.emit(PeerIo.event("entered").put("t", PeerIo.micros()));
        PeerIo.waitFor("leave");
        PeerIo.emit(PeerIo.event("leaving").put("t", PeerIo.micros()));
        barrier.leave();
        PeerIo.emit(PeerIo.event("left").put("t", PeerIo.micros()));
        PeerIo.emit(PeerIo.event("done"));
        client.close();
    }
}

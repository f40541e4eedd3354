/*
 * A Curator SimpleDistributedQueue peer for zkwire's queue interop tests (test/recipes/queue-interop.test.ts).
 *
 *   java QueuePeer produce CONNECT PATH COUNT ID PREFIX
 *       {"event":"ready"}, waits for "go" on stdin (or its end), offers COUNT items "<PREFIX><i>" (UTF-8), then
 *       {"event":"done","produced":COUNT}.
 *   java QueuePeer consume CONNECT PATH ID
 *       {"event":"ready"}, then polls (200 ms at a time) until stdin says "quit" (or closes) and the queue
 *       is empty; per item {"event":"item","data":...} and {"event":"consumed","data":...} (the item is
 *       already deleted when poll returns it), then {"event":"done","consumed":N}.
 *
 * JSON lines on stdout, exit 0 after "done"; {"event":"error","message":...} and exit 1 on failure (exit 2:
 * wrong arguments). Every line carries "id":ID after "event" too. The plumbing is PeerIo's.
 */
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.retry.RetryNTimes;

public final class QueuePeer {
    public static void main(String[] args) {
        PeerIo.main(args, QueuePeer::run);
    }

    private static void run(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "";
        boolean produce = mode.equals("produce") && args.length == 6;
        boolean consume = mode.equals("consume") && args.length == 4;
        if (!produce && !consume)
            PeerIo.usage("usage: QueuePeer produce CONNECT PATH COUNT ID PREFIX | consume CONNECT PATH ID");
        PeerIo.id = produce ? args[4] : args[3];
        CuratorFramework client = PeerIo.client(args[1], 15_000, 15_000, new RetryNTimes(3, 200));
        BufferedReader stdin = PeerIo.stdin();
        SimpleDistributedQueue queue = new SimpleDistributedQueue(client, args[2]);
        PeerIo.emit(PeerIo.event("ready"));
        if (produce) {
            int count = Integer.parseInt(args[3]);
            // Unlike PeerIo.waitFor, a stdin closed before "go" starts the run too.
            for (String line; (line = stdin.readLine()) != null && !line.trim().equals("go"); ) {}
            for (int i = 0; i < count; i++) queue.offer((args[5] + i).getBytes(StandardCharsets.UTF_8));
            PeerIo.emit(PeerIo.event("done").put("produced", count));
        } else {
            AtomicBoolean quitting = new AtomicBoolean(false);
            Thread reader = new Thread(() -> {
                try {
                    for (String line; (line = stdin.readLine()) != null; ) {
                        if (line.trim().equals("quit")) break;
                    }
                } catch (Exception ignored) {
                    // stdin gone: quit as well
                }
                quitting.set(true);
            });
            reader.setDaemon(true);
            reader.start();
            int consumed = 0;
            for (;;) {
                byte[] item = queue.poll(200, TimeUnit.MILLISECONDS);
                if (item == null) {
                    if (quitting.get()) break;
                    continue;
                }
                String data = new String(item, StandardCharsets.UTF_8);
                PeerIo.emit(PeerIo.event("item").put("data", data));
                PeerIo.emit(PeerIo.event("consumed").put("data", data));
                consumed++;
            }
            PeerIo.emit(PeerIo.event("done").put("consumed", consumed));
        }
        client.close();
    }
}

/*
 * A Curator SimpleDistributedQueue peer for zkwire's queue interop tests (test/recipes/queue-interop.test.ts).
 *
 *   java QueuePeer produce CONNECT PATH COUNT ID PREFIX
 *       {"event":"ready"}, waits for "go" on stdin, offers COUNT items "<PREFIX><i>" (UTF-8), then
 *       {"event":"done","produced":COUNT}.
 *   java QueuePeer consume CONNECT PATH ID
 *       {"event":"ready"}, then polls (200 ms at a time) until stdin says "quit" (or closes) and the queue
 *       is empty; per item {"event":"item","data":...} and {"event":"consumed","data":...} (the item is
 *       already deleted when poll returns it), then {"event":"done","consumed":N}.
 *
 * JSON lines on stdout, exit 0 after "done"; {"event":"error","message":...} and exit 1 on failure.
 */
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.queue.SimpleDistributedQueue;
import org.apache.curator.retry.RetryNTimes;

public final class QueuePeer {
    private static String id = "";

    public static void main(String[] args) throws Exception {
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        String mode = args.length > 0 ? args[0] : "";
        boolean produce = mode.equals("produce") && args.length == 6;
        boolean consume = mode.equals("consume") && args.length == 4;
        if (!produce && !consume) {
            System.err.println("usage: QueuePeer produce CONNECT PATH COUNT ID PREFIX | consume CONNECT PATH ID");
            System.exit(2);
        }
        id = produce ? args[4] : args[3];
        CuratorFramework client = CuratorFrameworkFactory.builder()
                .connectString(args[1])
                .sessionTimeoutMs(15_000)
                .connectionTimeoutMs(15_000)
                .retryPolicy(new RetryNTimes(3, 200))
                .build();
        BufferedReader stdin = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        try {
            client.start();
            client.blockUntilConnected();
            SimpleDistributedQueue queue = new SimpleDistributedQueue(client, args[2]);
            emit("{\"event\":\"ready\"}");
            if (produce) {
                int count = Integer.parseInt(args[3]);
                for (String line; (line = stdin.readLine()) != null && !line.trim().equals("go"); ) {}
                for (int i = 0; i < count; i++) queue.offer((args[5] + i).getBytes(StandardCharsets.UTF_8));
                emit("{\"event\":\"done\",\"produced\":" + count + "}");
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
                    String data = quote(new String(item, StandardCharsets.UTF_8));
                    emit("{\"event\":\"item\",\"data\":" + data + "}");
                    emit("{\"event\":\"consumed\",\"data\":" + data + "}");
                    consumed++;
                }
                emit("{\"event\":\"done\",\"consumed\":" + consumed + "}");
            }
        } catch (Exception e) {
            emit("{\"event\":\"error\",\"message\":" + quote(String.valueOf(e)) + "}");
            System.exit(1);
        } finally {
            client.close();
        }
    }

    private static String quote(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    private static void emit(String json) {
        System.out.println("{\"id\":" + quote(id) + "," + json.substring(1));
        System.out.flush();
    }
}

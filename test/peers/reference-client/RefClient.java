// An independent second client for zkwire's conformance tests: the real ZooKeeper Java client
// (org.apache.zookeeper.ZooKeeper), so that what zkwire writes is checked by code that shares nothing
// with it, and what the reference client writes is read back by zkwire.
//
// Run with the single-file source launcher and a ZooKeeper class path (the harness's resolveFromMaven):
//   java -cp <zookeeper jars> RefClient.java <connect string>
// It connects, prints {"ready":true}, then answers one line per command on stdin. Paths and data travel
// as hex of their UTF-8 bytes, so no shell, console or JVM default charset can alter them on the way in:
//   children <path hex>            -> {"ok":true,"children":["name",...]}
//   get <path hex>                 -> {"ok":true,"data":"<hex>"}
//   create <path hex> <data hex>   -> {"ok":true,"path":"<created path>"}   (persistent, open ACL)
//   (any failure)                  -> {"ok":false,"error":"<KeeperException code name or message>"}
// Output is JSON with every character outside printable ASCII written as a \\uXXXX escape (UTF-16 units,
// surrogate pairs included), so the answer is plain ASCII whatever the JVM's stdout encoding; stdout is
// also set to UTF-8 explicitly. Logging goes to stderr (slf4j-simple's default).
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.ZooDefs;
import org.apache.zookeeper.ZooKeeper;

public class RefClient {
    static String json(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') {
                b.append('\\').append(c);
            } else if (c >= 0x20 && c < 0x7f) {
                b.append(c);
            } else {
                b.append(String.format("\\u%04x", (int) c));
            }
        }
        return b.append('"').toString();
    }

    static String hex(byte[] bytes) {
        StringBuilder b = new StringBuilder();
        for (byte x : bytes) b.append(String.format("%02x", x & 0xff));
        return b.toString();
    }

    static byte[] unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    static String text(String hex) {
        return new String(unhex(hex), StandardCharsets.UTF_8);
    }

    static String run(ZooKeeper zk, String[] words) throws Exception {
        switch (words[0]) {
            case "children": {
                List<String> children = zk.getChildren(text(words[1]), false);
                StringBuilder b = new StringBuilder("{\"ok\":true,\"children\":[");
                for (int i = 0; i < children.size(); i++) {
                    if (i > 0) b.append(',');
                    b.append(json(children.get(i)));
                }
                return b.append("]}").toString();
            }
            case "get": {
                byte[] data = zk.getData(text(words[1]), false, null);
                return "{\"ok\":true,\"data\":\"" + hex(data == null ? new byte[0] : data) + "\"}";
            }
            case "create": {
                byte[] data = words.length > 2 ? unhex(words[2]) : new byte[0];
                String created = zk.create(text(words[1]), data, ZooDefs.Ids.OPEN_ACL_UNSAFE, CreateMode.PERSISTENT);
                return "{\"ok\":true,\"path\":" + json(created) + "}";
            }
            default:
                return "{\"ok\":false,\"error\":" + json("unknown command " + words[0]) + "}";
        }
    }

    public static void main(String[] args) throws Exception {
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        CountDownLatch connected = new CountDownLatch(1);
        ZooKeeper zk = new ZooKeeper(args[0], 10_000, event -> {
            if (event.getState() == Watcher.Event.KeeperState.SyncConnected) connected.countDown();
        });
        if (!connected.await(15, TimeUnit.SECONDS)) {
            out.println("{\"ready\":false,\"error\":\"no session within 15 s\"}");
            System.exit(1);
        }
        out.println("{\"ready\":true}");
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.US_ASCII));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank()) continue;
            String[] words = line.trim().split(" ");
            String answer;
            try {
                answer = run(zk, words);
            } catch (KeeperException e) {
                answer = "{\"ok\":false,\"error\":" + json(e.code().name()) + "}";
            } catch (Exception e) {
                answer = "{\"ok\":false,\"error\":" + json(String.valueOf(e)) + "}";
            }
            out.println(answer);
        }
        zk.close();
    }
}

/*
 * A Curator GroupMember, for zkwire's group-membership interop test.
 *
 *   java ... GroupMemberPeer CONNECT MEMBERSHIP_PATH ID DATA
 *
 * Joins the group (Curator's GroupMember: an ephemeral PersistentNode at MEMBERSHIP_PATH/ID, data DATA,
 * and a CuratorCache of MEMBERSHIP_PATH), then prints and reads, one JSON object / command per line:
 *   {"event":"ready","id":ID}                           joined (the node was created)
 *   stdin "members"     -> {"event":"members","id":ID,"members":{"<id>":"<data as UTF-8>",...}}
 *                          (getCurrentMembers(): the cache's view, always with this member)
 *   stdin "set <data>"  -> {"event":"set","id":ID}      after setThisData(data)
 *   stdin "quit"        -> {"event":"done","id":ID}     after close() (the node is deleted), exit 0
 *   {"event":"error","id":ID,"message":..}              then exit 1
 */

import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.nodes.GroupMember;

public class GroupMemberPeer {
    public static void main(String[] args) {
        PeerIo.main(args, GroupMemberPeer::run);
    }

    private static void run(String[] args) throws Exception {
        String connect = args[0];
        String path = args[1];
        PeerIo.id = args[2];
        byte[] data = args[3].getBytes(StandardCharsets.UTF_8);
        CuratorFramework client = PeerIo.client(connect, 10_000);
        GroupMember member = new GroupMember(client, path, PeerIo.id, data);
        member.start();
        // GroupMember has no wait of its own: wait until our node exists.
        long deadline = System.currentTimeMillis() + 30_000;
        while (client.checkExists().forPath(path + "/" + PeerIo.id) == null) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("node not created");
            Thread.sleep(20);
        }
        PeerIo.emit(PeerIo.event("ready"));
        BufferedReader in = PeerIo.stdin();
        for (String line; (line = in.readLine()) != null; ) {
            if (line.equals("members")) {
                Map<String, String> members = new TreeMap<>();
                for (Map.Entry<String, byte[]> e : member.getCurrentMembers().entrySet())
                    members.put(e.getKey(), new String(e.getValue(), StandardCharsets.UTF_8));
                PeerIo.emit(PeerIo.event("members").put("members", members));
            } else if (line.startsWith("set ")) {
                member.setThisData(line.substring(4).getBytes(StandardCharsets.UTF_8));
                PeerIo.emit(PeerIo.event("set"));
            } else if (line.equals("quit")) {
                break;
            }
        }
        member.close();
        client.close();
        PeerIo.emit(PeerIo.event("done"));
    }
}

/*
 * A Curator InterProcessSemaphoreV2 or InterProcessReadWriteLock holder, for zkwire's semaphore and
 * read-write lock interop tests. test/peers/kazoo/holder.py speaks the same protocol with kazoo.
 *
 *   java ... HolderPeer CONNECT RECIPE PATH ID
 *     RECIPE: "semaphore:<maxLeases>" | "read" | "write"
 *
 * Commands on stdin, answers on stdout (one JSON object per line; "t" = monotonic-clock microseconds, PeerIo.micros, since the
 * Unix epoch, comparable across processes of one host):
 *   (start)            -> {"event":"ready","id":ID}
 *   "acquire"          -> {"event":"acquired","id":ID,"t":..}      blocks until held
 *   "try"              -> {"event":"tried","id":ID,"got":true|false}  without waiting (held if got)
 *   "release"          -> {"event":"released","id":ID,"t":..}      t is taken just before releasing
 *   "loop N HOLD_MS"   -> N times: acquire, {"event":"acquired",..}, sleep HOLD_MS,
 *                         {"event":"released",..}, release; then {"event":"looped","id":ID}
 *   "quit"             -> releases what is held, {"event":"done","id":ID}, exit 0
 *   {"event":"error","id":ID,"message":..} then exit 1
 */

import java.io.BufferedReader;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;

public class HolderPeer {
    /** One recipe behind acquire / tryAcquire / release. */
    interface Holder {
        void acquire() throws Exception;

        boolean tryAcquire() throws Exception;

        void release() throws Exception;
    }

    public static void main(String[] args) {
        PeerIo.main(args, HolderPeer::run);
    }

    static Holder holder(CuratorFramework client, String recipe, String path) {
        if (recipe.startsWith("semaphore:")) {
            InterProcessSemaphoreV2 semaphore =
                    new InterProcessSemaphoreV2(client, path, Integer.parseInt(recipe.substring(10)));
            return new Holder() {
                Lease lease;

                public void acquire() throws Exception {
                    lease = semaphore.acquire();
                }

                public boolean tryAcquire() throws Exception {
                    lease = semaphore.acquire(0, TimeUnit.MILLISECONDS);
                    return lease != null;
                }

                public void release() throws Exception {
                    if (lease != null) semaphore.returnLease(lease);
                    lease = null;
                }
            };
        }
        InterProcessReadWriteLock rw = new InterProcessReadWriteLock(client, path);
        InterProcessMutex mutex = recipe.equals("read") ? rw.readLock() : rw.writeLock();
        return new Holder() {
            public void acquire() throws Exception {
                mutex.acquire();
            }

            public boolean tryAcquire() throws Exception {
                return mutex.acquire(0, TimeUnit.MILLISECONDS);
            }

            public void release() throws Exception {
                if (mutex.isAcquiredInThisProcess()) mutex.release();
            }
        };
    }

    private static void run(String[] args) throws Exception {
        String connect = args[0];
        String recipe = args[1];
        String path = args[2];
        PeerIo.id = args[3];
        CuratorFramework client = PeerIo.client(connect, 10_000);
        Holder holder = holder(client, recipe, path);
        PeerIo.emit(PeerIo.event("ready"));
        BufferedReader in = PeerIo.stdin();
        for (String line; (line = in.readLine()) != null; ) {
            String[] words = line.trim().split(" ");
            switch (words[0]) {
                case "acquire" -> {
                    holder.acquire();
                    PeerIo.emit(PeerIo.event("acquired").put("t", PeerIo.micros()));
                }
                case "try" -> PeerIo.emit(PeerIo.event("tried").put("got", holder.tryAcquire()));
                case "release" -> {
                    PeerIo.emit(PeerIo.event("released").put("t", PeerIo.micros()));
                    holder.release();
                }
                case "loop" -> {
                    int n = Integer.parseInt(words[1]);
                    long hold = Long.parseLong(words[2]);
                    for (int i = 0; i < n; i++) {
                        holder.acquire();
                        PeerIo.emit(PeerIo.event("acquired").put("t", PeerIo.micros()));
                        Thread.sleep(hold);
                        PeerIo.emit(PeerIo.event("released").put("t", PeerIo.micros()));
                        holder.release();
                    }
                    PeerIo.emit(PeerIo.event("looped"));
                }
                case "quit" -> {
                    holder.release();
                    client.close();
                    PeerIo.emit(PeerIo.event("done"));
                    return;
                }
                default -> PeerIo.emit(PeerIo.event("error").put("message", "unknown command " + line));
            }
        }
    }
}

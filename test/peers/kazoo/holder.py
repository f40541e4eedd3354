"""A kazoo Semaphore, ReadLock or WriteLock holder, for zkwire's semaphore and read-write lock interop
tests. It speaks the protocol of test/peers/curator/HolderPeer.java:

    python holder.py CONNECT RECIPE PATH ID       RECIPE: "semaphore:<max_leases>" | "read" | "write"

Commands on stdin: acquire, try, release, "loop N HOLD_MS", quit; answers on stdout, one JSON object per
line: ready, acquired {t}, tried {got}, released {t} (taken just before releasing), looped, done, error.
"t" is microseconds of the monotonic clock (CLOCK_MONOTONIC).
"""

import json
import logging
import sys
import time

from kazoo.client import KazooClient

holder_id = ""


def emit(event, **fields):
    line = json.dumps({"event": event, "id": holder_id, **fields}, separators=(",", ":"))
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def now_micros():
    return time.monotonic_ns() // 1000


def main(argv):
    global holder_id
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    connect, recipe, path, holder_id = argv[:4]
    client = KazooClient(hosts=connect, timeout=10.0)
    client.start(timeout=30)
    if recipe.startswith("semaphore:"):
        holder = client.Semaphore(path, holder_id, max_leases=int(recipe[len("semaphore:"):]))
    elif recipe == "read":
        holder = client.ReadLock(path, holder_id)
    else:
        holder = client.WriteLock(path, holder_id)
    held = False
    emit("ready")
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "acquire":
            holder.acquire()
            held = True
            emit("acquired", t=now_micros())
        elif words[0] == "try":
            held = bool(holder.acquire(blocking=False))
            emit("tried", got=held)
        elif words[0] == "release":
            emit("released", t=now_micros())
            holder.release()
            held = False
        elif words[0] == "loop":
            for _ in range(int(words[1])):
                holder.acquire()
                emit("acquired", t=now_micros())
                time.sleep(int(words[2]) / 1000.0)
                emit("released", t=now_micros())
                holder.release()
            emit("looped")
        elif words[0] == "quit":
            break
    if held:
        holder.release()
    client.stop()
    client.close()
    emit("done")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as error:  # noqa: BLE001 - reported on the protocol, then exit 1
        emit("error", message=repr(error))
        sys.exit(1)

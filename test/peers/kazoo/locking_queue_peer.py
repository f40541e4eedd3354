"""A kazoo LockingQueue peer for zkwire's queue interop tests (test/recipes/queue-interop.test.ts).

    python locking_queue_peer.py produce CONNECT PATH COUNT ID PREFIX
        {"event":"ready"}, waits for "go" on stdin, puts COUNT items "<PREFIX><i>", {"event":"done",...}.
    python locking_queue_peer.py consume CONNECT PATH ID [HOLD_MS]
        {"event":"ready"}, then get(timeout=0.2) in a loop until stdin says "quit" (or closes) and nothing
        is left; per item {"event":"item","data":...} once it is held, then (after HOLD_MS) consume() and
        {"event":"consumed","data":...}; finally {"event":"done","consumed":N}.

JSON lines on stdout, exit 0 after "done"; {"event":"error","message":...} and exit 1 on failure.
"""

import json
import logging
import sys
import threading
import time

from kazoo.client import KazooClient

peer_id = ""


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, "id": peer_id, **fields}) + "\n")
    sys.stdout.flush()


def main():
    global peer_id
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    args = sys.argv[1:]
    if len(args) == 6 and args[0] == "produce":
        _, connect, path, count, peer_id, prefix = args
    elif len(args) in (4, 5) and args[0] == "consume":
        connect, path, peer_id = args[1:4]
        hold = int(args[4]) if len(args) == 5 else 0
    else:
        sys.stderr.write("usage: locking_queue_peer.py produce CONNECT PATH COUNT ID PREFIX"
                         " | consume CONNECT PATH ID [HOLD_MS]\n")
        return 2
    zk = KazooClient(hosts=connect, timeout=10.0)
    try:
        zk.start(timeout=30)
        queue = zk.LockingQueue(path)
        emit("ready")
        if args[0] == "produce":
            for line in sys.stdin:
                if line.strip() == "go":
                    break
            for i in range(int(count)):
                queue.put((prefix + str(i)).encode())
            emit("done", produced=int(count))
            return 0
        quitting = threading.Event()

        def read_commands():
            for line in sys.stdin:
                if line.strip() == "quit":
                    break
            quitting.set()

        threading.Thread(target=read_commands, daemon=True).start()
        consumed = 0
        while True:
            item = queue.get(timeout=0.2)
            if item is None:
                if quitting.is_set():
                    break
                continue
            data = item.decode()
            emit("item", data=data)
            if hold > 0:
                time.sleep(hold / 1000)
            if not queue.consume():
                raise RuntimeError("lost the item " + data + " before consuming it")
            emit("consumed", data=data)
            consumed += 1
        emit("done", consumed=consumed)
        return 0
    except Exception as error:
        logging.exception("queue peer failed")
        emit("error", message=repr(error))
        return 1
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    sys.exit(main())

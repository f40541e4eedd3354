"""A kazoo DoubleBarrier member for zkwire's barrier interop tests (test/recipes/barrier-interop.test.ts).

    python double_barrier_peer.py CONNECT PATH MEMBERS ID

Protocol: JSON lines on stdout, "t" in microseconds of the monotonic clock (comparable across the
processes of one host). {"event":"ready"} once connected. Then on the line "enter" on stdin:
{"event":"entering","t":...}, DoubleBarrier.enter(), {"event":"entered","t":...}; on the line "leave":
{"event":"leaving","t":...}, leave(), {"event":"left","t":...}, {"event":"done"} and exit 0.
{"event":"error","message":...} and exit 1 on failure.
"""

import json
import logging
import sys
import time

from kazoo.client import KazooClient

peer_id = ""


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, "id": peer_id, **fields}) + "\n")
    sys.stdout.flush()


def now():
    return time.monotonic_ns() // 1000


def wait_for(command):
    for line in sys.stdin:
        if line.strip() == command:
            return
    raise RuntimeError('stdin closed before "%s"' % command)


def main():
    global peer_id
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if len(sys.argv) != 5:
        sys.stderr.write("usage: double_barrier_peer.py CONNECT PATH MEMBERS ID\n")
        return 2
    connect, path, members, peer_id = sys.argv[1:]
    zk = KazooClient(hosts=connect, timeout=15.0)
    try:
        zk.start(timeout=30)
        barrier = zk.DoubleBarrier(path, int(members))
        emit("ready")
        wait_for("enter")
        emit("entering", t=now())
        barrier.enter()
        if not barrier.participating:
            raise RuntimeError("enter() failed")
        emit("entered", t=now())
        wait_for("leave")
        emit("leaving", t=now())
        barrier.leave()
        emit("left", t=now())
        emit("done")
        return 0
    except Exception as error:
        logging.exception("barrier peer failed")
        emit("error", message=repr(error))
        return 1
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    sys.exit(main())

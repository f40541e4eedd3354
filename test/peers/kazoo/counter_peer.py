"""A kazoo counter peer for zkwire's counter interop tests (test/recipes/counters-interop.test.ts).

    python counter_peer.py CONNECT PATH ITERATIONS ID MODE

MODE "curator": kazoo's Counter(PATH, support_curator=True) (4-byte big-endian int, Curator's
SharedCount layout). MODE "ascii": kazoo's plain Counter(PATH) (repr(int) in ASCII). Each iteration is
`counter += 1`, which kazoo retries on BadVersion with the client's retry policy (unbounded here, so an
increment is never dropped silently).

Protocol: JSON lines on stdout. {"event":"ready"} once connected, then the program waits for a line "go"
on stdin, runs, prints {"event":"done","applied":N} and exits 0; {"event":"error","message":...} and
exit 1 on failure. kazoo's log goes to stderr.
"""

import json
import logging
import sys

from kazoo.client import KazooClient
from kazoo.recipe.counter import Counter

peer_id = ""


def emit(event, **fields):
    sys.stdout.write(json.dumps({"event": event, "id": peer_id, **fields}) + "\n")
    sys.stdout.flush()


def main():
    global peer_id
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    if len(sys.argv) != 6:
        sys.stderr.write("usage: counter_peer.py CONNECT PATH ITERATIONS ID MODE\n")
        return 2
    connect, path, iterations, peer_id, mode = sys.argv[1:]
    zk = KazooClient(
        hosts=connect,
        timeout=15.0,
        command_retry={"max_tries": -1, "delay": 0.005, "max_delay": 0.2},
    )
    try:
        zk.start(timeout=30)
        if mode not in ("curator", "ascii"):
            raise ValueError("unknown mode " + mode)
        counter = Counter(zk, path, support_curator=(mode == "curator"))
        counter.value  # creates the node if needed, as the first change would
        emit("ready")
        for line in sys.stdin:
            if line.strip() == "go":
                break
        else:
            raise RuntimeError('stdin closed before "go"')
        applied = 0
        for _ in range(int(iterations)):
            counter += 1
            applied += 1
        emit("done", applied=applied)
        return 0
    except Exception as error:  # reported on the protocol, then exit 1
        logging.exception("counter peer failed")
        emit("error", message=repr(error))
        return 1
    finally:
        zk.stop()
        zk.close()


if __name__ == "__main__":
    sys.exit(main())

"""A kazoo SetPartitioner member, for zkwire's partitioner interop test and partition-rebalance bench.

    python partitioner.py CONNECT PATH ID SETTLE_SECONDS ITEMS [--session-timeout-ms=N]

ITEMS is a comma-separated list. The member joins the party and follows kazoo's documented loop: in
RELEASE it calls release_set() at once, in ALLOCATING it waits for the acquisition, in FAILURE it stops.
stdout carries one JSON object per line, flushed per line; kazoo's log goes to stderr:

    {"event":"ready","id":ID,"pid":..}                           connected, partitioner created
    {"event":"state","id":ID,"state":"ACQUIRED","items":[..],"t":..}   on entering ACQUIRED
    {"event":"state","id":ID,"state":"RELEASE","items":[..],"t":..}    before release_set(); items = the
                                                                        ones still held until then
    {"event":"state","id":ID,"state":"ALLOCATING","t":..}
    {"event":"state","id":ID,"state":"FAILURE","t":..}                 then exit 0
    {"event":"error","id":ID,"message":..}                             then exit 1

"t" is microseconds of the monotonic clock (CLOCK_MONOTONIC, comparable across processes of one host). A line
"quit" on stdin calls finish() (releases the items, leaves the party), reports FAILURE and exits.
"""

import json
import logging
import os
import sys
import threading
import time

from kazoo.client import KazooClient

member_id = ""


def emit(event, **fields):
    line = json.dumps({"event": event, "id": member_id, **fields}, separators=(",", ":"))
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def now_micros():
    return time.monotonic_ns() // 1000


def main(argv):
    global member_id
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    positional = [a for a in argv if not a.startswith("--")]
    options = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    connect, path, member_id, settle, items = positional[:5]
    items = [i for i in items.split(",") if i]
    timeout_s = int(options.get("session-timeout-ms", "10000")) / 1000.0
    client = KazooClient(hosts=connect, timeout=timeout_s)
    client.start(timeout=30)
    changed = threading.Event()
    partitioner = client.SetPartitioner(
        path=path,
        set=items,
        identifier=member_id,
        time_boundary=float(settle),
        state_change_event=changed,
    )
    emit("ready", pid=os.getpid())
    quitting = threading.Event()

    def read_stdin():
        for line in sys.stdin:
            if line.strip() == "quit":
                break
        quitting.set()
        changed.set()

    threading.Thread(target=read_stdin, daemon=True).start()
    last = None
    while True:
        if quitting.is_set():
            partitioner.finish()
            emit("state", state="FAILURE", t=now_micros())
            break
        state = partitioner.state
        if state != last or state == "RELEASE":
            if state == "ACQUIRED":
                emit("state", state=state, items=sorted(partitioner), t=now_micros())
            elif state == "RELEASE":
                emit("state", state=state, items=sorted(partitioner), t=now_micros())
                partitioner.release_set()
                last = None
                continue
            else:
                emit("state", state=state, t=now_micros())
            last = state
        if state == "FAILURE":
            break
        changed.wait(0.5)
        changed.clear()
    client.stop()
    client.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as error:  # noqa: BLE001 - reported on the protocol, then exit 1
        emit("error", message=repr(error))
        sys.exit(1)

"""A contender built on kazoo's Election, for zkwire's election interoperability tests.

    python election_contender.py CONNECT ELECTION_PATH COUNTER_PATH ITERATIONS ID HOLD_MS
        [--gate] [--session-timeout-ms=N]

Each iteration: election.run(lead). While leader: read COUNTER_PATH (a decimal integer) and its
version, sleep HOLD_MS, setData(value + 1, version). A BadVersion there means someone else wrote the
counter while we led, i.e. two leaders at once: counted as a conflict, never retried.

stdout carries one JSON object per line, flushed per line:
    {"event":"ready","id":..,"pid":..,"sessionId":"0x.."}
    {"event":"enter","id":..,"n":..,"value":..,"version":..,"contenders":[..],"t":..}
    {"event":"conflict","id":..,"n":..,"t":..}
    {"event":"exit","id":..,"n":..,"value":..,"t":..}
    {"event":"retry","id":..,"message":..}   the session was lost while waiting or leading; runs again
    {"event":"done","id":..,"acquired":..,"conflicts":..}   then exit 0
    {"event":"error","id":..,"message":..}   then exit 1
"t" is microseconds of the monotonic clock (CLOCK_MONOTONIC), comparable across processes on one host.
"""

import json
import logging
import os
import sys
import time

from kazoo.client import KazooClient
from kazoo.exceptions import BadVersionError, NodeExistsError

contender_id = ""


def emit(event, **fields):
    line = json.dumps({"event": event, "id": contender_id, **fields}, separators=(",", ":"))
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def now_micros():
    return time.monotonic_ns() // 1000


def run(argv):
    global contender_id
    gate = "--gate" in argv
    session_timeout_ms = 10_000
    positional = []
    for arg in argv:
        if arg.startswith("--session-timeout-ms="):
            session_timeout_ms = int(arg.split("=", 1)[1])
        elif not arg.startswith("--"):
            positional.append(arg)
    connect, path, counter, iterations, contender_id, hold_ms = positional
    iterations, hold_ms = int(iterations), int(hold_ms)
    zk = KazooClient(hosts=connect, timeout=session_timeout_ms / 1000)
    zk.start(timeout=15)
    try:
        try:
            zk.create(counter, b"0", makepath=True)
        except NodeExistsError:
            pass
        election = zk.Election(path, contender_id)
        tally = {"acquired": 0, "conflicts": 0}
        emit("ready", peer="kazoo", pid=os.getpid(), sessionId=hex(zk.client_id[0]))
        if gate:
            for line in sys.stdin:
                if line.strip() == "go":
                    break

        def lead(n):
            data, stat = zk.get(counter)
            value = int(data.decode())
            emit("enter", n=n, value=value, version=stat.version, contenders=election.contenders(), t=now_micros())
            time.sleep(hold_ms / 1000)
            try:
                zk.set(counter, str(value + 1).encode(), version=stat.version)
                tally["acquired"] += 1
                emit("exit", n=n, value=value + 1, t=now_micros())
            except BadVersionError:
                tally["conflicts"] += 1
                emit("conflict", n=n, t=now_micros())
                emit("exit", n=n, value=-1, t=now_micros())

        n = 0
        while n < iterations:
            n += 1
            try:
                election.run(lead, n)
            except Exception as error:  # the session was lost: kazoo reconnects with a new one
                emit("retry", message="%s: %s" % (type(error).__name__, error))
                time.sleep(0.2)
        emit("done", acquired=tally["acquired"], conflicts=tally["conflicts"])
    finally:
        zk.stop()
        zk.close()


def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        run(sys.argv[1:])
        return 0
    except Exception as error:
        emit("error", message="%s: %s" % (type(error).__name__, error))
        logging.exception("contender failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())

"""A lock contender built on kazoo's Lock recipe, for zkwire's lock interoperability tests.

It speaks the protocol test/peers/curator/LockContender.java speaks too (see test/peers/peers.ts):

    python lock_contender.py CONNECT LOCK_PATH COUNTER_PATH ITERATIONS ID [HOLD_MS]
        [--gate] [--manual] [--session-timeout-ms=N] [--acquire-timeout-ms=N]
        [--extra-lock-pattern=P ...]

Each iteration: acquire the lock, read COUNTER_PATH (a decimal integer) and its version, optionally sleep
HOLD_MS, set(value + 1, version), release. A BadVersion on that set means someone wrote the counter while
we held the lock, i.e. mutual exclusion failed: it is counted as a conflict and NOT retried.

stdout carries one JSON object per line, flushed per line; kazoo's log goes to stderr. Events: ready,
enter, conflict, exit, done (exit 0), error (exit 1; 2 for bad arguments), with the same fields as the
Java contender. "t" is microseconds of the monotonic clock (CLOCK_MONOTONIC), comparable across processes of one
host.

--gate waits for a line "go" on stdin after "ready"; --manual reads "acquire" / "release" / "quit" from
stdin instead of running ITERATIONS. --extra-lock-pattern is passed to Lock(extra_lock_patterns=...),
kazoo's own switch for honouring other implementations' lock nodes (e.g. "-lock-" for Curator's).
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
    # One line per event, flushed at once: the reader parses line by line while the run goes on.
    line = json.dumps({"event": event, "id": contender_id, **fields}, separators=(",", ":"))
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def now_micros():
    return time.monotonic_ns() // 1000


class UsageError(Exception):
    pass


def non_negative(name, text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise UsageError("not a non-negative integer: %s=%s" % (name, text))
    return value


def parse(argv):
    options = {
        "hold_ms": 0,
        "gate": False,
        "manual": False,
        "session_timeout_ms": 10_000,
        "acquire_timeout_ms": 30_000,
        "extra_lock_patterns": [],
    }
    positional = []
    for arg in argv:
        if arg == "--gate":
            options["gate"] = True
        elif arg == "--manual":
            options["manual"] = True
        elif arg.startswith("--session-timeout-ms="):
            options["session_timeout_ms"] = non_negative("session-timeout-ms", arg.split("=", 1)[1])
        elif arg.startswith("--acquire-timeout-ms="):
            options["acquire_timeout_ms"] = non_negative("acquire-timeout-ms", arg.split("=", 1)[1])
        elif arg.startswith("--extra-lock-pattern="):
            options["extra_lock_patterns"].append(arg.split("=", 1)[1])
        elif arg.startswith("--"):
            raise UsageError("unknown option " + arg)
        else:
            positional.append(arg)
    if not 5 <= len(positional) <= 6:
        raise UsageError(
            "usage: lock_contender.py CONNECT LOCK_PATH COUNTER_PATH ITERATIONS ID [HOLD_MS] [--gate]"
            " [--manual] [--session-timeout-ms=N] [--acquire-timeout-ms=N] [--extra-lock-pattern=P]"
        )
    options["connect"], options["lock_path"], options["counter_path"] = positional[:3]
    options["iterations"] = non_negative("ITERATIONS", positional[3])
    options["id"] = positional[4]
    if len(positional) == 6:
        options["hold_ms"] = non_negative("HOLD_MS", positional[5])
    if options["counter_path"].startswith(options["lock_path"].rstrip("/") + "/"):
        # Not a problem for kazoo (it only looks at children matching its pattern), but it would be for
        # Curator, which sorts every child; one rule for both keeps mixed runs valid.
        raise UsageError("the counter must not live under the lock path")
    return options


def sequence_of(node):
    """ZooKeeper appends the parent's cversion as %010d; -1 if the name carries none."""
    try:
        return int(node[-10:])
    except ValueError:
        return -1


class Contender:
    def __init__(self, zk, options):
        self.zk = zk
        self.options = options
        self.lock = zk.Lock(
            options["lock_path"],
            identifier=options["id"],
            extra_lock_patterns=tuple(options["extra_lock_patterns"]),
        )
        self.acquired = 0
        self.conflicts = 0

    def acquire(self, n):
        timeout_s = self.options["acquire_timeout_ms"] / 1000
        # Depending on where the time runs out, Lock.acquire raises LockTimeout or returns False.
        if not self.lock.acquire(timeout=timeout_s):
            raise RuntimeError(
                "lock not acquired within %d ms (iteration %d)"
                % (self.options["acquire_timeout_ms"], n)
            )
        self.acquired += 1
        node = self.lock.node
        raw, stat = self.zk.get(self.options["counter_path"])
        text = (raw or b"").decode("utf-8").strip()
        try:
            value = int(text)
        except ValueError:
            raise RuntimeError(
                "counter %s holds %r, not a decimal integer" % (self.options["counter_path"], text)
            )
        emit(
            "enter",
            n=n,
            node=node,
            seq=sequence_of(node),
            value=value,
            version=stat.version,
            t=now_micros(),
        )
        return {"n": n, "node": node, "value": value, "version": stat.version}

    def release(self, held):
        try:
            if self.options["hold_ms"] > 0:
                time.sleep(self.options["hold_ms"] / 1000)
            written = held["value"] + 1
            try:
                self.zk.set(
                    self.options["counter_path"],
                    str(written).encode("utf-8"),
                    version=held["version"],
                )
            except BadVersionError:
                self.conflicts += 1
                emit(
                    "conflict",
                    n=held["n"],
                    value=held["value"],
                    version=held["version"],
                    t=now_micros(),
                )
                written = -1
            # Logged before the release, so the logged interval lies inside this process's tenure.
            emit("exit", n=held["n"], node=held["node"], value=written, t=now_micros())
        finally:
            self.lock.release()


def wait_for_go():
    for line in sys.stdin:
        if line.strip() == "go":
            return
    raise RuntimeError('stdin closed before "go"')


def manual(contender):
    held = None
    n = 0
    for line in sys.stdin:
        command = line.strip()
        if command == "acquire":
            if held is not None:
                raise UsageError("acquire while holding the lock")
            n += 1
            held = contender.acquire(n)
        elif command == "release":
            if held is None:
                raise UsageError("release without holding the lock")
            contender.release(held)
            held = None
        elif command == "quit":
            break
        elif command:
            raise UsageError("unknown command: " + command)
    # stdin closed or "quit" while holding: give the lock back rather than make others wait for our
    # session to expire.
    if held is not None:
        contender.release(held)


def ensure_counter(zk, path):
    parent = path.rsplit("/", 1)[0]
    if parent:
        zk.ensure_path(parent)
    try:
        zk.create(path, b"0")
    except NodeExistsError:
        pass  # another contender made it first


def run(argv):
    global contender_id
    options = parse(argv)
    contender_id = options["id"]
    started = time.monotonic()
    zk = KazooClient(
        hosts=options["connect"],
        timeout=options["session_timeout_ms"] / 1000,
        # A few quick retries for connection loss only; BadVersion is never retried by kazoo.
        connection_retry={"max_tries": 3, "delay": 0.2},
    )
    zk.start(timeout=15)
    try:
        ensure_counter(zk, options["counter_path"])
        contender = Contender(zk, options)
        emit("ready", peer="kazoo", pid=os.getpid(), sessionId=hex(zk.client_id[0]))
        if options["manual"]:
            manual(contender)
        else:
            if options["gate"]:
                wait_for_go()
            for n in range(1, options["iterations"] + 1):
                contender.release(contender.acquire(n))
        emit(
            "done",
            acquired=contender.acquired,
            conflicts=contender.conflicts,
            ms=int((time.monotonic() - started) * 1000),
        )
    finally:
        zk.stop()
        zk.close()


def main():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:
        run(sys.argv[1:])
        return 0
    except UsageError as error:
        emit("error", message=str(error))
        return 2
    except Exception as error:  # the protocol promises an error event for any failure
        emit("error", message="%s: %s" % (type(error).__name__, error))
        logging.exception("contender failed")
        return 1


if __name__ == "__main__":
    sys.exit(main())

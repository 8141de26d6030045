#!/usr/bin/python3
"""A consumer group of N processes reading the evlog log (README "Consumer groups").

    examples/consumer.py [--members N] [--group NAME] [options]

Starts N member processes (consumer-1 .. consumer-N) that share the group:
each polls its share of the partitions, prints every event it handles, and
acknowledges each batch once it is handled. A member that is killed (try
`kill -9` on one) is started again by this supervisor under the same name;
meanwhile nothing is lost: what it was given and did not acknowledge is given
again, to it or to the member that takes its partitions.

Every call is one statement in autocommit mode, so it also works through a
transaction-pooling pgbouncer. Connection settings come from the usual
libpq variables (PGHOST, PGPORT, PGDATABASE, PGUSER) or --dsn; for the demo
instance: `. /tmp/evlog-demo/address` (make demo-consumer does it).

Needs Debian's python3-psycopg (psycopg 3).
"""
import argparse
import os
import signal
import subprocess
import sys
import time

import psycopg


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dsn", default="", help="libpq connection string (default: PG* variables)")
    p.add_argument("--group", default="demo-consumers", help="consumer group name")
    p.add_argument("--members", type=int, default=3, help="member processes to run")
    p.add_argument("--member", help="run one member of this name (used by the supervisor)")
    p.add_argument("--create", action="store_true",
                   help="create the group (from the start of the log) if it does not exist")
    p.add_argument("--types", help="comma-separated event types, for --create")
    p.add_argument("--prefix", help="stream prefix, for --create")
    p.add_argument("--partitions", type=int, default=16, help="partitions, for --create")
    p.add_argument("--lease", default="10 seconds", help="lease, for --create")
    p.add_argument("--batch", type=int, default=100, help="events per poll (and per ack)")
    p.add_argument("--timeout", default="5 seconds", help="long-poll timeout")
    p.add_argument("--exit-when-idle", action="store_true",
                   help="leave and exit after a poll that waited and found nothing, once the group has no lag")
    p.add_argument("--log", help="append what is handled to this file instead of stdout")
    p.add_argument("--slow-ms", type=float, default=0, help="pretend each event takes this long")
    p.add_argument("--quiet", action="store_true", help="print a line per batch, not per event")
    p.add_argument("--linger-ms", type=float, default=0,
                   help="after a batch smaller than --batch, wait this long before polling again:"
                        " fewer, larger batches and fewer wake-ups in the server, for up to this"
                        " much more latency; keep it well below the group's lease"
                        " (README \"Long poll\")")
    return p.parse_args()


def connect(dsn):
    # autocommit: every call is its own transaction (pgbouncer transaction
    # pooling); no server-side prepared statements either
    conn = psycopg.connect(dsn, autocommit=True)
    conn.prepare_threshold = None
    return conn


def create_group(args):
    with connect(args.dsn) as conn:
        exists = conn.execute(
            "SELECT 1 FROM evlog.consumer_groups WHERE group_name = %s", (args.group,)).fetchone()
        if exists:
            return
        types = args.types.split(",") if args.types else None
        try:
            conn.execute(
                "SELECT evlog_create_consumer_group(%s, %s, %s, %s, 0, %s::interval)",
                (args.group, types, args.prefix, args.partitions, args.lease))
            print(f"created consumer group {args.group} ({args.partitions} partitions)", flush=True)
        except psycopg.errors.DuplicateObject:
            pass


def run_member(args):
    """One member: poll, handle, ack the batch; until stopped (or idle)."""
    out = open(args.log, "a", buffering=1) if args.log else sys.stdout
    name = args.member
    stopping = False

    def stop(signum, frame):
        nonlocal stopping
        stopping = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    conn = connect(args.dsn)
    # (re)join: what an earlier process of this name was given and did not
    # acknowledge is given again
    conn.execute("SELECT count(*) FROM evlog_poll(%s, %s, 0)", (args.group, name))
    last = 0
    while not stopping:
        rows = conn.execute(
            "SELECT seq, stream, stream_version, type, \"partition\""
            " FROM evlog_poll(%s, %s, %s, %s::interval)",
            (args.group, name, args.batch, args.timeout)).fetchall()
        if not rows:
            # nothing new: commit what the poll passed over, so lag reaches 0
            try:
                conn.execute("SELECT evlog_ack(%s, %s, %s)", (args.group, name, last))
            except psycopg.errors.lookup("EV006"):
                pass
            if args.exit_when_idle:
                # idle: this poll waited and found nothing, and the group has
                # nothing left (another member's partitions may still come
                # to us, when its lease runs out)
                lag = conn.execute("SELECT lag_events FROM evlog.consumer_groups WHERE group_name = %s",
                                   (args.group,)).fetchone()
                if lag is None or lag[0] <= 0:
                    break
            continue
        for seq, stream, version, etype, part in rows:
            if args.slow_ms:
                time.sleep(args.slow_ms / 1000)
            if not args.quiet:
                print(f"HANDLE {name} {seq} {stream} {version} {etype} p{part}", file=out)
        top = rows[-1][0]
        try:
            n = conn.execute("SELECT evlog_ack(%s, %s, %s)", (args.group, name, top)).fetchone()[0]
            last = max(last, top)
            # the time is the monotonic clock's, in seconds
            print(f"ACK {name} {top} {n} {time.monotonic():.3f}", file=out)
        except psycopg.errors.lookup("EV006") as e:
            # fenced: our partitions moved; what we handled will be given again
            print(f"FENCED {name} {e.diag.message_primary}", file=out)
        if args.linger_ms and len(rows) < args.batch:
            # a linger: the next poll comes later and gathers more; between
            # polls this process holds no transaction, and no connection
            # through a transaction-pooling pgbouncer
            until = time.monotonic() + args.linger_ms / 1000
            while not stopping and time.monotonic() < until:
                time.sleep(max(0, min(until - time.monotonic(), 0.1)))
    conn.execute("SELECT evlog_leave(%s, %s)", (args.group, name))
    print(f"LEFT {name}", file=out)
    conn.close()


def supervise(args):
    """Start --members processes; start again any that dies of a signal."""
    if args.create:
        create_group(args)
    me = [sys.executable, os.path.abspath(__file__)]
    passthrough = ["--dsn", args.dsn, "--group", args.group, "--batch", str(args.batch),
                   "--timeout", args.timeout, "--slow-ms", str(args.slow_ms),
                   "--linger-ms", str(args.linger_ms)]
    if args.exit_when_idle:
        passthrough.append("--exit-when-idle")
    if args.quiet:
        passthrough.append("--quiet")
    if args.log:
        passthrough += ["--log", args.log]
    procs = {}
    for i in range(1, args.members + 1):
        name = f"consumer-{i}"
        procs[name] = subprocess.Popen(me + passthrough + ["--member", name])
    print(f"{args.members} members of {args.group} running: "
          + ", ".join(f"{n} (pid {p.pid})" for n, p in procs.items()), flush=True)

    def stop(signum, frame):
        for p in procs.values():
            if p.poll() is None:
                p.terminate()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while procs:
        time.sleep(0.2)
        for name, p in list(procs.items()):
            rc = p.poll()
            if rc is None:
                continue
            if rc < 0 and -rc == signal.SIGKILL:
                print(f"{name} was killed; starting it again", flush=True)
                procs[name] = subprocess.Popen(me + passthrough + ["--member", name])
            else:
                del procs[name]


def main():
    args = parse_args()
    if args.member:
        run_member(args)
    else:
        supervise(args)


if __name__ == "__main__":
    main()

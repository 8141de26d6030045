#!/usr/bin/env bash
# Workloads 9-11 of make bench: consumer groups (README "Consumer groups").
#   9   delivery throughput: 4 members draining CONSUMER_EVENTS events (poll
#       1000, ack each batch, each member a session of its own), against one
#       session reading the same events with evlog_read, 1000 at a time.
#       Both sides are timed inside their sessions: the members from the
#       moment all four are connected (each waits for the others) to the end
#       of the last; the reader from its first read to its last.  Timed from
#       outside, four psql processes and backends starting at once on two
#       cores took 0.15-0.25 s of a 0.65 s drain of 200000 events, which is
#       connection setup, not delivery.
#   10  latency at 1000 appends/s for LAG_SECONDS: sequencing (recorded_at,
#       before the commit's flush) to the return of a member's long poll
#   11  appends per second (1 client) with 8 members long-polling the log,
#       against none: each run with members between one without before and
#       one after, the median of the ratios to their mean
#   11b the same with 8 members of a group that no append matches: what the
#       wake-ups cost the appender, without the members' handling of events
#   11c the same with 8 sessions LISTENing on evlog (0.1.0's way to follow
#       the log: evlog.notify is on in all of 11-11d), for comparison
#   11d the same as 11 with members that pause LINGER_MS after each batch
#       that gave events: what a consumer-side linger buys the appender
#   The members of 10 and 11 acknowledge each batch with synchronous_commit
#   off (an ack lost in a crash only means events given again): with it on,
#   every append would be followed by an ack's WAL flush, measuring the
#   consumers' flushes rather than the long poll.
#   usage: bench/consumer.sh [WORKDIR]   with PGHOST, PGPORT set (from
#   bench/run.sh), or alone: starts a throwaway instance of its own
#   CONSUMER_EVENTS  events of workload 9 (default 200000; QUICK=1: 20000)
#   LAG_SECONDS      duration of workload 10 (default 30; QUICK=1: 5)
#   BENCH_SECONDS    seconds per side of workload 11 (default 10; QUICK=1: 3)
#   LINGER_MS        the pause of workload 11d's members (default 50)
#   ROUNDS           rounds of workloads 9 and 11, in alternation, median (default 3; QUICK=1: 1)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ "${QUICK:-0}" = 1 ]; then
  CONSUMER_EVENTS=${CONSUMER_EVENTS:-20000} LAG_SECONDS=${LAG_SECONDS:-5}
  BENCH_SECONDS=${BENCH_SECONDS:-3} ROUNDS=${ROUNDS:-1}
fi
N=${CONSUMER_EVENTS:-200000}
LAG_SECONDS=${LAG_SECONDS:-30}
SECONDS_PER=${BENCH_SECONDS:-10}
LINGER_MS=${LINGER_MS:-50}
ROUNDS=${ROUNDS:-3}

if [ -z "${1:-}" ]; then
  . "$SRC/test/instance.sh"
  WORK=$(make_workdir evlog-bench-consumer)
  PORT=$((58000 + RANDOM % 1000))
  trap 'instance_stop "$WORK"; rm -rf "$WORK"' EXIT
  instance_start "$WORK" "$PORT" yes "fsync = on
synchronous_commit = on
shared_buffers = '512MB'
max_connections = 50"
  export PGHOST="$WORK/sock" PGPORT="$PORT"
fi

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

psql -q -X -d postgres -c "CREATE DATABASE consumers" >/dev/null
psql -q -X -d consumers -c "CREATE EXTENSION evlog" -c "SET evlog.notify = off" \
  -c "SELECT evlog_append_batch(ARRAY(SELECT ROW('acct-' || i % 1000, 'money.moved', jsonb_build_object('i', i), '{}', NULL, NULL, 1)::evlog.new_event
        FROM generate_series(1, $N) i))" >/dev/null

# drain_member ROUND MEMBER: as MEMBER of group drainROUND, wait until the 4
# members are connected, then poll 1000, ack, until the group has no lag (a poll that
# gives nothing acks too, committing what it looked at); records when it
# started and ended in drain_times
drain_member() {
  psql -q -X -d consumers -v ON_ERROR_STOP=1 -c "DO \$\$
DECLARE n bigint; top bigint; t0 timestamptz;
BEGIN
  INSERT INTO drain_times VALUES ($1, '$2', NULL, NULL);
  COMMIT;
  WHILE (SELECT count(*) FROM drain_times WHERE round = $1) < 4 LOOP
    PERFORM pg_sleep(0.002);
  END LOOP;
  t0 := clock_timestamp();
  LOOP
    SELECT count(*), max(seq) INTO n, top FROM evlog_poll('drain$1', '$2', 1000, '10 ms');
    PERFORM evlog_ack('drain$1', '$2', coalesce(top, 0));
    COMMIT;
    -- only an empty poll asks whether the group is done (planning the view's
    -- query at every batch cost the members more than their polls)
    IF n = 0 THEN
      EXIT WHEN (SELECT lag_events FROM evlog.consumer_groups WHERE group_name = 'drain$1') = 0;
    END IF;
  END LOOP;
  UPDATE drain_times SET started = t0, ended = clock_timestamp() WHERE round = $1 AND member = '$2';
END \$\$" >/dev/null
}
# read_all ROUND: evlog_read 1000 at a time to the head, timed in drain_times
read_all() {
  psql -q -X -d consumers -v ON_ERROR_STOP=1 -c "DO \$\$
DECLARE n bigint; top bigint := 0; t0 timestamptz := clock_timestamp();
BEGIN
  LOOP
    SELECT count(*), coalesce(max(seq), top) INTO n, top FROM evlog_read(top, 1000);
    EXIT WHEN n = 0;
    COMMIT;
  END LOOP;
  INSERT INTO drain_times VALUES (-$1, 'reader', t0, clock_timestamp());
END \$\$" >/dev/null
}
# rate ROUND: events per second over the span of ROUND's rows in drain_times
rate() {
  psql -X -At -d consumers -c "SELECT round($N / extract(epoch FROM max(ended) - min(started)))
                                 FROM drain_times WHERE round = $1"
}

psql -q -X -d consumers -c "CREATE UNLOGGED TABLE drain_times (round int, member text, started timestamptz, ended timestamptz)"
e=() b=()
for r in $(seq "$ROUNDS"); do
  read_all "$r"
  b+=("$(rate "-$r")")
  psql -q -X -d consumers -c "SELECT evlog_create_consumer_group('drain$r', partitions => 16, start_after => 0)" >/dev/null
  # the members join first, so that the partitions are spread before draining
  for m in 1 2 3 4; do psql -q -X -d consumers -c "SELECT count(*) FROM evlog_poll('drain$r', 'm$m', 0)" >/dev/null; done
  for m in 1 2 3 4; do drain_member "$r" "m$m" & done
  wait
  lag=$(psql -X -At -d consumers -c "SELECT lag_events FROM evlog.consumer_groups WHERE group_name = 'drain$r'")
  [ "$lag" = 0 ] || { echo "workload 9: group drain$r has lag $lag after draining" >&2; exit 1; }
  e+=("$(rate "$r")")
done
em=$(median "${e[@]}"); bm=$(median "${b[@]}")
printf '| 9 | consumer group delivery: 4 members draining %s events (poll 1000, ack each batch), against evlog_read of the same events by one session | %s events/s | %s events/s | %.2f | ≥ 0.50 |\n' \
  "$N" "$em" "$bm" "$(awk -v e="$em" -v b="$bm" 'BEGIN { print e / b }')"

# Workload 10: latency from sequencing to a long poll's return at 1000 appends/s
psql -q -X -d consumers -c "CREATE UNLOGGED TABLE poll_latency (seq bigint, ms double precision)" \
  -c "SELECT evlog_create_consumer_group('latency', partitions => 4)" >/dev/null
PGOPTIONS="-c synchronous_commit=off" psql -q -X -d consumers -v ON_ERROR_STOP=1 -c "DO \$\$
DECLARE n bigint; top bigint; idle int := 0;
BEGIN
  LOOP
    WITH d AS (SELECT seq, 1000 * extract(epoch FROM clock_timestamp() - recorded_at) AS ms
                 FROM evlog_poll('latency', 'p', 1000, '1 second')),
         i AS (INSERT INTO poll_latency SELECT * FROM d RETURNING seq)
    SELECT count(*), max(seq) INTO n, top FROM i;
    IF n = 0 THEN idle := idle + 1; ELSE idle := 0; PERFORM evlog_ack('latency', 'p', top); END IF;
    COMMIT;
    EXIT WHEN idle >= 3;
  END LOOP;
END \$\$" >/dev/null &
poller=$!
sleep 1
pgbench -n -M prepared -R 1000 -T "$LAG_SECONDS" -c 4 -j 2 -f "$SRC/bench/append_evlog.pgbench" consumers >/dev/null 2>&1
wait "$poller"
read -r p50 p99 nlat < <(psql -X -At -F ' ' -d consumers -c "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1), count(*) FROM poll_latency")
printf '| 10 | consumer group latency at 1000 appends/s for %s s (%s events): sequenced (before the commit'"'"'s flush) to a long poll'"'"'s return, p50 %s ms | p99 %s ms | — | — | p99 ≤ 20 ms |\n' \
  "$LAG_SECONDS" "$nlat" "$p50" "$p99"

# Workloads 11 and 11b: appends per second with 8 members long-polling,
# against none; in 11 the members are given every append, in 11b they
# belong to a group whose stream prefix no append has, so that only the
# wake-ups are left (each commit still wakes one waiting poll, the herald,
# which reads the new events and finds nothing for anyone)
psql -q -X -d consumers -c "SELECT evlog_create_consumer_group('watchers', partitions => 16)" \
  -c "SELECT evlog_create_consumer_group('idlers', stream_prefix => 'nomatch/', partitions => 16)" >/dev/null
# watch_member GROUP MEMBER [PAUSE_MS]: poll GROUP as MEMBER (1000, long
# poll of 1 s), acknowledge each batch, and after a batch that gave events
# pause PAUSE_MS (default 0) before the next poll, until a session named
# watchers_stop exists
watch_member() {
  PGOPTIONS="-c synchronous_commit=off" psql -q -X -d consumers -c "DO \$\$
DECLARE n bigint; top bigint;
BEGIN
  LOOP
    SELECT count(*), max(seq) INTO n, top FROM evlog_poll('$1', '$2', 1000, '1 second');
    IF n > 0 THEN PERFORM evlog_ack('$1', '$2', top); END IF;
    COMMIT;
    IF n > 0 AND ${3:-0} > 0 THEN PERFORM pg_sleep(${3:-0} / 1000.0); COMMIT; END IF;
    -- only a poll that timed out asks whether to stop (reading
    -- pg_stat_activity after every event cost the members 5% of their CPU)
    IF n = 0 THEN
      EXIT WHEN EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'watchers_stop');
    END IF;
  END LOOP;
END \$\$" >/dev/null 2>&1
}
tps() {
  pgbench -n -M prepared -T "$SECONDS_PER" -c 1 -j 1 -f "$SRC/bench/append_evlog.pgbench" consumers 2>/dev/null |
    awk '/^tps = / { printf "%.0f\n", $3 }'
}
# listen_member: a session that LISTENs on evlog and takes every
# notification (psycopg's notifies()), until killed
listen_member() {
  exec /usr/bin/python3 -c '
import psycopg
conn = psycopg.connect(dbname="consumers", autocommit=True)
conn.execute("LISTEN evlog")
for _ in conn.notifies():
    pass
' >/dev/null 2>&1
}
# paired GROUP [PAUSE_MS]: ROUNDS runs with 8 members of GROUP (listen: 8
# listening sessions), pausing PAUSE_MS after each batch that gave events,
# each between two runs without; sets e (tps with), b (tps
# without) and q (each run's ratio to the mean of the runs either side of
# it).  The speed of this machine's WAL flushes drifts by half within a
# minute, which a ratio of medians over separate runs does not cancel.
paired() {
  e=() b=("$(tps)") q=()
  for r in $(seq "$ROUNDS"); do
    pids=()
    for m in 1 2 3 4 5 6 7 8; do
      if [ "$1" = listen ]; then listen_member & else watch_member "$1" "w$m" "${2:-0}" & fi
      pids+=($!)
    done
    sleep 1
    # the 8 listeners must be there (they LISTEN once connected): up to 10 s
    if [ "$1" = listen ]; then
      listening=0
      for _ in $(seq 100); do
        listening=$(psql -X -At -d consumers -c "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN evlog'")
        [ "$listening" = 8 ] && break
        sleep 0.1
      done
      [ "$listening" = 8 ] ||
        { echo "workload 11c: $listening of the 8 listening sessions are there" >&2; psql -X -d consumers -c "SELECT pid, state, query FROM pg_stat_activity" >&2; exit 1; }
    fi
    e+=("$(tps)")
    if [ "$1" = listen ]; then
      kill "${pids[@]}" 2>/dev/null || true
      wait "${pids[@]}" || true
    else
      PGAPPNAME=watchers_stop psql -X -q -d consumers -c "SELECT pg_sleep(2)" >/dev/null
      wait "${pids[@]}"
    fi
    b+=("$(tps)")
    q+=("$(awk -v e="${e[-1]}" -v b1="${b[-2]}" -v b2="${b[-1]}" 'BEGIN { printf "%.3f", 2 * e / (b1 + b2) }')")
  done
}
paired watchers
printf '| 11 | evlog_append, 1 client, with 8 consumer group members long-polling the log (acks with synchronous_commit off), against none before and after (median of %s such ratios: %s) | %s tps | %s tps | %.2f | ≥ 0.95 |\n' \
  "$ROUNDS" "${q[*]}" "$(median "${e[@]}")" "$(median "${b[@]}")" "$(median "${q[@]}")"
paired idlers
printf '| 11b | the same, the 8 members in a group that no append matches (stream_prefix nomatch/): the wake-ups alone (median of %s such ratios: %s) | %s tps | %s tps | %.2f | — |\n' \
  "$ROUNDS" "${q[*]}" "$(median "${e[@]}")" "$(median "${b[@]}")" "$(median "${q[@]}")"
paired listen
printf '| 11c | the same with 8 sessions LISTENing on evlog instead (evlog.notify on, as in 11 and 11b: PostgreSQL signals every listener at every commit), against none (median of %s such ratios: %s) | %s tps | %s tps | %.2f | — |\n' \
  "$ROUNDS" "${q[*]}" "$(median "${e[@]}")" "$(median "${b[@]}")" "$(median "${q[@]}")"
# 11d: the members of 11 (a group of their own, created now, so that it
# has no backlog from 11b and 11c) pause LINGER_MS after each batch
psql -q -X -d consumers -c "SELECT evlog_create_consumer_group('lingerers', partitions => 16)" >/dev/null
paired lingerers "$LINGER_MS"
printf '| 11d | the same as 11 with members that pause %s ms after each batch that gave events (a consumer-side linger: fewer, larger batches, up to %s ms later; median of %s such ratios: %s) | %s tps | %s tps | %.2f | — |\n' \
  "$LINGER_MS" "$LINGER_MS" "$ROUNDS" "${q[*]}" "$(median "${e[@]}")" "$(median "${b[@]}")" "$(median "${q[@]}")"

#!/usr/bin/env bash
# Workload 13 of make bench: a follower's apply rate and lag. 16 clients append
# on a primary (bench/append_evlog.pgbench) for FOLLOWER_SECONDS while a
# follower, a second instance subscribed to the primary's log, applies
# them. A sampler on the follower records its head and the head's
# recorded_at every 50 ms. Reported: the follower's apply rate (events over
# the time from its first applied event to its last) as a ratio to the
# primary's append rate (events over the time from the first recorded_at to
# the last), and the follower's lag while the primary appends (sample time
# minus the recorded_at of the follower's head: an upper bound, by at most
# the time between two appends), p50 and p99.
#   usage: bench/follower.sh WORKDIR   (evlog installed; starts and stops its
#          own two instances under WORKDIR)
#   FOLLOWER_SECONDS  seconds of appending (default 30; QUICK=1: 10)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/test/instance.sh"
WORK=$1/follower
T=${FOLLOWER_SECONDS:-30}
if [ "${QUICK:-0}" = 1 ]; then T=${FOLLOWER_SECONDS:-10}; fi
PORT_P=$((58000 + RANDOM % 1000))
PORT_F=$((PORT_P + 1000))
as_pg mkdir -p "$WORK"
stop_both() { instance_stop "$WORK/p"; instance_stop "$WORK/f"; }
trap stop_both EXIT

instance_start "$WORK/p" "$PORT_P" yes "fsync = on
synchronous_commit = on
wal_level = logical
max_connections = 50"
instance_start "$WORK/f" "$PORT_F" yes "fsync = on
synchronous_commit = on"
P=(-h "$WORK/p/sock" -p "$PORT_P")
F=(-h "$WORK/f/sock" -p "$PORT_F")

psql "${P[@]}" -q -X -d postgres -c "CREATE EXTENSION evlog" \
  -c "CREATE PUBLICATION evlog_pub FOR TABLE evlog.events" >/dev/null
PGOPTIONS="-c client_min_messages=warning" psql "${F[@]}" -q -X -d postgres -c "CREATE EXTENSION evlog" \
  -c "CREATE TABLE samples (at timestamptz, head bigint, head_recorded_at timestamptz)" \
  -c "CREATE SUBSCRIPTION evlog_sub CONNECTION 'host=$WORK/p/sock port=$PORT_P dbname=postgres user=postgres' PUBLICATION evlog_pub" >/dev/null
for _ in $(seq 600); do
  [ "$(psql "${F[@]}" -X -At -d postgres -c "SELECT sync_state FROM evlog.follower_status")" = ready ] && break
  sleep 0.1
done

# the sampler: every 50 ms for the appending time and up to 30 s more, until
# the follower's head has not moved for a second after the primary stopped
psql "${F[@]}" -q -X -d postgres -c "DO \$\$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '$T s' + interval '30 s';
  still int := 0;
  last bigint := -1;
  h record;
BEGIN
  WHILE clock_timestamp() < deadline AND still < 20 LOOP
    SELECT head, head_recorded_at INTO h FROM evlog.follower_status;
    INSERT INTO samples VALUES (clock_timestamp(), h.head, h.head_recorded_at);
    COMMIT;
    IF h.head = last AND h.head > 0 AND clock_timestamp() > h.head_recorded_at + interval '1 s' THEN
      still := still + 1;
    ELSE
      still := 0;
    END IF;
    last := h.head;
    PERFORM pg_sleep(0.05);
  END LOOP;
END \$\$" &
sampler=$!

pgbench "${P[@]}" -n -M prepared -T "$T" -c 16 -j 2 -f "$SRC/bench/append_evlog.pgbench" postgres >/dev/null 2>&1
wait "$sampler"

read -r n append_rate < <(psql "${P[@]}" -X -At -F ' ' -d postgres -c "
  SELECT count(*), count(*) / extract(epoch FROM max(recorded_at) - min(recorded_at)) FROM evlog.events")
read -r fhead apply_rate p50 p99 < <(psql "${F[@]}" -X -At -F ' ' -d postgres -c "
  WITH first AS (SELECT min(at) AS at FROM samples WHERE head > 0),
       done AS (SELECT min(at) AS at, min(head) AS head FROM samples WHERE head = (SELECT max(head) FROM samples)),
       lag AS (SELECT extract(epoch FROM s.at - s.head_recorded_at) AS l
               FROM samples s, (SELECT min(recorded_at) AS a, max(recorded_at) AS b FROM evlog.events) r
               WHERE s.at BETWEEN r.a AND r.b AND s.head > 0)
  SELECT done.head, (done.head - 1) / extract(epoch FROM done.at - first.at),
         (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY l) FROM lag),
         (SELECT percentile_cont(0.99) WITHIN GROUP (ORDER BY l) FROM lag)
  FROM first, done")
[ "$fhead" = "$n" ] || echo "follower.sh: the follower's head is $fhead, the primary's $n" >&2
printf '| 13 | follower apply: 16 clients append on the primary for %s s (%s events), a follower instance applies them (bench/follower.sh); apply rate against append rate | %.0f events/s | %.0f events/s | %.2f | ≥ 1.0 |\n' \
  "$T" "$n" "$apply_rate" "$append_rate" "$(awk -v a="$apply_rate" -v b="$append_rate" 'BEGIN { print a / b }')"
printf '| 13b | the follower'"'"'s lag while the primary appends (sampled every 50 ms: sample time minus recorded_at of its head), p50 %.0f ms | p99 %.0f ms | — | — | p99 ≤ 1 s |\n' \
  "$(awk -v x="$p50" 'BEGIN { print x * 1000 }')" "$(awk -v x="$p99" 'BEGIN { print x * 1000 }')"

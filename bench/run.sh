#!/usr/bin/env bash
# make bench: evlog against plain PostgreSQL, side by side in one run, on a
# throwaway instance (fsync and synchronous_commit on, as in production).
# Prints a markdown table of ratios (evlog / baseline); each workload runs
# its two sides in alternation, ROUNDS times, and keeps the median.
#   QUICK=1        a run of under 2 minutes, for a first look: 1 round of 3 s,
#                  FOLD_EVENTS 20000, LAG_SECONDS 5, BULK_EVENTS 20000,
#                  RSS_EVENTS 50000, RESTORE_EVENTS 10000, CONSUMER_EVENTS
#                  10000, VERSION_EVENTS 10000, FOLLOWER_SECONDS 5 (each still
#                  set by its own variable); rougher ratios than the defaults.
#                  The last line gives the run's wall time.
#   BENCH_SECONDS  seconds per side and round (default 10)
#   ROUNDS         rounds (default 3)
#   FOLD_EVENTS    events of workload 4 (default 200000)
#   LAG_SECONDS    duration of workload 6 (default 30)
#   BULK_EVENTS    events of workload 3 (default 100000)
#   RSS_EVENTS     events of workload 7 (default 1000000)
#   RESTORE_EVENTS events of workload 8 (default 100000)
set -euo pipefail

# exported: scripts this one runs read them too
if [ "${QUICK:-0}" = 1 ]; then
  export BENCH_SECONDS=${BENCH_SECONDS:-3} ROUNDS=${ROUNDS:-1} FOLD_EVENTS=${FOLD_EVENTS:-20000} \
    LAG_SECONDS=${LAG_SECONDS:-5} BULK_EVENTS=${BULK_EVENTS:-20000} RSS_EVENTS=${RSS_EVENTS:-50000} \
    RESTORE_EVENTS=${RESTORE_EVENTS:-10000} CONSUMER_EVENTS=${CONSUMER_EVENTS:-10000} \
    VERSION_EVENTS=${VERSION_EVENTS:-10000} FOLLOWER_SECONDS=${FOLLOWER_SECONDS:-5}
fi

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/test/instance.sh"
SECONDS_PER=${BENCH_SECONDS:-10}
ROUNDS=${ROUNDS:-3}
WORK=$(make_workdir evlog-bench)
PORT=$((56000 + RANDOM % 2000))
trap 'instance_stop "$WORK"; rm -rf "$WORK"' EXIT

instance_start "$WORK" "$PORT" yes "fsync = on
synchronous_commit = on
shared_buffers = '512MB'
max_connections = 50
max_worker_processes = 32"
export PGHOST="$WORK/sock" PGPORT="$PORT"
psql -q -X -d postgres -c "CREATE DATABASE bench" >/dev/null
psql -q -X -d bench -c "CREATE EXTENSION evlog" -f "$SRC/bench/plain_setup.sql" >/dev/null
# workload 1c in a database of its own, so that workloads 1 and 2 run without contracts
psql -q -X -d postgres -c "CREATE DATABASE contracts" >/dev/null
psql -q -X -d contracts -c "CREATE EXTENSION evlog" -f "$SRC/bench/plain_setup.sql" -f "$SRC/bench/contract_setup.sql" >/dev/null

# tps SCRIPT CLIENTS [DATABASE]: transactions per second of one pgbench run
tps() {
  pgbench -n -M prepared -T "$SECONDS_PER" -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -f "$SRC/bench/$1" "${3:-bench}" 2>/dev/null |
    awk '/^tps = / { printf "%.0f\n", $3 }'
}

# drop_db NAME...: drop the databases of a finished workload, so that their
# evlog workers give their background-worker slots back (each database with
# evlog takes one; README "Worker slots")
drop_db() {
  local d
  for d in "$@"; do psql -q -X -d postgres -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null; done
}

# median of the arguments
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "instance: PostgreSQL $(psql -X -Atc 'SHOW server_version' -d bench), fsync on, synchronous_commit on, shared_buffers 512MB"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB; ${ROUNDS} rounds of ${SECONDS_PER} s per side, median"
if [ "${QUICK:-0}" = 1 ]; then echo "QUICK=1: fewer and shorter rounds, smaller workloads; rougher ratios"; fi
echo
echo "| # | workload | evlog | baseline | ratio | target |"
echo "|---|---|---|---|---|---|"
row() { # num name clients target [evlog script] [baseline script] [database]
  local e=() b=()
  for _ in $(seq "$ROUNDS"); do
    b+=("$(tps "${6:-append_plain.pgbench}" "$3" "${7:-bench}")")
    e+=("$(tps "${5:-append_evlog.pgbench}" "$3" "${7:-bench}")")
  done
  local em bm
  em=$(median "${e[@]}"); bm=$(median "${b[@]}")
  printf '| %s | %s | %s tps | %s tps | %.2f | %s |\n' "$1" "$2" "$em" "$bm" \
    "$(awk -v e="$em" -v b="$bm" 'BEGIN { print e / b }')" "$4"
}
row 1 "evlog_append, 1 event per transaction, 1 client" 1 "≥ 0.90"
row 2 "same, 16 clients, 1000 streams" 16 "≥ 0.60"
PGOPTIONS="-c evlog.group_commit=on" row 2g "same, 16 clients, with evlog.group_commit = on (flush after the sequencer is released)" 16 "≥ 0.60"
row 1c "evlog_append with a jsonpath contract on the type, against evlog_append without, 1 client" 1 "≥ 0.90" \
  append_evlog_checked.pgbench append_evlog.pgbench contracts
drop_db bench contracts

# Workload 4: the worker's fold rate against a plain SQL loop, in a fresh database
FOLD_EVENTS=${FOLD_EVENTS:-200000}
psql -q -X -d postgres -c "CREATE DATABASE fold" >/dev/null
psql -q -X -d fold -c "CREATE EXTENSION evlog" -f "$SRC/bench/fold_setup.sql" >/dev/null
psql -q -X -At -d fold -v n="$FOLD_EVENTS" -f "$SRC/bench/fold_run.sql" > "$WORK/fold.out"
read -r fe fb differ < <(grep -E '^[0-9.]+ [0-9.]+ [0-9]+$' "$WORK/fold.out")
read -r _ re rn rdiffer < <(grep -E '^rebuild ' "$WORK/fold.out")
printf '| 4 | async fold of %s events by the worker, handler = one upsert (read models differ: %s rows) | %.0f events/s | %.0f events/s | %.2f | ≥ 0.80 |\n' \
  "$FOLD_EVENTS" "$differ" "$(awk -v n="$FOLD_EVENTS" -v t="$fe" 'BEGIN { print n / t }')" \
  "$(awk -v n="$FOLD_EVENTS" -v t="$fb" 'BEGIN { print n / t }')" "$(awk -v e="$fe" -v b="$fb" 'BEGIN { print b / e }')"

printf '| 5 | evlog_rebuild of that projection (%s events replayed; differ: %s rows) | %.0f events/s | %.0f events/s | %.2f | ≥ 0.80 |\n' \
  "$rn" "$rdiffer" "$(awk -v n="$rn" -v t="$re" 'BEGIN { print n / t }')" \
  "$(awk -v n="$FOLD_EVENTS" -v t="$fb" 'BEGIN { print n / t }')" \
  "$(awk -v n="$rn" -v t="$re" -v m="$FOLD_EVENTS" -v b="$fb" 'BEGIN { print (n / t) / (m / b) }')"
drop_db fold

# Workload 6: end-to-end lag at a steady rate, recorded_at to visible in the read model
LAG_SECONDS=${LAG_SECONDS:-30}
psql -q -X -d postgres -c "CREATE DATABASE lag" >/dev/null
psql -q -X -d lag -c "CREATE EXTENSION evlog" -f "$SRC/bench/fold_setup.sql" \
  -c "SELECT evlog_register_projection('probe', 'fold_probe(evlog.events)', '{lag_probe}')" >/dev/null
pgbench -n -M prepared -R 1000 -T "$LAG_SECONDS" -c 4 -j 2 -f "$SRC/bench/append_evlog.pgbench" lag >/dev/null 2>&1
psql -q -X -d lag -c "SELECT evlog_wait('probe', evlog_head(), '60 s')" >/dev/null
read -r p50 p99 nlag < <(psql -X -At -F ' ' -d lag -c "SELECT round(1000 * percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM folded_at - recorded_at))::numeric, 1),
  round(1000 * percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM folded_at - recorded_at))::numeric, 1), count(*) FROM lag_probe")
printf '| 6 | end-to-end lag at 1000 appends/s for %s s (%s events): sequenced to folded, p50 %s ms | p99 %s ms | — | — | p99 ≤ 20 ms |\n' \
  "$LAG_SECONDS" "$nlag" "$p50" "$p99"
drop_db lag

# Workload 3: bulk append of BULK_EVENTS in one call and through COPY, against
# INSERT ... SELECT and COPY into the plain table (fresh database), ROUNDS
# rounds in alternation, median seconds
BULK_EVENTS=${BULK_EVENTS:-100000}
psql -q -X -d postgres -c "CREATE DATABASE bulk" >/dev/null
psql -q -X -d bulk -c "CREATE EXTENSION evlog" -f "$SRC/bench/plain_setup.sql" >/dev/null
# seconds SQL: wall time of one psql -c
seconds() {
  local t0 t1
  t0=$(date +%s.%N)
  psql -q -X -d bulk -c "$1" >/dev/null
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
n=$BULK_EVENTS
# each round appends a fresh set of n events on each side, so every round
# sees new streams and keys, and the table grows by the same amount on both
bp=() be=() cp=() ce=()
for r in $(seq "$ROUNDS"); do
  psql -q -X -d bulk -c "\\copy (SELECT 'copy-plain-$r-' || i % 1000, i, 'bench.bulk', jsonb_build_object('i', i), 'copy-plain-$r-' || i FROM generate_series(1, $n) i) TO '$WORK/plain.csv' CSV"
  psql -q -X -d bulk -c "\\copy (SELECT 'copy-evlog-$r-' || i % 1000, 'bench.bulk', jsonb_build_object('i', i), 'copy-evlog-$r-' || i FROM generate_series(1, $n) i) TO '$WORK/evlog.csv' CSV"
  bp+=("$(seconds "INSERT INTO plain_events (stream, stream_version, type, payload, idempotency_key)
    SELECT 'bulk-plain-$r-' || i % 1000, i, 'bench.bulk', jsonb_build_object('i', i), 'bulk-plain-$r-' || i FROM generate_series(1, $n) i")")
  be+=("$(seconds "SELECT cardinality(evlog_append_batch(ARRAY(
    SELECT ROW('bulk-evlog-$r-' || i % 1000, 'bench.bulk', jsonb_build_object('i', i), '{}', 'bulk-evlog-$r-' || i, NULL, 1)::evlog.new_event
    FROM generate_series(1, $n) i)))")")
  cp+=("$(seconds "\\copy plain_events (stream, stream_version, type, payload, idempotency_key) FROM '$WORK/plain.csv' CSV")")
  ce+=("$(seconds "\\copy evlog.append_queue (stream, type, payload, idempotency_key) FROM '$WORK/evlog.csv' CSV")")
done
bp=$(median "${bp[@]}"); be=$(median "${be[@]}"); cp=$(median "${cp[@]}"); ce=$(median "${ce[@]}")
printf '| 3a | bulk append of %s events in one evlog_append_batch call, against INSERT ... SELECT | %.0f events/s | %.0f events/s | %.2f | ≥ 0.80 |\n' \
  "$n" "$(awk -v n="$n" -v t="$be" 'BEGIN { print n / t }')" "$(awk -v n="$n" -v t="$bp" 'BEGIN { print n / t }')" \
  "$(awk -v e="$be" -v b="$bp" 'BEGIN { print b / e }')"
printf '| 3b | the same through COPY into evlog.append_queue, against COPY into the plain table | %.0f events/s | %.0f events/s | %.2f | ≥ 0.80 |\n' \
  "$(awk -v n="$n" -v t="$ce" 'BEGIN { print n / t }')" "$(awk -v n="$n" -v t="$cp" 'BEGIN { print n / t }')" \
  "$(awk -v e="$ce" -v b="$cp" 'BEGIN { print b / e }')"
drop_db bulk

# Workload 7: the worker's private resident memory (RssAnon: its heap, not the
# shared buffers it touches) while it folds RSS_EVENTS events
RSS_EVENTS=${RSS_EVENTS:-1000000}
psql -q -X -d postgres -c "CREATE DATABASE rss" >/dev/null
psql -q -X -d rss -c "CREATE EXTENSION evlog" -f "$SRC/bench/fold_setup.sql" \
  -c "SELECT evlog_register_projection('balances', 'fold_balance(evlog.events)', '{balances}')" >/dev/null
rss_kb() { awk '/^RssAnon:/ { print $2 }' "/proc/$1/status"; }
step=$(( RSS_EVENTS / 10 ))
pid=""
rss_first=""
for k in $(seq 1 10); do
  psql -q -X -d rss -c "SELECT cardinality(evlog_append_batch(ARRAY(
    SELECT ROW('acct-' || i % 1000, 'money.moved', jsonb_build_object('i', i), '{}', NULL, NULL, 1)::evlog.new_event
    FROM generate_series(1, $step) i)))" >/dev/null
  psql -q -X -At -d rss -c "SELECT evlog_wait('balances', evlog_head(), '30 minutes')" >/dev/null
  [ -n "$pid" ] || pid=$(psql -X -At -d rss -c "SELECT evlog.worker_pid()")
  [ -n "$rss_first" ] || rss_first=$(rss_kb "$pid")
done
rss_last=$(rss_kb "$pid")
printf '| 7 | worker RSS (private) over %s folded events: %.1f MB after the first %s, %.1f MB at the end | growth %.1f MB | — | — | growth < 10 MB |\n' \
  "$RSS_EVENTS" "$(awk -v k="$rss_first" 'BEGIN { print k / 1024 }')" "$step" \
  "$(awk -v k="$rss_last" 'BEGIN { print k / 1024 }')" "$(awk -v a="$rss_first" -v b="$rss_last" 'BEGIN { print (b - a) / 1024 }')"
drop_db rss

# Workload 8: pg_restore of a busy log against a plain table's (bench/restore.sh)
bash "$SRC/bench/restore.sh" "$WORK"
drop_db restore_log restore_plain restored_log restored_plain restored_plain_data
# Workloads 9-11d: consumer groups (bench/consumer.sh)
bash "$SRC/bench/consumer.sh" "$WORK"
drop_db consumers
bash "$SRC/bench/versions.sh" "$WORK"   # workload 12: projection versions and snapshots
drop_db versions
# Workload 13: a follower's apply rate and lag (bench/follower.sh)
bash "$SRC/bench/follower.sh" "$WORK"
echo
echo "wall time: $SECONDS s"

#!/usr/bin/env bash
# make bench: evlog against plain PostgreSQL, side by side in one run, on a
# throwaway instance (fsync and synchronous_commit on, as in production).
# Prints a markdown table of ratios (evlog / baseline); each workload runs
# its two sides in alternation, ROUNDS times, and keeps the median.
#   BENCH_SECONDS  seconds per side and round (default 10)
#   ROUNDS         rounds (default 3)
#   FOLD_EVENTS    events of workload 4 (default 200000)
#   LAG_SECONDS    duration of workload 6 (default 30)
set -euo pipefail

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
max_connections = 50"
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

# median of the arguments
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "instance: PostgreSQL $(psql -X -Atc 'SHOW server_version' -d bench), fsync on, synchronous_commit on, shared_buffers 512MB"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB; ${ROUNDS} rounds of ${SECONDS_PER} s per side, median"
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
row 1c "evlog_append with a jsonpath contract on the type, against evlog_append without, 1 client" 1 "≥ 0.90" \
  append_evlog_checked.pgbench append_evlog.pgbench contracts

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

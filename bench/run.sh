#!/usr/bin/env bash
# make bench: evlog against plain PostgreSQL, side by side in one run, on a
# throwaway instance (fsync and synchronous_commit on, as in production).
# Prints a markdown table of ratios (evlog / baseline); each workload runs
# its two sides in alternation, ROUNDS times, and keeps the median.
#   BENCH_SECONDS  seconds per side and round (default 10)
#   ROUNDS         rounds (default 3)
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

# tps SCRIPT CLIENTS: transactions per second of one pgbench run
tps() {
  pgbench -n -M prepared -T "$SECONDS_PER" -c "$2" -j "$(( $2 < 2 ? 1 : 2 ))" -f "$SRC/bench/$1" bench 2>/dev/null |
    awk '/^tps = / { printf "%.0f\n", $3 }'
}

# median of the arguments
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "instance: PostgreSQL $(psql -X -Atc 'SHOW server_version' -d bench), fsync on, synchronous_commit on, shared_buffers 512MB"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ { print $2 }') GiB; ${ROUNDS} rounds of ${SECONDS_PER} s per side, median"
echo
echo "| # | workload | evlog | baseline | ratio | target |"
echo "|---|---|---|---|---|---|"
row() { # num name clients target
  local e=() b=()
  for _ in $(seq "$ROUNDS"); do
    b+=("$(tps append_plain.pgbench "$3")")
    e+=("$(tps append_evlog.pgbench "$3")")
  done
  local em bm
  em=$(median "${e[@]}"); bm=$(median "${b[@]}")
  printf '| %s | %s | %s tps | %s tps | %.2f | %s |\n' "$1" "$2" "$em" "$bm" \
    "$(awk -v e="$em" -v b="$bm" 'BEGIN { print e / b }')" "$4"
}
row 1 "evlog_append, 1 event per transaction, 1 client" 1 "≥ 0.90"
row 2 "same, 16 clients, 1000 streams" 16 "≥ 0.60"

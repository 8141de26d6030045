#!/usr/bin/env bash
# make bench-instructions BASE=REV: CPU instructions per append, this
# checkout against git revision REV (e.g. 256b086, the last commit of 0.1.0),
# counted by valgrind's callgrind, so that a change's cost on the append path
# can be told apart from a shared machine's noise (the wall-clock ratios of
# make bench move by 10-30 % with the load; these counts move by < 0.1 %).
#
# Each build is installed into a private copy of PostgreSQL under WORK (the
# system's installation is not touched). For each, a throwaway instance
# (fsync off: the commit's flush is not CPU) gets evlog and the plain table
# of bench/plain_setup.sql; then a single-user backend runs N statements
# under callgrind, for N = 300 and N = 1300, and the difference divided by
# 1000 is the cost of one statement without the backend's start-up. Rows:
# evlog_append (workload 1's statement), the same with a jsonpath contract
# on the type (workload 1c), workload 1's plain INSERT, which the
# extension does not touch and so shows how steady the counts are, and
# workload 3a's two statements with 10 events each (per statement).
#   usage: bench/instructions.sh REV   (root or the postgres user)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
BASE=${1:?usage: bench/instructions.sh REV (a git revision to compare against)}
. "$SRC/test/instance.sh"
command -v valgrind >/dev/null || bash "$SRC/test/deps.sh"
WORK=$(make_workdir evlog-instructions)
trap 'rm -rf "$WORK"; git -C "$SRC" worktree remove --force "$WORK/base-src" 2>/dev/null || true' EXIT

# private_pg DIR: a relocatable copy of the system's PostgreSQL 15 under DIR
private_pg() {
  mkdir -p "$1/usr/lib/postgresql" "$1/usr/share/postgresql" "$1/usr/include"
  cp -a /usr/lib/postgresql/15 "$1/usr/lib/postgresql/"
  cp -a /usr/share/postgresql/15 "$1/usr/share/postgresql/"
  ln -sfn /usr/include/postgresql "$1/usr/include/postgresql"
  rm -f "$1"/usr/share/postgresql/15/extension/evlog*
}

# build NAME SRCDIR: build and install SRCDIR's evlog into WORK/NAME's PostgreSQL
build() {
  local pgc="$WORK/$1/usr/lib/postgresql/15/bin/pg_config"
  private_pg "$WORK/$1"
  make -s -C "$2" PG_CONFIG="$pgc" >/dev/null 2>"$WORK/$1.build.log" ||
    { cat "$WORK/$1.build.log"; exit 1; }
  make -s -C "$2" PG_CONFIG="$pgc" install >/dev/null
}

# statements KIND N: N statements of workload KIND, one per line
statements() {
  local payload='{"amount": 42, "note": "a benchmark event"}'
  for _ in $(seq "$2"); do
    case $1 in
    append) echo "SELECT evlog_append('stream-' || (random() * 1000)::int, 'bench.appended', '$payload', '{}', gen_random_uuid()::text);" ;;
    contract) echo "SELECT evlog_append('stream-' || (random() * 1000)::int, 'bench.checked', '$payload', '{}', gen_random_uuid()::text);" ;;
    plain) echo "INSERT INTO plain_events (stream, stream_version, type, payload, idempotency_key) VALUES ('stream-' || (random() * 1000)::int, nextval('plain_stream_version'), 'bench.appended', '$payload', gen_random_uuid()::text);" ;;
    batch) echo "SELECT cardinality(evlog_append_batch(ARRAY(SELECT ROW('bulk-' || (random() * 1000)::int, 'bench.bulk', jsonb_build_object('i', i), '{}', gen_random_uuid()::text, NULL, 1)::evlog.new_event FROM generate_series(1, 10) i)));" ;;
    plainbatch) echo "INSERT INTO plain_events (stream, stream_version, type, payload, idempotency_key) SELECT 'bulk-' || (random() * 1000)::int, nextval('plain_stream_version'), 'bench.bulk', jsonb_build_object('i', i), gen_random_uuid()::text FROM generate_series(1, 10) i;" ;;
    esac
  done
}

# measure NAME: prints "KIND instructions-per-statement" for each kind
measure() {
  local bin="$WORK/$1/usr/lib/postgresql/15/bin" d="$WORK/$1-instance" port=$((59000 + RANDOM % 900))
  PG_CONFIG="$bin/pg_config" PG_BINDIR="$bin" instance_start "$d" "$port" yes "fsync = off" >/dev/null
  "$bin/psql" -h "$d/sock" -p "$port" -q -X -d postgres -c "CREATE DATABASE b" >/dev/null
  "$bin/psql" -h "$d/sock" -p "$port" -q -X -d b -c "CREATE EXTENSION evlog" \
    -f "$SRC/bench/plain_setup.sql" -f "$SRC/bench/contract_setup.sql" >/dev/null
  PG_BINDIR="$bin" instance_stop "$d"
  local kind n count
  for kind in append contract plain batch plainbatch; do
    for n in 300 1300; do
      statements "$kind" "$n" >"$WORK/$1.$kind.$n.sql"
      chmod a+r "$WORK/$1.$kind.$n.sql"
      as_pg valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin/postgres" --single \
        -D "$d/data" -c shared_preload_libraries=evlog -c fsync=off b \
        <"$WORK/$1.$kind.$n.sql" >/dev/null 2>"$WORK/$1.$kind.$n.log"
      count=$(awk '/Collected :/ { print $4 }' "$WORK/$1.$kind.$n.log")
      echo "$kind $n $count"
    done
  done | awk '{ c[$1, $2] = $3; k[$1] = 1 } END { for (x in k) printf "%s %.0f\n", x, (c[x, 1300] - c[x, 300]) / 1000 }'
}

git -C "$SRC" worktree add --detach -q "$WORK/base-src" "$BASE"
build base "$WORK/base-src"
build head "$SRC"
measure base | sort >"$WORK/base.counts"
measure head | sort >"$WORK/head.counts"

echo "CPU instructions per statement (callgrind, single-user backend, fsync off), $(git -C "$SRC" rev-parse --short HEAD) against $(git -C "$SRC" rev-parse --short "$BASE")"
echo
echo "| statement | $(git -C "$SRC" rev-parse --short "$BASE") | this checkout | ratio |"
echo "|---|---|---|---|"
join "$WORK/base.counts" "$WORK/head.counts" | while read -r kind b h; do
  case $kind in
  append) what="evlog_append (workload 1)" ;;
  contract) what="evlog_append with a jsonpath contract (workload 1c)" ;;
  plain) what="plain INSERT (workload 1's baseline; evlog not involved)" ;;
  batch) what="evlog_append_batch of 10 events (workload 3a's statement, smaller)" ;;
  plainbatch) what="INSERT ... SELECT of 10 rows (workload 3a's baseline; evlog not involved)" ;;
  esac
  printf '| %s | %s | %s | %.3f |\n' "$what" "$b" "$h" "$(awk -v b="$b" -v h="$h" 'BEGIN { print h / b }')"
done

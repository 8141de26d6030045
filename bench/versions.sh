#!/usr/bin/env bash
# Workload 12 of make bench: projection versions and snapshots (README
# "Projection versions and snapshots"), on a log of VERSION_EVENTS events in
# a database of its own, handler = one upsert (bench/fold_setup.sql).
#   12a  the worker building a new version (registered with replaces) from
#       seq 0, against the worker catching up a new ordinary projection from
#       seq 0: events per second, ROUNDS rounds in alternation, median
#   12b  evlog_rebuild(from_snapshot => true) from a snapshot taken at 90 %
#       of the log, against a full evlog_rebuild: seconds, median, each
#       the statement's time with its commit as psql's \timing sees it in
#       the session (not the start of psql and of its connection: Debian's
#       psql is a Perl wrapper, and the two together cost 0.05-0.3 s on a
#       shared machine, which at QUICK size was most of the snapshot side)
#   12c  evlog_append (1 client, BENCH_SECONDS) while a version of a
#       projection builds, against the same run without it
#   usage: bench/versions.sh WORKDIR   (PGHOST, PGPORT set; evlog installed
#          and preloaded)
#   VERSION_EVENTS  events (default 200000; 50000 with QUICK=1)
#   ROUNDS          rounds (default 3)
#   BENCH_SECONDS   seconds of each append run (default 10)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$1
if [ "${QUICK:-0}" = 1 ]; then N=${VERSION_EVENTS:-50000}; else N=${VERSION_EVENTS:-200000}; fi
ROUNDS=${ROUNDS:-3}
SECS=${BENCH_SECONDS:-10}

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
q() { psql -q -X -At -v ON_ERROR_STOP=1 -d versions "$@"; }

psql -q -X -d postgres -c "CREATE DATABASE versions" >/dev/null
q -c "CREATE EXTENSION evlog" -f "$SRC/bench/fold_setup.sql" >/dev/null
q -c "CREATE TABLE balances_v2 (LIKE balances INCLUDING ALL)" \
  -c "CREATE FUNCTION fold_balance_v2(e evlog.events) RETURNS void LANGUAGE sql AS \$\$
        INSERT INTO balances_v2 VALUES (e.stream, 1, e.seq)
        ON CONFLICT (stream) DO UPDATE SET n = balances_v2.n + 1, last_seq = excluded.last_seq \$\$" >/dev/null
# 90 % of the log, the snapshot's part; the last 10 % is appended after it
append() {
  q -c "INSERT INTO evlog.append_queue (stream, type, payload)
          SELECT 'acct-' || i % 1000, 'money.moved', jsonb_build_object('i', i)
          FROM generate_series(1, $1) i" >/dev/null
}
append $(( N * 9 / 10 ))

# seconds_to_head NAME: wall time until projection NAME, just registered, is at the head
seconds_to_head() {
  local t0=$1
  q -c "SELECT evlog_wait('$2', evlog_head(), '1 hour')" >/dev/null
  awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }'
}

# 12b first: the snapshot at 90 % of the log
q -c "SELECT evlog_register_projection('acct', 'fold_balance(evlog.events)', '{balances}')" >/dev/null
q -c "SELECT evlog_wait('acct', evlog_head(), '1 hour')" >/dev/null
snap=$(q -c "SELECT evlog_snapshot('acct')")
append $(( N - N * 9 / 10 ))
q -c "SELECT evlog_wait('acct', evlog_head(), '1 hour')" >/dev/null
# rebuild ARGS: "EVENTS SECONDS" of one evlog_rebuild('acct' ARGS), timed in the session
rebuild() {
  q -c "SET client_min_messages = warning" -c '\timing on' -c "SELECT evlog_rebuild('acct'$1)" |
    awk '/^Time: / { t = $2 / 1000 } /^[0-9]+$/ { n = $1 } END { print n, t }'
}
full=() part=()
for _ in $(seq "$ROUNDS"); do
  read -r _ t < <(rebuild ""); full+=("$t")
  read -r tail t < <(rebuild ", from_snapshot => true"); part+=("$t")
done
differ=$(q -c "SELECT count(*) FROM evlog_verify('acct')")

# 12a: an ordinary projection caught up from seq 0, against a version built from seq 0
# (in alternating order: even rounds build the version first, against the
# projection of the round before)
cu=() vb=()
catch_up() {
  q -c "SELECT evlog_unregister_projection('acct')" -c "TRUNCATE balances" >/dev/null
  t0=$(now); q -c "SELECT evlog_register_projection('acct', 'fold_balance(evlog.events)', '{balances}')" >/dev/null
  cu+=("$(seconds_to_head "$t0" acct)")
}
version_build() {
  q -c "TRUNCATE balances_v2" >/dev/null
  t0=$(now); q -c "SELECT evlog_register_projection('acct_v2', 'fold_balance_v2(evlog.events)', '{balances_v2}', replaces => 'acct')" >/dev/null
  vb+=("$(seconds_to_head "$t0" acct_v2)")
  q -c "SELECT evlog_unregister_projection('acct_v2')" >/dev/null
}
for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then catch_up; version_build; else version_build; catch_up; fi
done
vdiffer=$(q -c "SELECT count(*) FROM ((TABLE balances EXCEPT TABLE balances_v2) UNION ALL (TABLE balances_v2 EXCEPT TABLE balances)) d")
head=$(q -c "SELECT evlog_head()")

# 12c: appends alone, then appends while a version builds from seq 0
tps() {
  pgbench -n -M prepared -T "$SECS" -c 1 -f "$SRC/bench/append_evlog.pgbench" versions 2>/dev/null |
    awk '/^tps = / { printf "%.0f\n", $3 }'
}
alone=() building=() lagging=()
for _ in $(seq "$ROUNDS"); do
  alone+=("$(tps)")
  q -c "TRUNCATE balances_v2" \
    -c "SELECT evlog_register_projection('acct_v2', 'fold_balance_v2(evlog.events)', '{balances_v2}', replaces => 'acct')" >/dev/null
  building+=("$(tps)")
  # how far the build had got when the append run ended (1.00: built before the end)
  lagging+=("$(q -c "SELECT round(checkpoint::numeric / evlog_head(), 2) FROM evlog.projections WHERE name = 'acct_v2'")")
  q -c "SELECT evlog_unregister_projection('acct_v2')" >/dev/null
done

cm=$(median "${cu[@]}"); vm=$(median "${vb[@]}"); fm=$(median "${full[@]}"); pm=$(median "${part[@]}")
am=$(median "${alone[@]}"); bm=$(median "${building[@]}")
printf '| 12a | worker building a new version of a projection (replaces) from seq 0 over %s events, against catching up a new projection from seq 0 (versions differ: %s rows) | %.0f events/s | %.0f events/s | %.2f | ≥ 0.90 |\n' \
  "$head" "$vdiffer" "$(awk -v n="$head" -v t="$vm" 'BEGIN { print n / t }')" \
  "$(awk -v n="$head" -v t="$cm" 'BEGIN { print n / t }')" "$(awk -v v="$vm" -v c="$cm" 'BEGIN { print c / v }')"
printf '| 12b | evlog_rebuild from a snapshot at seq %s of %s (%s events folded after it; differ: %s rows), against a full evlog_rebuild | %.2f s | %.2f s | %.2f | ≤ 0.15 |\n' \
  "$snap" "$N" "$tail" "$differ" "$pm" "$fm" "$(awk -v p="$pm" -v f="$fm" 'BEGIN { print p / f }')"
printf '| 12c | evlog_append, 1 client, while a version builds (build at %s of the head when the run ended), against the same without | %.0f tps | %.0f tps | %.2f | ≥ 0.80 |\n' \
  "$(median "${lagging[@]}")" "$bm" "$am" "$(awk -v b="$bm" -v a="$am" 'BEGIN { print b / a }')"

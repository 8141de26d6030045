#!/usr/bin/env bash
# Workload 8 of make bench: restore time of a log of RESTORE_EVENTS events
# against a plain table of the same shape, rows and indexes (bench/plain_setup.sql).
# The log is written by two sessions at once, in batches, so that its
# physical order is not seq order, as after concurrent appenders. Each side
# is dumped with pg_dump -Fc from a database of its own and restored with
# pg_restore into a new database (the log's database includes CREATE
# EXTENSION); ROUNDS rounds in alternation, median seconds. Row 8c: the
# restoring backend's memory during the log's restores, sampled from
# /proc/PID/status every 0.1 s (needs the server on this machine, readable
# by this user): the highest RssAnon (private memory, which must not grow
# with the log) and VmHWM (which also counts the shared buffers it touched).
# Row 8 ends with the machine's load average (1, 5, 15 min) when the rounds end:
# the ratio is worth little on a busy machine.
#   usage: bench/restore.sh WORKDIR   (PGHOST, PGPORT set; evlog installed)
#   RESTORE_EVENTS  events (default 100000)
#   ROUNDS          rounds (default 3)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
WORK=$1
N=${RESTORE_EVENTS:-100000}
ROUNDS=${ROUNDS:-3}

median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

psql -q -X -d postgres -c "CREATE DATABASE restore_log" -c "CREATE DATABASE restore_plain" >/dev/null
: >"$WORK/restore_memory"
psql -q -X -d restore_log -c "CREATE EXTENSION evlog" >/dev/null
psql -q -X -d restore_plain -f "$SRC/bench/plain_setup.sql" >/dev/null
# two appending sessions, each N/2 events in batches of 500, a transaction each
fill() {
  psql -q -X -d restore_log -v ON_ERROR_STOP=1 -c "DO \$\$
BEGIN
  FOR b IN 1 .. $N / 1000 LOOP
    PERFORM evlog_append_batch(ARRAY(
      SELECT ROW('s-' || (random() * 1000)::int, 'bench.restored',
                 jsonb_build_object('session', $1, 'batch', b, 'i', i, 'note', md5(i::text)),
                 '{}', 'r-$1-' || b || '-' || i, NULL, 1)::evlog.new_event
      FROM generate_series(1, 500) i));
    COMMIT;
  END LOOP;
END \$\$" >/dev/null
}
fill 1 & fill 2 & wait
psql -q -X -d restore_log -c "\\copy evlog.events TO '$WORK/restore_log.copy'"
psql -q -X -d restore_plain -c "\\copy plain_events FROM '$WORK/restore_log.copy'" >/dev/null
disorder=$(psql -X -At -d restore_log -c "SELECT count(*) FILTER (WHERE seq < prev) FROM (SELECT seq, lag(seq) OVER (ORDER BY ctid) AS prev FROM evlog.events) o")
pg_dump -Fc -f "$WORK/restore_log.dump" -d restore_log
pg_dump -Fc -f "$WORK/restore_plain.dump" -d restore_plain

# restore_seconds DB DUMP [SETUP]: wall time of pg_restore of DUMP into a new
# database DB; with SETUP, an SQL file run first (untimed) and a --data-only restore
restore_seconds() {
  local t0 t1 pid
  PGOPTIONS="-c client_min_messages=warning" psql -q -X -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
  [ -z "${3:-}" ] || psql -q -X -d "$1" -f "$3" >/dev/null
  t0=$(date +%s.%N)
  pg_restore --exit-on-error ${3:+--data-only} -d "$1" "$2" & pid=$!
  [ "$1" != restored_log ] || sample_memory "$1" "$pid" >>"$WORK/restore_memory" &
  wait "$pid"
  t1=$(date +%s.%N)
  wait
  awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }'
}
# sample_memory DB PID: while PID runs, the highest RssAnon and VmHWM (kB) of
# DB's client backend, one line "rssanon vmhwm"
sample_memory() {
  local backend="" anon=0 hwm=0 a h
  while kill -0 "$2" 2>/dev/null; do
    [ -n "$backend" ] || backend=$(psql -X -At -d postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = '$1' AND backend_type = 'client backend' LIMIT 1")
    if [ -n "$backend" ] && read -r a h < <(awk '/^RssAnon:/ { a = $2 } /^VmHWM:/ { h = $2 } END { print a + 0, h + 0 }' "/proc/$backend/status" 2>/dev/null); then
      [ "$a" -le "$anon" ] || anon=$a
      [ "$h" -le "$hwm" ] || hwm=$h
    fi
    sleep 0.1
  done
  echo "$anon $hwm"
}
e=() b=() d=()
for _ in $(seq "$ROUNDS"); do
  b+=("$(restore_seconds restored_plain "$WORK/restore_plain.dump")")
  d+=("$(restore_seconds restored_plain_data "$WORK/restore_plain.dump" "$SRC/bench/plain_setup.sql")")
  e+=("$(restore_seconds restored_log "$WORK/restore_log.dump")")
done
whole=$(psql -X -At -d restored_log -c "SELECT count(*) || ' events, chain ' || coalesce((SELECT first_bad_seq::text FROM evlog_verify_chain()), 'intact') FROM evlog.events")
em=$(median "${e[@]}"); bm=$(median "${b[@]}"); dm=$(median "${d[@]}")
read -r anon hwm < <(sort -n "$WORK/restore_memory" | tail -1)
load=$(cut -d' ' -f1-3 /proc/loadavg)
printf '| 8 | pg_restore of a log of %s events written by 2 sessions (%s rows out of seq order; restored: %s), against pg_restore of a plain table of the same shape and rows (indexes built after the data); load average at the end %s | %.2f s | %.2f s | %.2f | ≤ 1.5 |\n' \
  "$N" "$disorder" "$whole" "$load" "$em" "$bm" "$(awk -v e="$em" -v b="$bm" 'BEGIN { print e / b }')"
printf '| 8b | the same, against pg_restore --data-only of the plain table into a database where it exists with its indexes (the table and indexes of the log exist before its data too; it builds the indexes again after the rows) | %.2f s | %.2f s | %.2f | — |\n' \
  "$em" "$dm" "$(awk -v e="$em" -v b="$dm" 'BEGIN { print e / b }')"
# a restore shorter than the sampler's start (a psql call) gets no sample
if [ "${hwm:-0}" -gt 0 ]; then mem="$((anon / 1024)) MB / $((hwm / 1024)) MB"; else mem="not sampled (the restores ended before the sampler found the backend)"; fi
printf '| 8c | peak memory of the backend restoring the log of %s events: private (RssAnon) and high-water mark (VmHWM, which also counts the shared buffers it touched) | %s | — | — | bounded |\n' \
  "$N" "$mem"

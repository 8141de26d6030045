#!/usr/bin/env bash
# make demo: GitHub activity into a kanban board and a pull-request roll-up.
# Starts a PostgreSQL instance with evlog preloaded, loads real webhook
# deliveries (examples/github/), prints what a person wants to see, and
# writes the board as a web page, board.html.
#   bash examples/demo.sh [run]   (make demo)       start the demo, replacing a running one
#   bash examples/demo.sh psql    (make demo-psql)  psql into the demo's database
#   bash examples/demo.sh stop    (make demo-stop)  stop the instance, remove its directory
#   SCALE=N          load N copies of the corpus, re-keyed per repository, print
#                    the append and fold rates and a summary instead of every item
#   EVLOG_DEMO_DIR   the work directory (default /tmp/evlog-demo); it holds the
#                    instance, board.html and `address`, the instance's
#                    connection settings as shell exports
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/test/instance.sh"
SCALE=${SCALE:-1}
WORK=${EVLOG_DEMO_DIR:-/tmp/evlog-demo}
ADDRESS=$WORK/address

# demo_stop: stop the instance WORK's address describes (with the binaries it
# was started with) and remove WORK; nothing when there is no WORK. Refuses a
# WORK that exists without an address file (not a demo directory).
demo_stop() {
  [ -e "$WORK" ] || return 0
  if [ ! -f "$ADDRESS" ]; then
    echo "$WORK exists but is not a demo directory (no $ADDRESS); not touching it" >&2
    return 1
  fi
  local bindir
  bindir=$(. "$ADDRESS" && echo "$PG_BINDIR")
  if [ -f "$WORK/data/postmaster.pid" ]; then
    as_pg "$bindir/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}

case ${1:-run} in
  run) ;;
  stop)
    if [ -e "$WORK" ]; then demo_stop && echo "demo stopped, $WORK removed"; else echo "no demo running ($WORK does not exist)"; fi
    exit ;;
  psql)
    [ -f "$ADDRESS" ] || { echo "no demo running ($ADDRESS does not exist): make demo" >&2; exit 1; }
    . "$ADDRESS"
    exec "$PG_BINDIR/psql" ;;
  *) echo "usage: $0 [run|psql|stop]" >&2; exit 2 ;;
esac

CORPUS=$(bash "$SRC/examples/github/fetch.sh")
# one demo at a time: a second run replaces the first
if [ -e "$WORK" ]; then
  echo "== Replacing the demo instance in $WORK"
  demo_stop
fi
mkdir -m 755 "$WORK"
if [ "$(id -u)" -eq 0 ]; then chown postgres: "$WORK"; fi
PORT=$((57000 + RANDOM % 2000))
# written before the start, so that a failed start can still be cleaned up
cat >"$ADDRESS" <<EOF
# the evlog demo instance (examples/demo.sh): source this file, then run psql
export PGHOST=$WORK/sock PGPORT=$PORT PGDATABASE=demo PGUSER=postgres
export PG_BINDIR=$PG_BINDIR
EOF
instance_start "$WORK" "$PORT" yes
export PGHOST="$WORK/sock" PGPORT="$PORT"
psql -q -X -d postgres -c "CREATE DATABASE demo TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C'" >/dev/null
psql -q -X -d demo -c "CREATE EXTENSION evlog" -f "$SRC/examples/github/projections.sql" >/dev/null

echo "== Loading GitHub webhook deliveries (@octokit/webhooks-examples 7.6.1, scale $SCALE)"
t0=$(date +%s.%N)
psql -q -X -d demo -v corpus="$CORPUS" -v scale="$SCALE" -f "$SRC/examples/github/load.sql"
psql -q -X -At -d demo -c "SELECT evlog_wait('kanban', evlog_head(), '10 minutes')" >/dev/null
t1=$(date +%s.%N)
echo "== Loading the same corpus again: every delivery is a retry"
psql -q -X -d demo -v corpus="$CORPUS" -v scale="$SCALE" -f "$SRC/examples/github/load.sql"
if [ "$SCALE" -gt 1 ]; then
  events=$(psql -X -At -d demo -c "SELECT evlog_head()")
  awk -v n="$events" -v t0="$t0" -v t1="$t1" \
    'BEGIN { printf "== %d events appended and folded into the board in %.1f s: %.0f events/s end to end\n", n, t1 - t0, n / (t1 - t0) }'
fi

psql -q -X -d demo -v scale="$SCALE" -f "$SRC/examples/github/report.sql"

psql -q -X -At -d demo -f "$SRC/examples/github/board_html.sql" -o "$WORK/board.html"
echo "== The board as a web page: $WORK/board.html"

cat <<EOF

The instance keeps running (address: $ADDRESS):
  make demo-psql    psql into it
  make demo-stop    stop it and remove $WORK
EOF

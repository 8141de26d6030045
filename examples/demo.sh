#!/usr/bin/env bash
# make demo: GitHub activity into a kanban board and a pull-request roll-up.
# Starts a throwaway instance with evlog preloaded, loads real webhook
# deliveries (examples/github/), and prints what a person wants to see.
#   SCALE=N   load N copies of the corpus, re-keyed per repository, and print
#             the append and fold rates
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/test/instance.sh"
SCALE=${SCALE:-1}
CORPUS=$(bash "$SRC/examples/github/fetch.sh")
WORK=$(make_workdir evlog-demo)
PORT=$((57000 + RANDOM % 2000))
instance_start "$WORK" "$PORT" yes
export PGHOST="$WORK/sock" PGPORT="$PORT"
psql -q -X -d postgres -c "CREATE DATABASE demo" >/dev/null
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
  awk -v n="$events" -v t="$(echo "$t1 - $t0" | awk '{print $1 - $3}')" \
    'BEGIN { printf "== %d events appended and folded into the board in %.1f s: %.0f events/s end to end\n", n, t, n / t }'
fi

psql -q -X -d demo -f "$SRC/examples/github/report.sql"

cat <<EOF2

The instance keeps running:
  connect:  runuser -u postgres -- psql -h $WORK/sock -p $PORT demo
  stop:     runuser -u postgres -- $PG_BINDIR/pg_ctl -D $WORK/data stop && rm -rf $WORK
EOF2

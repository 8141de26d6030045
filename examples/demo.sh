#!/usr/bin/env bash
# make demo: a throwaway instance with evlog preloaded and a small log in it.
# (The GitHub-activity demo on real input is planned work; this shows the log.)
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/test/instance.sh"
WORK=$(make_workdir evlog-demo)
PORT=$((57000 + RANDOM % 2000))
instance_start "$WORK" "$PORT" yes
export PGHOST="$WORK/sock" PGPORT="$PORT"
psql -q -X -d postgres -c "CREATE DATABASE demo" >/dev/null

psql -X -d demo <<'SQL'
\pset footer off
CREATE EXTENSION evlog;
\echo '== appending events (the third call is a retry of the first: same key, same seq)'
SELECT evlog_append('ticket-1', 'ticket.opened', '{"title": "Login fails on Safari"}', idempotency_key => 'req-1') AS seq;
SELECT evlog_append('ticket-1', 'ticket.labeled', '{"label": "bug"}', expected_version => 1) AS seq;
SELECT evlog_append('ticket-1', 'ticket.opened', '{"title": "Login fails on Safari"}', idempotency_key => 'req-1') AS seq;
INSERT INTO evlog.append_queue (stream, type, payload)
VALUES ('ticket-2', 'ticket.opened', '{"title": "Dark mode"}'),
       ('ticket-1', 'ticket.transitioned', '{"to": "doing"}')
RETURNING seq, stream, type;
\echo '== the log'
SELECT seq, stream, stream_version, type, payload, actor, encode(digest, 'hex')::char(16) || '…' AS digest
FROM evlog.events ORDER BY seq;
\echo '== nobody rewrites history, superusers included'
\set ON_ERROR_STOP 0
UPDATE evlog.events SET payload = '{"title": "edited"}' WHERE seq = 1;
\echo '== the hash chain'
SELECT * FROM evlog_verify_chain();
SQL

cat <<EOF2

The instance keeps running:
  connect:  runuser -u postgres -- psql -h $WORK/sock -p $PORT demo
  stop:     runuser -u postgres -- $PG_BINDIR/pg_ctl -D $WORK/data stop && rm -rf $WORK
EOF2

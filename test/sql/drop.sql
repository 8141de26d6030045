-- DROP EXTENSION: refused while the log holds events, unless a
-- superuser allows it for the transaction: losing the log is deliberate.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
SELECT evlog_append('ticket-7', 'ticket.opened', '{}') AS seq;
SELECT evlog_head() > 0 AS log_has_events;
SELECT try($$DROP EXTENSION evlog$$);
CREATE ROLE evlog_dropper;
SET ROLE evlog_dropper;
SELECT try($$SET evlog.allow_drop = on$$);
RESET ROLE;
DROP ROLE evlog_dropper;
-- appending, then dropping the extension in the same transaction commits
BEGIN;
SET LOCAL evlog.allow_drop = on;
SELECT evlog_append('ticket-8', 'ticket.opened', '{}') > 0 AS appended;
DROP EXTENSION evlog;
COMMIT;
SHOW evlog.allow_drop;
CREATE EXTENSION evlog;
SELECT evlog_head();
-- dropped and created again in one transaction between two appends: the
-- second append starts the new log at seq 1
BEGIN;
SELECT evlog_append('ticket-9', 'ticket.opened', '{}') AS seq;
SET LOCAL evlog.allow_drop = on;
DROP EXTENSION evlog;
CREATE EXTENSION evlog;
SELECT evlog_append('ticket-9', 'ticket.opened', '{}') AS seq;
SELECT seq, stream_version FROM evlog.events;
ROLLBACK;
SELECT evlog_head();
-- an empty log goes without ceremony
DROP EXTENSION evlog;

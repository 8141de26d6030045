-- evlog reads and writes evlog.events's columns by position; it checks their
-- names first (oidcache.c), so that a column out of place fails with 55000
-- instead of being read as another
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql

SELECT evlog_append('s-1', 'thing.done', '{}');

-- a column renamed behind evlog's back (a catalog edit, rolled back)
BEGIN;
UPDATE pg_catalog.pg_attribute SET attname = 'actor_x'
WHERE attrelid = 'evlog.events'::regclass AND attname = 'actor';
\set VERBOSITY default
SELECT evlog_append('s-1', 'thing.done', '{}');
ROLLBACK;

-- the names are right again: appends go on, the log is whole
SELECT evlog_append('s-1', 'thing.done', '{}');
SELECT log_is_whole();

-- Security model (README "Security model"): user code runs as its owner, in
-- a security-restricted operation, inside a GUC nest level of its own, under
-- its projection's timeout; privileges are checked before any lock.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
CREATE ROLE evlog_mallory;
CREATE ROLE evlog_eve;
GRANT SELECT ON evlog.events TO evlog_mallory, evlog_eve;
GRANT EXECUTE ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text),
                          evlog_alter_projection(text, text, text, interval),
                          evlog_append(text, text, jsonb, jsonb, text, bigint, integer)
  TO evlog_mallory, evlog_eve;
CREATE SCHEMA mallory AUTHORIZATION evlog_mallory;
SET ROLE evlog_mallory;
CREATE TABLE mallory.seen (seq bigint, who text, path text);
-- the handler records who runs it and with which search_path, then tries to
-- leave settings behind for whoever runs next
CREATE FUNCTION mallory.leaky(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO mallory.seen VALUES (e.seq, current_user, current_setting('search_path'));
  PERFORM set_config('search_path', 'mallory, pg_catalog', false);
  PERFORM set_config('work_mem', '77kB', false);
  PERFORM set_config('evlog.notify', 'off', false);
END $$;
SELECT evlog_register_projection('leaky', 'mallory.leaky(evlog.events)', '{mallory.seen}',
                                 event_types => '{sec.leaked}', mode => 'sync');
RESET ROLE;
-- class 1: an appender's session keeps its settings after a sync fold
SET work_mem = '4MB';
SET search_path = public, pg_catalog;
SET ROLE evlog_eve;
SELECT evlog_append('sec-1', 'sec.leaked', '{}') > 0 AS appended;
SHOW work_mem;
SHOW search_path;
SHOW evlog.notify;
SELECT current_user;
RESET ROLE;
RESET work_mem;
RESET search_path;
-- the handler ran as its owner, with the user search_path
SELECT who, path FROM mallory.seen;
-- a handler cannot change role: SET ROLE is refused in a security-restricted operation
CREATE FUNCTION mallory.climber(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('role', 'postgres', false);
END $$;
ALTER FUNCTION mallory.climber(evlog.events) OWNER TO evlog_mallory;
SET ROLE evlog_mallory;
SELECT try($$SELECT public.evlog_register_projection('climber', 'mallory.climber(evlog.events)',
                                              event_types => '{sec.climb}', mode => 'sync')$$);
SELECT try($$SELECT public.evlog_append('sec-2', 'sec.climb', '{}')$$);
SELECT current_user;
RESET ROLE;
-- class 2: only ordinary tables may be part of a projection
SET ROLE evlog_mallory;
CREATE VIEW mallory.v AS SELECT 1 AS x;
SELECT try($$SELECT public.evlog_register_projection('viewer', 'mallory.leaky(evlog.events)', '{mallory.v}')$$);
RESET ROLE;
-- evlog_verify reads the owner's tables as the owner: an RLS policy counts
-- (in sequences, which a rollback does not undo) who evaluates it
SET ROLE evlog_mallory;
CREATE SEQUENCE mallory.by_owner;
CREATE SEQUENCE mallory.by_others;
CREATE FUNCTION mallory.watch() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  IF current_user = 'evlog_mallory' THEN
    PERFORM nextval('mallory.by_owner');
  ELSE
    PERFORM nextval('mallory.by_others');
  END IF;
  RETURN true;
END $$;
ALTER TABLE mallory.seen ENABLE ROW LEVEL SECURITY;
ALTER TABLE mallory.seen FORCE ROW LEVEL SECURITY;
CREATE POLICY watched ON mallory.seen USING (mallory.watch());
-- a registered table later turned into a view (PostgreSQL 15 still allows
-- that of an empty table) is refused where evlog would read it
CREATE TABLE mallory.trap (x int);
SELECT evlog_register_projection('trap', 'mallory.leaky(evlog.events)', '{mallory.trap}',
                                 event_types => '{sec.never}');
CREATE RULE "_RETURN" AS ON SELECT TO mallory.trap DO INSTEAD
  SELECT 1 AS x WHERE mallory.watch();
RESET ROLE;
SELECT count(*) FROM evlog_verify('leaky');
SELECT try($$SELECT count(*) FROM public.evlog_verify('trap')$$);
SELECT try($$SELECT public.evlog_rebuild('trap')$$);
SELECT is_called AS owner_watched FROM mallory.by_owner;
SELECT is_called AS others_watched FROM mallory.by_others;
-- class 3: NULL names are refused with 22004, never a crash
SELECT try($$SELECT public.evlog_catch_up(NULL)$$);
SELECT try($$SELECT public.evlog_pause(NULL)$$);
SELECT try($$SELECT public.evlog_resume(NULL)$$);
SELECT try($$SELECT public.evlog_unregister_projection(NULL)$$);
SELECT try($$SELECT public.evlog_alter_projection(NULL)$$);
SELECT try($$SELECT public.evlog_register_projection('x', 'mallory.leaky(evlog.events)', timeout => NULL)$$);
SELECT try($$SELECT public.evlog_register_projection('x', 'mallory.leaky(evlog.events)', ARRAY[NULL]::regclass[])$$);
SELECT try($$SELECT public.evlog_wait('leaky', 1, NULL)$$);
SELECT try($$SELECT public.evlog_wait(NULL, 1)$$);
SELECT evlog_rebuild(NULL) IS NULL AS strict_rebuild;
SELECT count(*) FROM evlog_verify(NULL);
-- class 4: a refused call holds no lock
SET ROLE evlog_eve;
BEGIN;
DO $$
BEGIN
  PERFORM evlog_rebuild('leaky');
EXCEPTION WHEN insufficient_privilege THEN
  RAISE NOTICE 'refused: %', SQLERRM;
END $$;
SELECT try($$SELECT public.evlog_pause('leaky')$$);
SELECT try($$SELECT public.evlog_catch_up('leaky')$$);
SELECT try($$SELECT count(*) FROM public.evlog_verify('leaky')$$);
SELECT try($$SELECT public.evlog_alter_projection('leaky', timeout => '1s')$$);
SELECT count(*) AS advisory_locks_held FROM pg_locks
  WHERE pid = pg_backend_pid() AND locktype = 'advisory';
SELECT count(*) AS tuple_locks_held FROM pg_locks
  WHERE pid = pg_backend_pid() AND locktype IN ('tuple', 'transactionid')
    AND mode NOT IN ('ExclusiveLock');
COMMIT;
RESET ROLE;
-- class 5: a handler that runs longer than its timeout is cancelled and
-- treated as a handler error (on_error applies)
SET ROLE evlog_mallory;
CREATE TABLE mallory.slow_seen (seq bigint);
CREATE FUNCTION mallory.slow(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF e.payload ? 'hang' THEN PERFORM pg_sleep(30); END IF;
  INSERT INTO mallory.slow_seen VALUES (e.seq);
END $$;
SELECT evlog_register_projection('slow', 'mallory.slow(evlog.events)', '{mallory.slow_seen}',
                                 event_types => '{sec.slow}', on_error => 'skip',
                                 timeout => '200 milliseconds');
SELECT timeout FROM evlog.projections WHERE name = 'slow';
SELECT try($$SELECT public.evlog_alter_projection('slow', timeout => '-1s')$$);
RESET ROLE;
SELECT evlog_append('sec-3', 'sec.slow', '{"n": 1}') AS s1 \gset
SELECT evlog_append('sec-3', 'sec.slow', '{"hang": true}') AS s2 \gset
SELECT evlog_append('sec-3', 'sec.slow', '{"n": 3}') AS s3 \gset
SET ROLE evlog_mallory;
-- (the worker may fold some of them first: the outcome is the same)
SELECT evlog_catch_up('slow') <= 3 AS caught_up;
SELECT array_agg(seq ORDER BY seq) = ARRAY[:s1, :s3]::bigint[] AS folded_around_the_hang
  FROM mallory.slow_seen;
RESET ROLE;
SELECT seq = :s2 AS dead_letter_is_the_hang, error FROM evlog.dead_letters WHERE projection = 'slow';
-- a sync handler's timeout fails the append, which writes nothing
SET ROLE evlog_mallory;
SELECT evlog_alter_projection('slow', mode => 'sync');
RESET ROLE;
SELECT evlog_head() AS head_before \gset
-- (57014, like a statement_timeout: PL/pgSQL's WHEN OTHERS does not catch it)
SELECT evlog_append('sec-3', 'sec.slow', '{"hang": true}');
SELECT evlog_head() = :head_before AS nothing_written;
-- every attack leaves the log whole
SELECT * FROM log_is_whole();
SET ROLE evlog_mallory;
SELECT evlog_unregister_projection('slow');
SELECT evlog_unregister_projection('leaky');
SELECT evlog_unregister_projection('trap');
SELECT evlog_unregister_projection('climber');
RESET ROLE;
DROP SCHEMA mallory CASCADE;
REVOKE ALL ON evlog.events FROM evlog_mallory, evlog_eve;
REVOKE ALL ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text),
                       evlog_alter_projection(text, text, text, interval),
                       evlog_append(text, text, jsonb, jsonb, text, bigint, integer)
  FROM evlog_mallory, evlog_eve;
DROP ROLE evlog_mallory;
DROP ROLE evlog_eve;

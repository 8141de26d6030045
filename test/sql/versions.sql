-- Projection versions, snapshots and progress (README "Projection versions
-- and snapshots"): registering the next version of a projection, promoting
-- it with a view swap, snapshots and rebuilds from them, evlog.progress,
-- and bad input. Numbers that depend on the log's length are compared, not
-- shown.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
CREATE ROLE evlog_versions_owner;
CREATE ROLE evlog_versions_other;
GRANT SELECT ON evlog.events TO evlog_versions_owner, evlog_versions_other;
GRANT CREATE ON SCHEMA public TO evlog_versions_owner, evlog_versions_other;
GRANT EXECUTE ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text),
                          evlog_promote(text, interval),
                          evlog_alter_projection(text, text, text, interval)
  TO evlog_versions_owner, evlog_versions_other;

SET ROLE evlog_versions_owner;
CREATE TABLE vboard_v1 (ticket text PRIMARY KEY, status text NOT NULL, last_seq bigint NOT NULL);
-- version 2 has another shape: a count of moves, and the status in a table of its own
CREATE TABLE vboard_v2 (ticket text PRIMARY KEY, moves int NOT NULL, last_seq bigint NOT NULL);
CREATE TABLE vstatus_v2 (ticket text PRIMARY KEY REFERENCES vboard_v2, status text NOT NULL);
CREATE FUNCTION vfold_v1(e evlog.events) RETURNS void LANGUAGE sql AS $$
  INSERT INTO vboard_v1 VALUES (e.stream, e.payload->>'to', e.seq)
  ON CONFLICT (ticket) DO UPDATE SET status = excluded.status, last_seq = excluded.last_seq $$;
CREATE FUNCTION vfold_v2(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO vboard_v2 VALUES (e.stream, 1, e.seq)
  ON CONFLICT (ticket) DO UPDATE SET moves = vboard_v2.moves + 1, last_seq = excluded.last_seq;
  INSERT INTO vstatus_v2 VALUES (e.stream, e.payload->>'to')
  ON CONFLICT (ticket) DO UPDATE SET status = excluded.status;
END $$;
SELECT evlog_register_projection('vboard', 'vfold_v1(evlog.events)', '{vboard_v1}',
                                 event_types => '{vticket.moved}', mode => 'sync');
CREATE VIEW vboard AS SELECT ticket, status, last_seq FROM vboard_v1;
RESET ROLE;
SELECT count(evlog_append('vt-' || i % 5, 'vticket.moved', jsonb_build_object('to', 's' || i % 3)))
  FROM generate_series(1, 30) i;

-- bad input to register: replaces unknown, itself, not async, not owned
SET ROLE evlog_versions_owner;
SELECT try($$SELECT public.evlog_register_projection('vboard_v2', 'public.vfold_v2(evlog.events)', '{public.vboard_v2,public.vstatus_v2}', replaces => 'nope')$$);
SELECT try($$SELECT public.evlog_register_projection('vboard', 'public.vfold_v2(evlog.events)', '{public.vboard_v2,public.vstatus_v2}', replaces => 'vboard')$$);
SELECT try($$SELECT public.evlog_register_projection('vboard_v2', 'public.vfold_v2(evlog.events)', '{public.vboard_v2,public.vstatus_v2}', mode => 'sync', replaces => 'vboard')$$);
SET ROLE evlog_versions_other;
CREATE TABLE vother (n bigint);
SELECT try($$SELECT public.evlog_register_projection('vother', 'public.vfold_v1(evlog.events)', '{public.vother}', replaces => 'vboard')$$);
SET ROLE evlog_versions_owner;

-- the next version, registered in a transaction that also appends more
-- than a batch: it cannot be at the head, so evlog_promote gives up after
-- its timeout with 55P03, and nothing has changed
BEGIN;
SELECT evlog_register_projection('vboard_v2', 'vfold_v2(evlog.events)', '{vboard_v2,vstatus_v2}',
                                 event_types => '{vticket.moved}', replaces => 'vboard');
RESET ROLE;
SELECT count(evlog_append('vt-' || i % 5, 'vticket.moved', jsonb_build_object('to', 's' || i % 4)))
  FROM generate_series(1, 1100) i;
SET ROLE evlog_versions_owner;
SAVEPOINT before_promote;
SELECT regexp_replace(try($$SELECT public.evlog_promote('vboard_v2', '20 ms')$$), 'seq \d+ of \d+', 'seq N of M');
ROLLBACK TO before_promote;
SELECT name, mode, replaces, checkpoint = 0 AS unbuilt FROM evlog.projections WHERE name LIKE 'vboard%' ORDER BY name;
COMMIT;

-- a version being built cannot be made sync (it would fold the whole log
-- while holding appends): promote it first; its other settings can change
SELECT try($$SELECT public.evlog_alter_projection('vboard_v2', mode => 'sync')$$);
SELECT evlog_alter_projection('vboard_v2', on_error => 'stop', mode => 'async');
SELECT name, mode, replaces FROM evlog.projections WHERE name = 'vboard_v2';

-- a version chain, and a second version of the same projection
SELECT try($$SELECT public.evlog_register_projection('vboard_v3', 'public.vfold_v2(evlog.events)', '{public.vboard_v2}', replaces => 'vboard_v2')$$);
SELECT try($$SELECT public.evlog_register_projection('vboard_v3', 'public.vfold_v2(evlog.events)', '{public.vboard_v2}', replaces => 'vboard')$$);
-- promote: of one that replaces nothing, by a role that owns neither, bad arguments
SELECT try($$SELECT public.evlog_promote('vboard')$$);
SELECT try($$SELECT public.evlog_promote('vboard_v2', '-1 second')$$);
SET ROLE evlog_versions_other;
SELECT try($$SELECT public.evlog_promote('vboard_v2')$$);
SET ROLE evlog_versions_owner;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT try($$SELECT public.evlog_promote('vboard_v2')$$);
ROLLBACK;

-- the cut-over: the worker builds version 2 while version 1 serves; promote
-- and the view swap commit together
BEGIN;
SELECT evlog_promote('vboard_v2') = evlog_head() AS promoted_at_head;
CREATE OR REPLACE VIEW vboard AS
  SELECT b.ticket, s.status, b.last_seq, b.moves FROM vboard_v2 b JOIN vstatus_v2 s USING (ticket);
COMMIT;
SELECT name, mode, replaces, tables, checkpoint = evlog_head() AS at_head
  FROM evlog.projections WHERE name LIKE 'vboard%' ORDER BY name;
SELECT * FROM evlog_verify('vboard');
-- sync again: an append shows at once
RESET ROLE;
SELECT evlog_append('vt-1', 'vticket.moved', '{"to": "done"}') AS seq \gset
SET ROLE evlog_versions_owner;
SELECT ticket, status, last_seq = :seq AS latest, moves FROM vboard WHERE ticket = 'vt-1';
SELECT sum(moves) = (SELECT count(*) FROM evlog.events WHERE type = 'vticket.moved') AS all_moves FROM vboard;

-- snapshots: only the owner takes one
SET ROLE evlog_versions_other;
SELECT try($$SELECT public.evlog_snapshot('vboard')$$);
SET ROLE evlog_versions_owner;
SELECT evlog_snapshot('vboard') = evlog_head() AS snapshot_at_head;
SELECT projection, seq = evlog_head() AS at_head, length(fingerprint) AS fingerprint_length,
       bytes > 0 AS has_bytes, cardinality(copies) AS tables
  FROM evlog.snapshots WHERE projection = 'vboard';
SELECT DISTINCT c.relowner::regrole AS copy_owner
  FROM evlog.snapshots s, pg_class c
 WHERE s.projection = 'vboard' AND c.relnamespace = 'evlog_snapshots'::regnamespace AND c.relname = ANY (s.copies);
SET ROLE evlog_versions_other;
SELECT regexp_replace(try(format('SELECT * FROM evlog_snapshots.%I', copies[1])), 's\d+_1', 'sN_1')
  FROM evlog.snapshots WHERE projection = 'vboard';
RESET ROLE;
-- a rebuild from the snapshot folds exactly the events after it
SELECT count(evlog_append('vt-' || i % 5, 'vticket.moved', jsonb_build_object('to', 't' || i)))
  FROM generate_series(1, 7) i;
SET ROLE evlog_versions_owner;
SET client_min_messages = warning;
SELECT evlog_rebuild('vboard', from_snapshot => true) AS folded_after_snapshot;
RESET client_min_messages;
SELECT * FROM evlog_verify('vboard');
SELECT sum(moves) = (SELECT count(*) FROM evlog.events WHERE type = 'vticket.moved') AS all_moves FROM vboard;
-- a changed handler never uses an older snapshot: the whole log again
CREATE OR REPLACE FUNCTION vfold_v2(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN  -- version 2.1: same fold, another definition
  INSERT INTO vboard_v2 VALUES (e.stream, 1, e.seq)
  ON CONFLICT (ticket) DO UPDATE SET moves = vboard_v2.moves + 1, last_seq = excluded.last_seq;
  INSERT INTO vstatus_v2 VALUES (e.stream, e.payload->>'to')
  ON CONFLICT (ticket) DO UPDATE SET status = excluded.status;
END $$;
SELECT evlog_rebuild('vboard', true) = (SELECT count(*) FROM evlog.events WHERE type = 'vticket.moved') AS full_replay;
SELECT * FROM evlog_verify('vboard');
-- a rebuild without from_snapshot ignores snapshots
SELECT evlog_rebuild('vboard', false) = (SELECT count(*) FROM evlog.events WHERE type = 'vticket.moved') AS full_replay;

-- retention keeps the last N snapshots per projection, and drops the others' copies
RESET ROLE;
SET evlog.snapshot_retention = 2;
SET ROLE evlog_versions_owner;
SELECT count(evlog_snapshot('vboard')) FROM generate_series(1, 3);
SELECT count(*) AS snapshots FROM evlog.snapshots WHERE projection = 'vboard';
SELECT count(*) AS copies FROM pg_class WHERE relnamespace = 'evlog_snapshots'::regnamespace AND relkind = 'r';
RESET ROLE;
RESET evlog.snapshot_retention;

-- dead letters: a rebuild from a snapshot keeps those up to the snapshot's
-- seq (its read model stands on them) and records those after it again
SET ROLE evlog_versions_owner;
CREATE TABLE vdl (n bigint PRIMARY KEY);
CREATE FUNCTION vdl_fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF e.payload ? 'bad' THEN RAISE EXCEPTION 'bad event %', e.payload->>'bad'; END IF;
  INSERT INTO vdl VALUES (e.seq);
END $$;
SELECT evlog_register_projection('vdl', 'vdl_fold(evlog.events)', '{vdl}', event_types => '{vdl.x}',
                                 on_error => 'skip');
RESET ROLE;
SELECT evlog_head() AS dl_start \gset
SELECT count(evlog_append('dl', 'vdl.x', CASE WHEN i = 2 THEN '{"bad": "before"}' ELSE '{}' END::jsonb))
  FROM generate_series(1, 3) i;
SET ROLE evlog_versions_owner;
SELECT evlog_catch_up('vdl') AS folded;
SELECT evlog_snapshot('vdl') - :dl_start AS snapshot_at;
RESET ROLE;
SELECT count(evlog_append('dl', 'vdl.x', CASE WHEN i = 2 THEN '{"bad": "after"}' ELSE '{}' END::jsonb))
  FROM generate_series(1, 3) i;
SET ROLE evlog_versions_owner;
SELECT evlog_catch_up('vdl') AS folded;
SELECT seq - :dl_start AS seq, error FROM evlog.dead_letters WHERE projection = 'vdl' ORDER BY seq;
SET client_min_messages = warning;
SELECT evlog_rebuild('vdl', from_snapshot => true) AS folded_after_snapshot;
RESET client_min_messages;
SELECT seq - :dl_start AS seq, error FROM evlog.dead_letters WHERE projection = 'vdl' ORDER BY seq;
SELECT array_agg(n - :dl_start ORDER BY n) AS folded FROM vdl;
-- a full rebuild records them all again
SELECT evlog_rebuild('vdl') AS folded;
SELECT seq - :dl_start AS seq, error FROM evlog.dead_letters WHERE projection = 'vdl' ORDER BY seq;
SELECT evlog_unregister_projection('vdl');
DROP TABLE vdl;
DROP FUNCTION vdl_fold(evlog.events);
RESET ROLE;

-- progress: the view's shape (nothing runs now in this session)
SELECT * FROM evlog.progress WHERE pid = pg_backend_pid();

-- NULL in every argument
SELECT try($$SELECT public.evlog_promote(NULL)$$);
SELECT try($$SELECT public.evlog_promote('vboard', NULL)$$);
SELECT try($$SELECT public.evlog_snapshot(NULL)$$);
SELECT evlog_rebuild(NULL, true) IS NULL AS strict_rebuild, evlog_rebuild('vboard', NULL) IS NULL AS strict_rebuild;
SELECT try($$SELECT public.evlog_register_projection('vnull', 'public.vfold_v1(evlog.events)', '{}', replaces => NULL)$$);
SELECT evlog_unregister_projection('vnull');

-- unregistering drops the snapshots; a new version of an unregistered
-- projection replaces nothing any more
SET ROLE evlog_versions_owner;
SELECT evlog_register_projection('vboard_v3', 'vfold_v1(evlog.events)', '{}', replaces => 'vboard');
SELECT evlog_unregister_projection('vboard');
SELECT count(*) AS snapshots FROM evlog.snapshots WHERE projection = 'vboard';
SELECT count(*) AS copies FROM pg_class WHERE relnamespace = 'evlog_snapshots'::regnamespace;
SELECT name, replaces FROM evlog.projections WHERE name LIKE 'vboard%';
SELECT try($$SELECT public.evlog_promote('vboard_v3')$$);
SELECT evlog_unregister_projection('vboard_v3');
DROP VIEW vboard;
DROP TABLE vboard_v1, vstatus_v2, vboard_v2;
DROP FUNCTION vfold_v1(evlog.events), vfold_v2(evlog.events);
SET ROLE evlog_versions_other;
DROP TABLE vother;
RESET ROLE;
REVOKE ALL ON evlog.events FROM evlog_versions_owner, evlog_versions_other;
REVOKE ALL ON SCHEMA public FROM evlog_versions_owner, evlog_versions_other;
REVOKE ALL ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text),
                       evlog_promote(text, interval),
                       evlog_alter_projection(text, text, text, interval)
  FROM evlog_versions_owner, evlog_versions_other;
DROP ROLE evlog_versions_owner;
DROP ROLE evlog_versions_other;

-- DROP EXTENSION evlog drops the snapshots' copies with the extension (its
-- event trigger evlog_drop_snapshots), RESTRICT or CASCADE as asked: an
-- object of the user's that depends on a copy makes a plain DROP refuse, as
-- a handler (it takes evlog.events) does
CREATE TABLE vsnap (seq bigint);
CREATE FUNCTION vsnap_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$ INSERT INTO vsnap VALUES (e.seq) $$;
SELECT evlog_register_projection('vsnap', 'vsnap_fold(evlog.events)', '{vsnap}', mode => 'sync');
SELECT evlog_snapshot('vsnap') = evlog_head() AS snapshot_at_head;
SELECT format('CREATE VIEW vsnap_copy AS SELECT * FROM evlog_snapshots.%I', copies[1])
  FROM evlog.snapshots WHERE projection = 'vsnap' \gexec
BEGIN;
SET LOCAL evlog.allow_drop = on;
SELECT regexp_replace(try('DROP EXTENSION evlog'), 's\d+_1', 'sN_1', 'g');
DROP VIEW vsnap_copy;
DROP FUNCTION vsnap_fold(evlog.events);
DROP EXTENSION evlog;
SELECT count(*) AS snapshot_schemas, to_regclass('vsnap') AS projection_table
  FROM pg_namespace WHERE nspname = 'evlog_snapshots';
ROLLBACK;
BEGIN;
SET LOCAL evlog.allow_drop = on;
SET LOCAL client_min_messages = warning;
DROP EXTENSION evlog CASCADE;
SELECT count(*) AS snapshot_schemas, to_regclass('vsnap_copy') AS view FROM pg_namespace WHERE nspname = 'evlog_snapshots';
ROLLBACK;
-- another extension's DROP is left alone
DROP EXTENSION IF EXISTS evlog_not_here;
SELECT count(*) AS copies FROM evlog.snapshots s, pg_class c
 WHERE c.relnamespace = 'evlog_snapshots'::regnamespace AND c.relname = ANY (s.copies);
DROP VIEW vsnap_copy;
SELECT evlog_unregister_projection('vsnap');
DROP TABLE vsnap;
DROP FUNCTION vsnap_fold(evlog.events);

-- The guard is complete (README, "The guard"): with the library preloaded no
-- DDL moves, renames, inherits from, adds rules or triggers to, detaches from
-- the extension or re-indexes under a new name the log or its indexes;
-- evlog.guard() is attached only by a table's owner; evlog_verify_chain needs
-- SELECT; metadata is bounded; version arithmetic does not overflow; no NULL
-- crashes a function.  It makes its own log, at 0.1.0, and drops it.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
-- try() pins search_path = pg_catalog, so the statements it runs qualify
-- every name.
ALTER FUNCTION public.try(text) SET search_path = pg_catalog;
-- A database made with 0.1.0, whose evlog_protect is PL/pgSQL and whose
-- evlog.guard() PUBLIC may execute: the hook already keeps the guard to
-- tables' owners, and ALTER EXTENSION UPDATE keeps every guard firing.
DROP EXTENSION evlog;
CREATE EXTENSION evlog VERSION '0.1.0';
CREATE ROLE evlog_owner;
CREATE ROLE evlog_other;
CREATE TABLE old_protected (id int);
ALTER TABLE old_protected OWNER TO evlog_owner;
GRANT TRIGGER ON old_protected TO evlog_other;
SET ROLE evlog_other;
SELECT try($$CREATE TRIGGER lock_it BEFORE UPDATE ON public.old_protected FOR EACH ROW EXECUTE FUNCTION evlog.guard()$$);
RESET ROLE;
SET ROLE evlog_owner;
SELECT evlog_protect('old_protected');
INSERT INTO old_protected VALUES (1);
RESET ROLE;
ALTER EXTENSION evlog UPDATE TO '0.2.0';
SELECT has_function_privilege('evlog_other', 'evlog.guard()', 'EXECUTE') AS other_may_execute_guard;
SET ROLE evlog_owner;
SELECT try($$DELETE FROM public.old_protected$$);
RESET ROLE;
SELECT try($$TRUNCATE public.old_protected$$);
DROP TABLE old_protected;
SELECT evlog_append('g-' || i, 'guard.tested', jsonb_build_object('i', i)) FROM generate_series(1, 3) i;
SELECT evlog_head() AS head_before \gset
CREATE SCHEMA elsewhere;
CREATE TABLE parent_t (LIKE evlog.events);
CREATE TABLE child_t (LIKE evlog.events INCLUDING CONSTRAINTS);
CREATE TABLE part_t (LIKE evlog.events) PARTITION BY RANGE (seq);
CREATE TABLE index_names AS
  SELECT relname FROM pg_class WHERE relnamespace = 'evlog'::regnamespace AND relkind = 'i';

-- moving the log, its indexes or evlog's functions to another schema
SELECT try($$ALTER TABLE evlog.events SET SCHEMA elsewhere$$);
SELECT try($$ALTER TABLE evlog.events_pkey SET SCHEMA elsewhere$$);
SELECT try($$ALTER VIEW evlog.append_queue SET SCHEMA elsewhere$$);
SELECT try($$ALTER FUNCTION evlog.guard() SET SCHEMA elsewhere$$);
SELECT try($$ALTER TYPE evlog.new_event SET SCHEMA elsewhere$$);
-- renaming the log, its columns, constraints, indexes and triggers, the schema
SELECT try($$ALTER TABLE evlog.events RENAME CONSTRAINT events_pkey TO pk$$);
SELECT try($$ALTER TYPE evlog.events RENAME ATTRIBUTE payload TO body$$);
SELECT try($$ALTER INDEX evlog.events_pkey RENAME TO events_pk$$);
SELECT try($$ALTER TABLE evlog.events_type_seq_idx RENAME TO by_type$$);
SELECT try($$ALTER TRIGGER evlog_guard_row ON evlog.events RENAME TO off$$);
SELECT try($$ALTER SCHEMA evlog RENAME TO evlog_old$$);
SELECT try($$ALTER FUNCTION evlog.guard() RENAME TO guard_old$$);
SELECT try($$ALTER TABLE evlog.projections RENAME COLUMN owner TO who$$);
SELECT try($$ALTER TYPE evlog.new_event RENAME TO new_events$$);
-- inheriting from the log, or the log inheriting or becoming a partition
SELECT try($$CREATE TABLE forged () INHERITS (evlog.events)$$);
SELECT try($$CREATE TABLE forged PARTITION OF evlog.events FOR VALUES FROM (1) TO (10)$$);
SELECT try($$CREATE FOREIGN TABLE forged () INHERITS (evlog.events) SERVER nowhere$$);
SELECT try($$ALTER TABLE public.child_t INHERIT evlog.events$$);
SELECT try($$ALTER TABLE evlog.events INHERIT public.parent_t$$);
SELECT try($$ALTER TABLE public.part_t ATTACH PARTITION evlog.events FOR VALUES FROM (1) TO (1000000)$$);
-- rules and triggers on the log
SELECT try($$CREATE RULE keep AS ON UPDATE TO evlog.events DO INSTEAD NOTHING$$);
SELECT try($$CREATE RULE keep AS ON DELETE TO evlog.events DO ALSO NOTHING$$);
SELECT try($$CREATE TRIGGER late BEFORE INSERT ON evlog.events FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$);
SELECT try($$CREATE OR REPLACE TRIGGER evlog_guard_row BEFORE UPDATE OR DELETE ON evlog.events
             FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$);
SELECT try($$CREATE OR REPLACE FUNCTION evlog.guard() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'$$);
-- detaching from the extension, or tying to another one
SELECT try($$ALTER EXTENSION evlog DROP TABLE evlog.events$$);
SELECT try($$ALTER EXTENSION evlog DROP FUNCTION evlog.guard()$$);
SELECT try($$ALTER EXTENSION evlog DROP SCHEMA evlog$$);
SELECT try($$ALTER INDEX evlog.events_pkey DEPENDS ON EXTENSION plpgsql$$);
SELECT try($$ALTER TRIGGER evlog_guard_statement ON evlog.events DEPENDS ON EXTENSION plpgsql$$);
SELECT try($$ALTER FUNCTION evlog.guard() DEPENDS ON EXTENSION plpgsql$$);
-- re-indexing under a new name
SELECT try($$DROP INDEX evlog.events_type_seq_idx$$);
SELECT try($$ALTER INDEX evlog.events_stream_version_key ATTACH PARTITION evlog.events_pkey$$);
-- allowed: moving the files, statistics, rebuilding indexes under their names
SELECT try($$ALTER TABLE evlog.events SET TABLESPACE pg_default$$);
SELECT try($$ALTER INDEX evlog.events_pkey SET TABLESPACE pg_default$$);
SELECT try($$ALTER INDEX evlog.events_type_seq_idx SET (fillfactor = 90)$$);
SELECT try($$REINDEX TABLE evlog.events$$);
REINDEX TABLE CONCURRENTLY evlog.events;
SELECT relname FROM pg_class WHERE relnamespace = 'evlog'::regnamespace AND relkind = 'i'
EXCEPT SELECT relname FROM index_names;
SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
WHERE d.classid = 'pg_class'::regclass AND d.objid = 'evlog.events'::regclass
  AND e.extname = 'evlog' AND d.deptype = 'e';
SELECT evlog_head() = :head_before AS log_unchanged, * FROM log_is_whole();

-- evlog.guard(): only a table's owner attaches it, through evlog_protect
CREATE TABLE owned (id int PRIMARY KEY);
ALTER TABLE owned OWNER TO evlog_owner;
GRANT TRIGGER, SELECT, INSERT ON owned TO evlog_other;
SELECT has_function_privilege('evlog_other', 'evlog.guard()', 'EXECUTE') AS other_may_execute_guard;
SET ROLE evlog_other;
SELECT try($$CREATE TRIGGER lock_it BEFORE UPDATE ON public.owned FOR EACH ROW EXECUTE FUNCTION evlog.guard()$$);
SELECT try($$SELECT public.evlog_protect('public.owned')$$);
RESET ROLE;
SET ROLE evlog_owner;
SELECT try($$CREATE TRIGGER lock_it BEFORE UPDATE ON public.owned FOR EACH ROW EXECUTE FUNCTION evlog.guard()$$);
SELECT try($$SELECT public.evlog_protect('public.owned')$$);
SELECT try($$SELECT public.evlog_protect('public.owned')$$);
INSERT INTO owned VALUES (1);
SELECT try($$UPDATE public.owned SET id = 2$$);
-- a protected table's guard triggers cannot be renamed, replaced or tied away
SELECT try($$ALTER TRIGGER evlog_guard_row ON public.owned RENAME TO off$$);
SELECT try($$CREATE OR REPLACE TRIGGER evlog_guard_row BEFORE UPDATE OR DELETE ON public.owned
             FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()$$);
SELECT try($$DROP TRIGGER evlog_guard_row ON public.owned$$);
SELECT try($$ALTER TABLE public.owned ENABLE TRIGGER evlog_guard_statement$$);
RESET ROLE;
-- the table itself may still be renamed and moved
SELECT try($$ALTER TABLE public.owned RENAME TO owned_renamed$$);
SELECT try($$ALTER TABLE public.owned_renamed SET SCHEMA elsewhere$$);
SELECT try($$ALTER TABLE elsewhere.owned_renamed SET SCHEMA public$$);
SELECT try($$ALTER TABLE public.owned_renamed RENAME TO owned$$);
SELECT try($$ALTER TRIGGER evlog_guard_statement ON public.owned DEPENDS ON EXTENSION plpgsql$$);
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'owned'::regclass ORDER BY tgname;
-- a protected partitioned table: its partitions keep the guard
CREATE TABLE ledger (id int, at int) PARTITION BY RANGE (at);
CREATE TABLE ledger_1 PARTITION OF ledger FOR VALUES FROM (0) TO (100);
SELECT evlog_protect('ledger');
INSERT INTO ledger VALUES (1, 1);
SELECT try($$ALTER TABLE public.ledger DETACH PARTITION public.ledger_1$$);
SELECT try($$UPDATE public.ledger_1 SET id = 2$$);
DROP TABLE ledger, owned;

-- evlog_verify_chain reads the log: it needs SELECT on evlog.events
SET ROLE evlog_other;
SELECT try($$SELECT * FROM public.evlog_verify_chain()$$);
RESET ROLE;
GRANT SELECT (seq, stream, stream_version, type, type_version, payload, metadata,
              idempotency_key, actor, recorded_at, digest) ON evlog.events TO evlog_other;
SET ROLE evlog_other;
SELECT * FROM evlog_verify_chain();
RESET ROLE;
REVOKE ALL ON evlog.events FROM evlog_other;

-- metadata is bounded by evlog.max_metadata_bytes, on every path of an append
SHOW evlog.max_metadata_bytes;
SELECT try($$SELECT public.evlog_append('big', 'guard.tested', '{}', jsonb_build_object('m', repeat('x', 70000)))$$);
SELECT evlog_append('big', 'guard.tested', '{}', jsonb_build_object('m', repeat('x', 60000))) = :head_before + 1 AS appended_under_the_bound;
SET evlog.max_metadata_bytes = 100;
SELECT try($$SELECT public.evlog_append('big', 'guard.tested', '{}', jsonb_build_object('m', repeat('x', 100)))$$);
SELECT try($$SELECT public.evlog_append_batch(ARRAY[ROW('big', 'guard.tested', '{}', jsonb_build_object('m', repeat('x', 100)), NULL, NULL, 1)::evlog.new_event])$$);
SELECT try($$INSERT INTO evlog.append_queue (stream, type, payload, metadata)
             VALUES ('big', 'guard.tested', '{}', jsonb_build_object('m', repeat('x', 100)))$$);
\set VERBOSITY terse
COPY evlog.append_queue (stream, type, payload, metadata) FROM STDIN;
big	guard.tested	{}	{"m": "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
\.
\set VERBOSITY default
RESET evlog.max_metadata_bytes;
SET ROLE evlog_other;
SELECT try($$SET evlog.max_metadata_bytes = 1000000$$);
RESET ROLE;
SELECT evlog_head() = :head_before + 1 AS one_appended, * FROM log_is_whole();

-- version arithmetic: the extremes are clean errors, never an overflow
CREATE FUNCTION up(p jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT p $$;
SELECT evlog_define_event_type('guard.extreme', 2147483647);
SELECT try($$SELECT public.evlog_define_upcaster('guard.extreme', 2147483647, 'public.up(jsonb)')$$);
SELECT try($$SELECT public.evlog_define_upcaster('guard.extreme', 0, 'public.up(jsonb)')$$);
SELECT try($$SELECT public.evlog_define_upcaster('guard.extreme', -2147483648, 'public.up(jsonb)')$$);
SELECT try($$SELECT public.evlog_define_upcaster('guard.extreme', 2147483646, 'public.up(jsonb)')$$);
SELECT try($$SELECT public.evlog_define_upcaster('guard.extreme', 1, 0)$$);
SELECT try($$SELECT public.evlog_define_event_type('guard.extreme', -1)$$);
SELECT try($$SELECT public.evlog_define_event_type('guard.extreme', 2147483646)$$);
SELECT try($$SELECT public.evlog_define_event_type('guard.extreme', 1, validator => 0)$$);
SELECT evlog_append('extreme', 'guard.extreme', '{}', type_version => 2147483647) = :head_before + 2 AS appended;
SELECT try($$SELECT public.evlog_define_event_type('guard.extreme', 2147483647)$$);
SELECT count(*) AS upcasters FROM evlog.upcasters WHERE type = 'guard.extreme';

-- NULL in any argument: STRICT declarations, and the C checks behind them
-- (called through non-STRICT declarations, as a database not yet updated
-- might have them)
SELECT * FROM evlog_verify_chain(NULL);
SELECT evlog_define_upcaster(NULL, 1, 'up(jsonb)') IS NULL AS strict_null;
SELECT try($$SELECT public.evlog_protect(NULL)$$);
SELECT try($$SELECT public.evlog_define_event_type(NULL, 1)$$);
SELECT try($$SELECT public.evlog_define_event_type('guard.extreme', NULL)$$);
CREATE FUNCTION lax_upcaster(text, integer, regprocedure) RETURNS void
  LANGUAGE C AS '$libdir/evlog', 'evlog_define_upcaster';
CREATE FUNCTION lax_verify(bigint) RETURNS TABLE(checked bigint, first_bad_seq bigint)
  LANGUAGE C AS '$libdir/evlog', 'evlog_verify_chain';
SELECT try($$SELECT public.lax_upcaster(NULL, 1, 'public.up(jsonb)')$$);
SELECT try($$SELECT public.lax_upcaster('guard.extreme', NULL, 'public.up(jsonb)')$$);
SELECT try($$SELECT public.lax_upcaster('guard.extreme', 1, NULL)$$);
SELECT try($$SELECT * FROM public.lax_verify(NULL)$$);
DROP FUNCTION lax_upcaster(text, integer, regprocedure), lax_verify(bigint), up(jsonb);
SELECT evlog_head() = :head_before + 2 AS two_appended, * FROM log_is_whole();

-- clean up: the log goes, deliberately
DROP TABLE parent_t, child_t, part_t, index_names;
DROP SCHEMA elsewhere;
DROP ROLE evlog_owner, evlog_other;
BEGIN;
SET LOCAL evlog.allow_drop = on;
DROP EXTENSION evlog;
COMMIT;

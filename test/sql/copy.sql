-- COPY ... FROM STDIN into evlog.append_queue (copy.c): the rows are
-- appended without a trigger call per row, with COPY's parser, options,
-- column defaults, privileges and error context. Anything else falls back to
-- the view's INSTEAD OF trigger. pg_stat_get_xact_function_calls counts the
-- trigger's calls (track_functions = all; read twice in one transaction, as
-- the count may include earlier transactions not yet reported), so each case
-- shows which path ran.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
SELECT evlog_head() AS h0 \gset
SET track_functions = 'all';
CREATE FUNCTION trigger_calls() RETURNS bigint LANGUAGE sql AS
  $$ SELECT coalesce(pg_stat_get_xact_function_calls('evlog.append_queue_insert'::regproc), 0) $$;

-- text format, defaults for metadata and type_version
BEGIN;
SELECT trigger_calls() AS c0 \gset
COPY evlog.append_queue (stream, type, payload) FROM STDIN;
copy-1	copy.loaded	{"n": 1}
copy-1	copy.loaded	{"n": 2}
copy-2	copy.loaded	{"n": 3}
\.
SELECT trigger_calls() - :c0 AS trigger_calls;
COMMIT;
SELECT seq - :h0 AS seq, stream, stream_version, type_version, payload, metadata
FROM evlog.events WHERE seq > :h0 ORDER BY seq;

-- CSV with idempotency keys and expected versions: a retried row is a no-op
COPY evlog.append_queue (stream, type, payload, idempotency_key, expected_version) FROM STDIN (FORMAT csv);
copy-1,copy.loaded,"{""n"": 4}",copy-key-4,2
copy-3,copy.loaded,"{""n"": 5}",copy-key-5,0
copy-1,copy.loaded,"{""n"": 4}",copy-key-4,
\.
SELECT seq - :h0 AS seq, stream, stream_version, idempotency_key
FROM evlog.events WHERE seq > :h0 + 3 ORDER BY seq;

-- a bad row fails the COPY with its line, and nothing of it is written
SELECT evlog_head() AS h1 \gset
COPY evlog.append_queue (stream, type, payload) FROM STDIN;
copy-4	copy.loaded	{"n": 6}
copy-4	Not A Type	{"n": 7}
\.
COPY evlog.append_queue (stream, type, payload, expected_version) FROM STDIN;
copy-1	copy.loaded	{"n": 8}	7
\.
COPY evlog.append_queue (stream, type, payload) FROM STDIN;
copy-5	copy.loaded	not json
\.
SELECT evlog_head() - :h1 AS written;

-- more rows than one chunk (1000), generated into a file of a COPY command
-- and its data, read with \i
\getenv abs_builddir PG_ABS_BUILDDIR
\set chunks :abs_builddir '/results/copy_chunks.sql'
\pset tuples_only on
\pset format unaligned
\o :chunks
\qecho 'COPY evlog.append_queue (stream, type, payload, idempotency_key) FROM STDIN;'
SELECT 'chunk-' || i % 7 || E'\tcopy.chunked\t{"i": ' || i || E'}\tchunk-key-' || i
FROM generate_series(1, 2500) i;
\qecho '\\.'
\o
\pset tuples_only off
\pset format aligned
BEGIN;
SELECT trigger_calls() AS c0 \gset
\i :chunks
SELECT trigger_calls() - :c0 AS trigger_calls;
COMMIT;
SELECT count(*) AS events, count(DISTINCT stream) AS streams,
       bool_and(stream_version = v) AS versions_ok
FROM (SELECT stream, stream_version,
             row_number() OVER (PARTITION BY stream ORDER BY seq) AS v
      FROM evlog.events WHERE type = 'copy.chunked') e;
-- an append that fails names its own line, not the chunk's last
COPY evlog.append_queue (stream, type, payload, idempotency_key) FROM STDIN;
chunk-8	copy.chunked	{"i": 1}	chunk-key-new-1
chunk-8	copy.chunked	{"i": 2}	chunk-key-new-2
chunk-8	copy.chunked	{"i": 3}	chunk-key-7
chunk-8	copy.chunked	{"i": 4}	chunk-key-new-4
\.
SELECT count(*) FROM evlog.events WHERE stream = 'chunk-8';

-- FREEZE is PostgreSQL's to refuse for a view
COPY evlog.append_queue (stream, type, payload) FROM STDIN (FREEZE);
copy-5	copy.loaded	{}
\.

-- privileges as COPY checks them: INSERT on the view, or on every column copied
CREATE ROLE evlog_copier;
GRANT USAGE ON SCHEMA evlog TO evlog_copier;
SET ROLE evlog_copier;
COPY evlog.append_queue (stream, type, payload) FROM STDIN;
copy-6	copy.loaded	{}
\.
RESET ROLE;
GRANT INSERT (stream, type, payload) ON evlog.append_queue TO evlog_copier;
SET ROLE evlog_copier;
COPY evlog.append_queue (stream, type, payload, metadata) FROM STDIN;
copy-6	copy.loaded	{}	{}
\.
COPY evlog.append_queue (stream, type, payload) FROM STDIN;
copy-6	copy.loaded	{"by": "copier"}
\.
RESET ROLE;
SELECT stream, actor, payload FROM evlog.events WHERE stream = 'copy-6';
REVOKE ALL ON evlog.append_queue FROM evlog_copier;
REVOKE USAGE ON SCHEMA evlog FROM evlog_copier;
DROP ROLE evlog_copier;

-- COPY with a WHERE clause, and COPY into a view that has a trigger of the
-- user's too, run through the trigger
BEGIN;
SELECT trigger_calls() AS c0 \gset
COPY evlog.append_queue (stream, type, payload) FROM STDIN WHERE stream <> 'skip';
copy-7	copy.loaded	{"n": 9}
skip	copy.loaded	{"n": 10}
\.
SELECT trigger_calls() - :c0 AS trigger_calls;
COMMIT;
CREATE FUNCTION copy_notice() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'the user''s trigger ran'; RETURN NULL; END $$;
CREATE TRIGGER copy_notice AFTER INSERT ON evlog.append_queue
  FOR EACH STATEMENT EXECUTE FUNCTION copy_notice();
BEGIN;
SELECT trigger_calls() AS c0 \gset
COPY evlog.append_queue (stream, type, payload) FROM STDIN;
copy-7	copy.loaded	{"n": 11}
\.
SELECT trigger_calls() - :c0 AS trigger_calls;
COMMIT;
DROP TRIGGER copy_notice ON evlog.append_queue;
DROP FUNCTION copy_notice();
SELECT seq - :h0 AS seq, stream, stream_version, payload
FROM evlog.events WHERE stream = 'copy-7' ORDER BY seq;

-- the log is whole (G1, G3, G7)
SELECT * FROM log_is_whole();
DROP FUNCTION trigger_calls();
RESET track_functions;

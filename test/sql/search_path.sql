-- A hostile search_path, with functions, an aggregate and an operator that
-- shadow pg_catalog's, changes nothing evlog does: every function pins its own.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
CREATE SCHEMA hostile;
CREATE FUNCTION hostile.sha256(bytea) RETURNS bytea LANGUAGE sql AS $$ SELECT '\x00'::bytea $$;
CREATE FUNCTION hostile.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$ SELECT 'object' $$;
CREATE FUNCTION hostile.always(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = hostile.always);
CREATE FUNCTION hostile.always_gt(bigint, bigint) RETURNS boolean LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR hostile.> (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = hostile.always_gt);
CREATE AGGREGATE hostile.max(bigint) (SFUNC = int8smaller, STYPE = bigint);
CREATE FUNCTION hostile.evlog_head() RETURNS bigint LANGUAGE sql AS $$ SELECT -1::bigint $$;

-- a log with events, a stream's among them, to read back
SELECT evlog_append('order-1', 'order.placed', '{"total": 10}') AS seq;
SELECT evlog_append('order-1', 'order.paid', '{"total": 10}') AS seq;
SELECT evlog_append('order-2', 'order.placed', '{"total": 5}') AS seq;
SELECT evlog_head() AS head, (SELECT count(*) FROM evlog.events WHERE stream = 'order-1') AS order_1 \gset
-- (the test helper pins its own search_path too)
ALTER FUNCTION public.try(text) SET search_path = pg_catalog;
SET search_path = hostile, public, pg_catalog;
-- the shadows are real: unqualified SQL of the session resolves to them
SELECT max(x) AS hostile_max FROM (VALUES (1::bigint), (2::bigint)) v(x);
SELECT 'a'::text = 'b'::text AS hostile_equals;
-- evlog's functions are not fooled
SELECT public.evlog_head() = :head AS head_intact;
SELECT count(*) = :order_1 AS read_stream_intact FROM public.evlog_read_stream('order-1');
SELECT count(*) FROM public.evlog_read(:head - 2) ;
SELECT public.evlog_append('hostile-1', 'x.appended', '{"n": 1}') = :head + 1 AS append_intact;
SELECT try($$SELECT public.evlog_append('hostile-1', 'x.appended', '[1]')$$);
SELECT checked = :head + 1 AS all_checked, first_bad_seq FROM public.evlog_verify_chain();
RESET search_path;
DROP SCHEMA hostile CASCADE;

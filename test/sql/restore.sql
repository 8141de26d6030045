-- Restores in any order (issue 18): rows inserted into evlog.events directly
-- are admitted whatever their order and proven whole when the statement ends:
-- seqs from head + 1 without a hole, chained digests, recorded_at not
-- decreasing, each stream's versions without a hole in seq order.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql

-- restore_digest(prev, e): the chain's digest of e after prev, in plain SQL
-- (README "The hash chain"); rechained(t): the rows of table t in seq order
-- with their digests chained again
CREATE FUNCTION restore_digest(prev bytea, e evlog.events) RETURNS bytea LANGUAGE sql AS $$
  SELECT sha256(prev || convert_to('evlog1', 'UTF8') || int8send(e.seq)
                || int4send(octet_length(e.stream)) || convert_to(e.stream, 'UTF8')
                || int8send(e.stream_version)
                || int4send(octet_length(e.type)) || convert_to(e.type, 'UTF8')
                || int4send(e.type_version)
                || int4send(octet_length(e.payload::text)) || convert_to(e.payload::text, 'UTF8')
                || int4send(octet_length(e.metadata::text)) || convert_to(e.metadata::text, 'UTF8')
                || CASE WHEN e.idempotency_key IS NULL THEN '\x00'::bytea
                        ELSE '\x01'::bytea || int4send(octet_length(e.idempotency_key))
                             || convert_to(e.idempotency_key, 'UTF8') END
                || int4send(octet_length(e.actor)) || convert_to(e.actor, 'UTF8')
                || int8send((extract(epoch FROM e.recorded_at - '2000-01-01 00:00:00+00') * 1000000)::bigint)) $$;
CREATE FUNCTION rechained(t regclass) RETURNS SETOF evlog.events LANGUAGE plpgsql AS $$
DECLARE
  e evlog.events;
  prev bytea := decode(repeat('00', 32), 'hex');
BEGIN
  FOR e IN EXECUTE format('SELECT * FROM %s ORDER BY seq', t) LOOP
    e.digest := restore_digest(prev, e);
    prev := e.digest;
    RETURN NEXT e;
  END LOOP;
END $$;

-- six events of two streams, and variants that are not faithful copies
CREATE TABLE draft AS
  SELECT s AS seq, CASE WHEN s % 2 = 1 THEN 'a' ELSE 'b' END AS stream, (s + 1) / 2 AS stream_version,
         'restore.tested'::text AS type, 1 AS type_version, jsonb_build_object('n', s) AS payload,
         '{}'::jsonb AS metadata, CASE WHEN s < 6 THEN 'key-' || s END AS idempotency_key,
         'restorer'::text AS actor, '2026-01-01 00:00:00+00'::timestamptz + s * interval '1 second' AS recorded_at,
         NULL::bytea AS digest
  FROM generate_series(1, 6) s;
CREATE TABLE src AS SELECT * FROM rechained('draft');
CREATE TABLE src_payload AS
  SELECT seq, stream, stream_version, type, type_version,
         CASE WHEN seq = 4 THEN '{"n": 40}' ELSE payload END AS payload,
         metadata, idempotency_key, actor, recorded_at, digest FROM src;
UPDATE draft SET recorded_at = recorded_at - interval '1 minute' WHERE seq = 5;
CREATE TABLE src_time AS SELECT * FROM rechained('draft');
UPDATE draft SET recorded_at = recorded_at + interval '1 minute' WHERE seq = 5;
UPDATE draft SET stream_version = 4 WHERE seq = 6;
CREATE TABLE src_hole AS SELECT * FROM rechained('draft');
UPDATE draft SET stream_version = 3 WHERE seq = 6;
UPDATE draft SET stream_version = 5 - stream_version WHERE seq IN (3, 5);
CREATE TABLE src_order AS SELECT * FROM rechained('draft');
DROP FUNCTION rechained(regclass), restore_digest(bytea, evlog.events);
DROP TABLE draft;

-- refused, naming the seq; the log stays empty
SELECT try($$INSERT INTO evlog.events SELECT * FROM public.src WHERE seq <> 3 ORDER BY seq DESC$$);
SELECT try($$INSERT INTO evlog.events SELECT * FROM public.src WHERE seq > 1$$);
SELECT try($$INSERT INTO evlog.events SELECT * FROM public.src_payload ORDER BY seq DESC$$);
SELECT try($$INSERT INTO evlog.events SELECT * FROM public.src_time ORDER BY seq DESC$$);
SELECT try($$INSERT INTO evlog.events SELECT * FROM public.src_hole ORDER BY seq DESC$$);
SELECT try($$INSERT INTO evlog.events SELECT * FROM public.src_order ORDER BY seq DESC$$);
SELECT count(*) AS events FROM evlog.events;

-- a faithful copy in any order is admitted; appends continue it
INSERT INTO evlog.events SELECT * FROM src ORDER BY md5(seq::text);
SELECT * FROM log_is_whole();
SELECT evlog_append('a', 'restore.tested', '{"n": 7}') AS seq;
SELECT evlog_append('b', 'restore.tested', '{"n": 4}', '{}', 'key-4') AS retried_seq;
SELECT try($$INSERT INTO evlog.events SELECT * FROM public.src WHERE seq = 2$$);
-- a duplicate stream version is the unique index's error
SELECT try($$INSERT INTO evlog.events
             SELECT 8, stream, stream_version, type, type_version, payload, metadata, NULL, actor, now(), digest
             FROM public.src WHERE seq = 2$$);

-- a copy in several statements of one transaction, each whole when it ends;
-- rows rolled back to a savepoint are proven again from what survived
BEGIN;
SET LOCAL evlog.allow_drop = on;
DROP EXTENSION evlog;
CREATE EXTENSION evlog;
SELECT try($$INSERT INTO evlog.events SELECT * FROM public.src WHERE seq > 3$$);
INSERT INTO evlog.events SELECT * FROM src WHERE seq <= 3 ORDER BY seq DESC;
SAVEPOINT two;
INSERT INTO evlog.events SELECT * FROM src WHERE seq > 3 ORDER BY seq DESC;
ROLLBACK TO two;
SELECT max(seq) AS head FROM evlog.events;
SELECT try($$INSERT INTO evlog.events SELECT * FROM public.src WHERE seq > 4$$);
INSERT INTO evlog.events SELECT * FROM src WHERE seq > 3 ORDER BY seq DESC;
SELECT evlog_append('a', 'restore.tested', '{"n": 7}') AS seq;
COMMIT;
SELECT * FROM log_is_whole();
SELECT seq, stream, stream_version, payload FROM evlog.events ORDER BY seq;

DROP TABLE src, src_payload, src_time, src_hole, src_order;

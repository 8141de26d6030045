-- What an appending transaction remembers of the head and of its streams'
-- versions (appendcache.c) must never outlive what it describes: a rolled
-- back savepoint, a caught error, a direct INSERT, many rows of one COPY.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
SELECT evlog_head() AS h0 \gset

-- a savepoint rolled back takes its events, its versions and its head along
BEGIN;
SELECT evlog_append('cache-a', 'cache.tested', '{"n": 1}') - :h0 AS seq;
SAVEPOINT sp;
SELECT evlog_append('cache-a', 'cache.tested', '{"n": 2}') - :h0 AS seq;
SELECT evlog_append('cache-b', 'cache.tested', '{"n": 3}') - :h0 AS seq;
ROLLBACK TO SAVEPOINT sp;
SELECT evlog_append('cache-a', 'cache.tested', '{"n": 4}') - :h0 AS seq;
SELECT evlog_append('cache-b', 'cache.tested', '{"n": 5}') - :h0 AS seq;
COMMIT;
SELECT seq - :h0 AS seq, stream, stream_version, payload->>'n' AS n
FROM evlog.events WHERE seq > :h0 ORDER BY seq;

-- an error caught in PL/pgSQL (a subtransaction) in the middle of a batch
DO $$
BEGIN
  PERFORM evlog_append('cache-a', 'cache.tested', '{"n": 6}');
  BEGIN
    PERFORM evlog_append_batch(ARRAY[
      ROW('cache-a', 'cache.tested', '{"n": 7}', '{}', NULL, NULL, 1)::evlog.new_event,
      ROW('cache-a', 'cache.tested', '{"n": 8}', '{}', NULL, 99, 1)::evlog.new_event]);
  EXCEPTION WHEN SQLSTATE 'EV003' THEN
    RAISE NOTICE 'caught: %', SQLERRM;
  END;
  PERFORM evlog_append('cache-a', 'cache.tested', '{"n": 9}');
END $$;
SELECT seq - :h0 AS seq, stream, stream_version, payload->>'n' AS n
FROM evlog.events WHERE seq > :h0 + 3 ORDER BY seq;

-- many rows of one INSERT into evlog.append_queue, over three streams, with
-- expected versions that only hold if each row sees the rows before it
INSERT INTO evlog.append_queue (stream, type, payload, expected_version)
SELECT 'cache-q' || (i % 3), 'cache.queued', jsonb_build_object('i', i), (i - 1) / 3
FROM generate_series(1, 9) i;
SELECT stream, array_agg(stream_version ORDER BY seq) AS versions,
       array_agg((payload->>'i')::int ORDER BY seq) AS rows
FROM evlog.events WHERE stream LIKE 'cache-q%' GROUP BY stream ORDER BY stream;

-- a superuser's direct INSERT that continues the log, between two appends of
-- one transaction: the second append sees it
BEGIN;
SELECT evlog_append('cache-d', 'cache.tested', '{"n": 10}') - :h0 AS seq;
INSERT INTO evlog.events (seq, stream, stream_version, type, type_version, payload,
                          metadata, idempotency_key, actor, recorded_at, digest)
SELECT seq + 1, stream, stream_version + 1, type, type_version, '{"n": 11}', metadata,
       NULL, actor, recorded_at,
       sha256(digest || convert_to('evlog1', 'UTF8') || int8send(seq + 1)
              || int4send(octet_length(stream)) || convert_to(stream, 'UTF8')
              || int8send(stream_version + 1)
              || int4send(octet_length(type)) || convert_to(type, 'UTF8')
              || int4send(type_version)
              || int4send(octet_length('{"n": 11}'::jsonb::text)) || convert_to('{"n": 11}'::jsonb::text, 'UTF8')
              || int4send(octet_length(metadata::text)) || convert_to(metadata::text, 'UTF8')
              || '\x00'::bytea
              || int4send(octet_length(actor)) || convert_to(actor, 'UTF8')
              || int8send((extract(epoch FROM recorded_at - '2000-01-01 00:00:00+00') * 1000000)::bigint))
FROM evlog.events WHERE seq = evlog_head();
SELECT evlog_append('cache-d', 'cache.tested', '{"n": 12}') - :h0 AS seq;
COMMIT;
SELECT seq - :h0 AS seq, stream_version, payload->>'n' AS n
FROM evlog.events WHERE stream = 'cache-d' ORDER BY seq;

-- evlog_append_batch first appends without looking keys up (bulk.c) and
-- falls back to looking each one up when the unique index finds a duplicate:
-- a key twice in one batch is a retry of the first, or EV002
SELECT evlog_append_batch(ARRAY[
  ROW('cache-k', 'cache.tested', '{"n": 13}', '{}', 'cache-key-1', NULL, 1),
  ROW('cache-k', 'cache.tested', '{"n": 14}', '{}', 'cache-key-2', NULL, 1),
  ROW('cache-k', 'cache.tested', '{"n": 13}', '{"again": true}', 'cache-key-1', NULL, 1)
]::evlog.new_event[]) AS seqs \gset
SELECT array_agg(s - :h0 ORDER BY o) AS seqs FROM unnest(:'seqs'::bigint[]) WITH ORDINALITY u(s, o);
SELECT try($$SELECT public.evlog_append_batch(ARRAY[
  ROW('cache-k', 'cache.tested', '{"n": 15}', '{}', 'cache-key-3', NULL, 1),
  ROW('cache-k', 'cache.tested', '{"n": 99}', '{}', 'cache-key-2', NULL, 1)]::evlog.new_event[])$$);
SELECT seq - :h0 AS seq, stream_version, payload, idempotency_key
FROM evlog.events WHERE stream = 'cache-k' ORDER BY seq;
-- and the next append continues the log
SELECT evlog_append('cache-k', 'cache.tested', '{"n": 16}') - :h0 AS seq;

-- the log is whole (G1, G3, G7)
SELECT * FROM log_is_whole();

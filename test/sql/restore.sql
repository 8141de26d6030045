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

-- COPY into an empty log (pg_restore, psql -f of a plain dump) loads the rows
-- in batches and builds the log's indexes once, after them; the same proof
-- follows, and anything refused leaves the log empty
SET evlog.allow_drop = on;
DROP EXTENSION evlog;
CREATE EXTENSION evlog;
RESET evlog.allow_drop;
-- a row twice: the primary key's build refuses it
COPY evlog.events FROM stdin;
1	a	1	restore.tested	1	{"n": 1}	{}	key-1	restorer	2026-01-01 00:00:01+00	\\x6d3949337bdadf73067d00e0b470f19abad0e6efd9d08a6c7e0a46a971650fc4
2	b	1	restore.tested	1	{"n": 2}	{}	key-2	restorer	2026-01-01 00:00:02+00	\\xf4ac378172029aa7762bba3baf47618bec9851ef48ab93f8c058a48c3852efff
1	a	1	restore.tested	1	{"n": 1}	{}	key-1	restorer	2026-01-01 00:00:01+00	\\x6d3949337bdadf73067d00e0b470f19abad0e6efd9d08a6c7e0a46a971650fc4
\.
-- a row left out: the proof names the seq
COPY evlog.events FROM stdin;
6	b	3	restore.tested	1	{"n": 6}	{}	\N	restorer	2026-01-01 00:00:06+00	\\xdc5c05720cbf79082062eb5695467f71c48644de8cee79d9be4b0f010636f916
5	a	3	restore.tested	1	{"n": 5}	{}	key-5	restorer	2026-01-01 00:00:05+00	\\x666cf04eda75b3bfc2695f172e91f48380b0b365f9d3244a6330073f8d8f0c5d
4	b	2	restore.tested	1	{"n": 4}	{}	key-4	restorer	2026-01-01 00:00:04+00	\\xab61e747753ace06dbbe92b681f5765c416d4b4f1ff0a7513afa6f05442e8055
2	b	1	restore.tested	1	{"n": 2}	{}	key-2	restorer	2026-01-01 00:00:02+00	\\xf4ac378172029aa7762bba3baf47618bec9851ef48ab93f8c058a48c3852efff
3	a	2	restore.tested	1	{"n": 3}	{}	key-3	restorer	2026-01-01 00:00:03+00	\\x9d3fdcb4c8e4688f572679e9cf81b27499bee1faa885556dab7f4c4ecc692fde
\.
-- a stream's versions out of seq order, and a hole in a stream's versions
-- (the chain rebuilt around each): the proof names the seq
COPY evlog.events FROM stdin;
6	b	3	restore.tested	1	{"n": 6}	{}	\N	restorer	2026-01-01 00:00:06+00	\\xbf85f8bd999fb1acb155982f3c8e75e7066456a115c7cb4132ffcaa6f21fde68
4	b	2	restore.tested	1	{"n": 4}	{}	key-4	restorer	2026-01-01 00:00:04+00	\\x64e334f1d34f2fd74dd127a784db739fa04d7f7d1ca30fe02fa3a2dd3b023e82
1	a	1	restore.tested	1	{"n": 1}	{}	key-1	restorer	2026-01-01 00:00:01+00	\\x6d3949337bdadf73067d00e0b470f19abad0e6efd9d08a6c7e0a46a971650fc4
2	b	1	restore.tested	1	{"n": 2}	{}	key-2	restorer	2026-01-01 00:00:02+00	\\xf4ac378172029aa7762bba3baf47618bec9851ef48ab93f8c058a48c3852efff
5	a	2	restore.tested	1	{"n": 5}	{}	key-5	restorer	2026-01-01 00:00:05+00	\\xd9ff2c1ff3ab6d23c3ed258bd5a0781e6dee189aab84a2a25bd675e78fe66067
3	a	3	restore.tested	1	{"n": 3}	{}	key-3	restorer	2026-01-01 00:00:03+00	\\x9431f9205df36a51ffbf64594a34aa8ac2c5cf0b7526cb34bd19cf9bf7874bec
\.
COPY evlog.events FROM stdin;
6	b	4	restore.tested	1	{"n": 6}	{}	\N	restorer	2026-01-01 00:00:06+00	\\x7ca2e7aa3de4ab5a0a5021bddccb517949ce0aaff24325d66df6f632ed467ff9
4	b	2	restore.tested	1	{"n": 4}	{}	key-4	restorer	2026-01-01 00:00:04+00	\\xab61e747753ace06dbbe92b681f5765c416d4b4f1ff0a7513afa6f05442e8055
1	a	1	restore.tested	1	{"n": 1}	{}	key-1	restorer	2026-01-01 00:00:01+00	\\x6d3949337bdadf73067d00e0b470f19abad0e6efd9d08a6c7e0a46a971650fc4
2	b	1	restore.tested	1	{"n": 2}	{}	key-2	restorer	2026-01-01 00:00:02+00	\\xf4ac378172029aa7762bba3baf47618bec9851ef48ab93f8c058a48c3852efff
5	a	3	restore.tested	1	{"n": 5}	{}	key-5	restorer	2026-01-01 00:00:05+00	\\x666cf04eda75b3bfc2695f172e91f48380b0b365f9d3244a6330073f8d8f0c5d
3	a	2	restore.tested	1	{"n": 3}	{}	key-3	restorer	2026-01-01 00:00:03+00	\\x9d3fdcb4c8e4688f572679e9cf81b27499bee1faa885556dab7f4c4ecc692fde
\.
-- a row that breaks a constraint: COPY's context names the line
COPY evlog.events FROM stdin;
2	b	1	restore.tested	1	{"n": 2}	{}	key-2	restorer	2026-01-01 00:00:02+00	\\xf4ac378172029aa7762bba3baf47618bec9851ef48ab93f8c058a48c3852efff
1	a	1	Restore Tested	1	{"n": 1}	{}	key-1	restorer	2026-01-01 00:00:01+00	\\x6d3949337bdadf73067d00e0b470f19abad0e6efd9d08a6c7e0a46a971650fc4
\.
SELECT count(*) AS events FROM evlog.events;
-- a faithful copy in any order is admitted, with valid indexes; appends continue it
COPY evlog.events FROM stdin;
6	b	3	restore.tested	1	{"n": 6}	{}	\N	restorer	2026-01-01 00:00:06+00	\\xdc5c05720cbf79082062eb5695467f71c48644de8cee79d9be4b0f010636f916
1	a	1	restore.tested	1	{"n": 1}	{}	key-1	restorer	2026-01-01 00:00:01+00	\\x6d3949337bdadf73067d00e0b470f19abad0e6efd9d08a6c7e0a46a971650fc4
4	b	2	restore.tested	1	{"n": 4}	{}	key-4	restorer	2026-01-01 00:00:04+00	\\xab61e747753ace06dbbe92b681f5765c416d4b4f1ff0a7513afa6f05442e8055
2	b	1	restore.tested	1	{"n": 2}	{}	key-2	restorer	2026-01-01 00:00:02+00	\\xf4ac378172029aa7762bba3baf47618bec9851ef48ab93f8c058a48c3852efff
5	a	3	restore.tested	1	{"n": 5}	{}	key-5	restorer	2026-01-01 00:00:05+00	\\x666cf04eda75b3bfc2695f172e91f48380b0b365f9d3244a6330073f8d8f0c5d
3	a	2	restore.tested	1	{"n": 3}	{}	key-3	restorer	2026-01-01 00:00:03+00	\\x9d3fdcb4c8e4688f572679e9cf81b27499bee1faa885556dab7f4c4ecc692fde
\.
SELECT * FROM log_is_whole();
SELECT indexrelid::regclass AS index, indisvalid, indisready
FROM pg_index WHERE indrelid = 'evlog.events'::regclass ORDER BY 1;
SELECT seq FROM evlog.events WHERE idempotency_key = 'key-5';
SELECT evlog_append('a', 'restore.tested', '{"n": 7}') AS seq;
-- a COPY into a log that is not empty goes through the guard triggers
COPY evlog.events FROM stdin;
2	b	1	restore.tested	1	{"n": 2}	{}	key-2	restorer	2026-01-01 00:00:02+00	\\xf4ac378172029aa7762bba3baf47618bec9851ef48ab93f8c058a48c3852efff
\.
SELECT * FROM log_is_whole();
SELECT seq, stream, stream_version, payload FROM evlog.events ORDER BY seq;

DROP TABLE src, src_payload, src_time, src_hole, src_order;

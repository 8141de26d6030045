-- The bulk paths: evlog_append_batch and evlog.append_queue (INSERT and COPY)
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
SELECT evlog_head() AS head_before \gset
SELECT evlog_append_batch(ARRAY[
  ROW('order-1', 'order.placed', '{"total": 10}', '{}', 'o-1', 0, 1),
  ROW('order-1', 'order.paid', '{"total": 10}', '{}', 'o-2', 1, 1),
  ROW('order-2', 'order.placed', '{"total": 5}', '{"src": "batch"}', NULL, NULL, 2)
]::evlog.new_event[]) = ARRAY[:head_before + 1, :head_before + 2, :head_before + 3]::bigint[] AS seqs_in_order;
-- a retried batch returns the same seqs for keyed events, and appends the unkeyed one again
SELECT evlog_append_batch(ARRAY[
  ROW('order-1', 'order.placed', '{"total": 10}', '{}', 'o-1', 0, 1),
  ROW('order-1', 'order.paid', '{"total": 10}', '{}', 'o-2', 1, 1)
]::evlog.new_event[]) = ARRAY[:head_before + 1, :head_before + 2]::bigint[] AS retry_same_seqs;
SELECT evlog_append_batch('{}'::evlog.new_event[]);
-- one bad event (wrong expected_version) fails the whole batch and writes nothing
SELECT try($$SELECT evlog_append_batch(ARRAY[
  ROW('order-3', 'order.placed', '{}', '{}', NULL, 0, 1),
  ROW('order-3', 'order.paid', '{}', '{}', NULL, 0, 1)]::evlog.new_event[])$$);
SELECT count(*) FROM evlog.events WHERE stream = 'order-3';

-- INSERT into the queue view, with RETURNING
INSERT INTO evlog.append_queue (stream, type, payload, idempotency_key)
VALUES ('order-4', 'order.placed', '{"total": 1}', 'q-1'),
       ('order-4', 'order.paid', '{"total": 1}', 'q-2')
RETURNING seq - :head_before AS seq_offset, stream, type, metadata, type_version;
-- a retry through the queue is a no-op that returns the original seq
INSERT INTO evlog.append_queue (stream, type, payload, idempotency_key)
VALUES ('order-4', 'order.placed', '{"total": 1}', 'q-1')
RETURNING seq - :head_before AS seq_offset;
SELECT count(*) FROM evlog.append_queue;

-- COPY into the queue view
COPY evlog.append_queue (stream, type, payload, idempotency_key) FROM stdin;
order-5	order.placed	{"total": 7}	c-1
order-5	order.shipped	{"carrier": "post"}	c-2
order-6	order.placed	{"total": 3}	\N
\.
SELECT seq - :head_before AS seq_offset, stream, stream_version, type, payload, idempotency_key
FROM evlog.events WHERE seq > :head_before ORDER BY seq;
SELECT count(*) = max(seq) AS gapless FROM evlog.events;
SELECT * FROM evlog_verify_chain();

-- evlog_append: seq, stream_version, idempotency, expected_version, reads
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql

-- the first events of an empty log
SELECT evlog_head();
SELECT evlog_append('ticket-1', 'ticket.opened', '{"title": "first"}');
SELECT evlog_append('ticket-1', 'ticket.transitioned', '{"to": "doing"}', '{"trace": "t1"}');
SELECT evlog_append('ticket-2', 'ticket.opened', '{"title": "second"}', type_version => 2);
SELECT evlog_head();
SELECT seq, stream, stream_version, type, type_version, payload, metadata,
       idempotency_key, actor = current_user AS actor_ok, octet_length(digest) AS digest_bytes
FROM evlog.events ORDER BY seq;

-- recorded_at never decreases along seq (G6)
SELECT bool_and(recorded_at >= lag) AS ordered
FROM (SELECT recorded_at, lag(recorded_at, 1, '-infinity') OVER (ORDER BY seq) FROM evlog.events) s;

-- idempotency (G4): a retry returns the original seq and writes nothing,
-- even with other metadata and a now-wrong expected_version
SELECT evlog_append('ticket-3', 'ticket.opened', '{"title": "third"}', idempotency_key => 'k-3');
SELECT evlog_append('ticket-3', 'ticket.opened', '{"title": "third"}', '{"retry": 1}', 'k-3');
SELECT evlog_append('ticket-3', 'ticket.opened', '{"title": "third"}', '{}', 'k-3', expected_version => 0);
SELECT count(*) FROM evlog.events WHERE stream = 'ticket-3';
-- equal jsonb written differently is the same payload
SELECT evlog_append('ticket-3', 'ticket.opened', '{ "title" :"third" }', idempotency_key => 'k-3');
-- the same key with other content is EV002, naming the event
SELECT try($$SELECT evlog_append('ticket-3', 'ticket.opened', '{"title": "other"}', idempotency_key => 'k-3')$$);
SELECT try($$SELECT evlog_append('ticket-9', 'ticket.opened', '{"title": "third"}', idempotency_key => 'k-3')$$);
SELECT try($$SELECT evlog_append('ticket-3', 'ticket.closed', '{"title": "third"}', idempotency_key => 'k-3')$$);
SELECT try($$SELECT evlog_append('ticket-3', 'ticket.opened', '{"title": "third"}', idempotency_key => 'k-3', type_version => 2)$$);

-- expected_version (G3): 0 means a new stream
SELECT evlog_append('ticket-4', 'ticket.opened', '{}', expected_version => 0);
SELECT evlog_append('ticket-4', 'ticket.commented', '{}', expected_version => 1);
SELECT try($$SELECT evlog_append('ticket-4', 'ticket.commented', '{}', expected_version => 1)$$);
SELECT try($$SELECT evlog_append('ticket-4', 'ticket.commented', '{}', expected_version => 0)$$);
SELECT try($$SELECT evlog_append('ticket-5', 'ticket.opened', '{}', expected_version => 3)$$);
SELECT evlog_head();

-- an aborted append leaves no hole (G1)
BEGIN;
SELECT evlog_append('ticket-6', 'ticket.opened', '{}');
ROLLBACK;
SELECT evlog_append('ticket-6', 'ticket.opened', '{}');
-- a rolled-back savepoint leaves no hole either
BEGIN;
SELECT evlog_append('ticket-6', 'ticket.commented', '{"n": 1}');
SAVEPOINT s;
SELECT evlog_append('ticket-6', 'ticket.commented', '{"n": 2}');
ROLLBACK TO SAVEPOINT s;
SELECT evlog_append('ticket-6', 'ticket.commented', '{"n": 3}');
COMMIT;
SELECT seq, stream, stream_version, payload FROM evlog.events WHERE seq > 5 ORDER BY seq;
SELECT count(*) = max(seq) AS gapless FROM evlog.events;

-- reads
SELECT seq, type FROM evlog_read();
SELECT seq, type FROM evlog_read(after_seq => 3, max_count => 2);
SELECT seq, type FROM evlog_read(0, 100, ARRAY['ticket.opened']);
SELECT seq, stream_version FROM evlog_read_stream('ticket-6');
SELECT seq, stream_version FROM evlog_read_stream('ticket-6', after_version => 1);
SELECT count(*) FROM evlog_read_stream('no-such-stream');

-- the hash chain (G7)
SELECT * FROM evlog_verify_chain();
SELECT * FROM evlog_verify_chain(5);
SELECT * FROM evlog_verify_chain(100);
SELECT try($$SELECT * FROM evlog_verify_chain(0)$$);
-- digest(1) recomputed by hand from the documented canonical bytes
SELECT digest = sha256(
         '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea
         || convert_to('evlog1', 'UTF8')
         || int8send(seq)
         || int4send(octet_length(stream)) || convert_to(stream, 'UTF8')
         || int8send(stream_version)
         || int4send(octet_length(type)) || convert_to(type, 'UTF8')
         || int4send(type_version)
         || int4send(octet_length(payload::text)) || convert_to(payload::text, 'UTF8')
         || int4send(octet_length(metadata::text)) || convert_to(metadata::text, 'UTF8')
         || '\x00'::bytea
         || int4send(octet_length(actor)) || convert_to(actor, 'UTF8')
         || int8send((extract(epoch FROM recorded_at - '2000-01-01 00:00:00+00') * 1000000)::bigint)
       ) AS digest_matches
FROM evlog.events WHERE seq = 1;

-- the append is refused where nothing may be written
BEGIN READ ONLY;
SELECT try($$SELECT evlog_append('ticket-7', 'ticket.opened', '{}')$$);
ROLLBACK;

-- evlog.group_commit: appends commit and roll back as usual (the flush
-- itself is checked in test/t/006_group_commit.pl)
SET evlog.group_commit = on;
SELECT evlog_append('ticket-8', 'ticket.opened', '{"title": "group commit"}') AS seq;
BEGIN;
SELECT evlog_append('ticket-8', 'ticket.moved', '{"to": "doing"}') AS seq;
COMMIT;
BEGIN;
SELECT evlog_append('ticket-8', 'ticket.moved', '{"to": "done"}') AS seq;
ROLLBACK;
SET synchronous_commit = off;
SELECT evlog_append('ticket-8', 'ticket.moved', '{"to": "done"}') AS seq;
RESET synchronous_commit;
RESET evlog.group_commit;
SELECT seq, stream_version, payload FROM evlog.events WHERE stream = 'ticket-8' ORDER BY seq;

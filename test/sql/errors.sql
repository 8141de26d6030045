-- Bad input: each case is a clear error with its SQLSTATE, and the log is unchanged
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
-- one event, for the sync registrations below to fold
SELECT evlog_append('ticket-1', 'ticket.opened', '{"title": "first"}') AS seq;
SELECT evlog_head() AS head_before \gset

-- stream
SELECT try($$SELECT evlog_append(NULL, 'a.b', '{}')$$);
SELECT try($$SELECT evlog_append('', 'a.b', '{}')$$);
SELECT try($$SELECT evlog_append(repeat('s', 513), 'a.b', '{}')$$);
-- type
SELECT try($$SELECT evlog_append('s', NULL, '{}')$$);
SELECT try($$SELECT evlog_append('s', '', '{}')$$);
SELECT try($$SELECT evlog_append('s', 'Ticket.opened', '{}')$$);
SELECT try($$SELECT evlog_append('s', 'ticket..opened', '{}')$$);
SELECT try($$SELECT evlog_append('s', 'ticket.', '{}')$$);
SELECT try($$SELECT evlog_append('s', '.ticket', '{}')$$);
SELECT try($$SELECT evlog_append('s', '1ticket', '{}')$$);
SELECT try($$SELECT evlog_append('s', 'ticket opened', '{}')$$);
SELECT try($$SELECT evlog_append('s', 'ticket-opened', '{}')$$);
SELECT try($$SELECT evlog_append('s', repeat('t', 129), '{}')$$);
-- payload
SELECT try($$SELECT evlog_append('s', 'a.b', NULL)$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '[1, 2]')$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '"text"')$$);
SELECT try($$SELECT evlog_append('s', 'a.b', 'null')$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '42')$$);
SET evlog.max_payload_bytes = 100;
SELECT try($$SELECT evlog_append('s', 'a.b', jsonb_build_object('big', repeat('x', 200)))$$);
RESET evlog.max_payload_bytes;
-- metadata
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', NULL)$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', '[]')$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', '"m"')$$);
-- idempotency key
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', '{}', '')$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', '{}', repeat('k', 257))$$);
-- expected_version and type_version
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', expected_version => -1)$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', expected_version => -9223372036854775808)$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', type_version => 0)$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', type_version => -3)$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', type_version => NULL)$$);
-- not JSON at all is the jsonb input error
SELECT try($$SELECT evlog_append('s', 'a.b', '{oops')$$);
-- the bulk path checks every element before writing any
SELECT try($$SELECT evlog_append_batch(ARRAY[ROW('s', 'a.b', '{}', '{}', NULL, NULL, 1), ROW('s', 'A', '{}', '{}', NULL, NULL, 1)]::evlog.new_event[])$$);
SELECT try($$SELECT evlog_append_batch(ARRAY[ROW('s', 'a.b', '{}', '{}', NULL, NULL, 1), NULL]::evlog.new_event[])$$);
SELECT try($$SELECT evlog_append_batch(ARRAY[ROW('s', 'a.b', '{}', NULL, NULL, NULL, 1)]::evlog.new_event[])$$);
SELECT try($$SELECT evlog_append_batch(ARRAY[ROW('s', 'a.b', '{}', '{}', NULL, 5, 1)]::evlog.new_event[])$$);
SELECT try($$INSERT INTO evlog.append_queue (stream, type, payload) VALUES ('s', 'a.b', '[]')$$);
SELECT try($$INSERT INTO evlog.append_queue (stream, type, payload) VALUES ('s', 'a.b', '{}'), ('', 'a.b', '{}')$$);
-- the trigger function serves only evlog.append_queue
CREATE VIEW fake_queue AS SELECT * FROM evlog.append_queue;
CREATE TRIGGER fake INSTEAD OF INSERT ON fake_queue FOR EACH ROW EXECUTE FUNCTION evlog.append_queue_insert();
SELECT try($$INSERT INTO fake_queue (stream, type, payload) VALUES ('s', 'a.b', '{}')$$);
DROP VIEW fake_queue;
-- reads
SELECT try($$SELECT * FROM evlog_read(0, -1)$$);

-- absurd numbers
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', type_version => 2147483648)$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', expected_version => 9223372036854775807)$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}', expected_version => 9223372036854775808)$$);

-- projections: unknown names, wrong handlers, names taken, bad waits
SELECT try($$SELECT evlog_pause('no_such_projection')$$);
SELECT try($$SELECT evlog_resume('no_such_projection')$$);
SELECT try($$SELECT evlog_unregister_projection('no_such_projection')$$);
SELECT try($$SELECT evlog_alter_projection('no_such_projection', mode => 'sync')$$);
SELECT try($$SELECT evlog_catch_up('no_such_projection')$$);
SELECT try($$SELECT evlog_rebuild('no_such_projection')$$);
SELECT try($$SELECT * FROM evlog_verify('no_such_projection')$$);
SELECT try($$SELECT evlog_wait('no_such_projection', 1)$$);
CREATE TABLE err_model (seq bigint);
CREATE FUNCTION err_wrong(e jsonb) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION err_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$ INSERT INTO err_model VALUES (e.seq) $$;
CREATE FUNCTION err_appends(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN PERFORM evlog_append('loop', 'loop.again', '{}'); END $$;
SELECT try($$SELECT evlog_register_projection('err', 'err_wrong(jsonb)', '{err_model}')$$);
SELECT try($$SELECT evlog_register_projection('err', 'err_missing(evlog.events)', '{err_model}')$$);
SELECT try($$SELECT evlog_register_projection('err', 'err_fold(evlog.events)', '{err_model}', mode => 'sometimes')$$);
SELECT try($$SELECT evlog_register_projection('err', 'err_fold(evlog.events)', '{err_model}', on_error => 'shrug')$$);
SELECT try($$SELECT evlog_register_projection('', 'err_fold(evlog.events)', '{err_model}')$$);
SELECT try($$SELECT evlog_register_projection('loop', 'err_appends(evlog.events)', mode => 'sync')$$);
SELECT evlog_register_projection('err', 'err_fold(evlog.events)', '{err_model}', mode => 'sync');
SELECT try($$SELECT evlog_register_projection('err', 'err_fold(evlog.events)', '{err_model}')$$);
SELECT try($$SELECT evlog_wait('err', 1, '-5 seconds')$$);
-- a handler dropped after registration: appends fail until the projection goes
DROP FUNCTION err_fold(evlog.events);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}')$$);
SELECT try($$SELECT evlog_rebuild('err')$$);
SELECT evlog_unregister_projection('err');
DROP FUNCTION err_wrong(jsonb), err_appends(evlog.events);
DROP TABLE err_model;

-- nothing of the above was written
SELECT evlog_head() = :head_before AS log_unchanged;

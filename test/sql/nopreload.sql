-- Without shared_preload_libraries: the extension works, the guard triggers
-- still refuse UPDATE, DELETE and TRUNCATE, but no utility hook stops an
-- owner from disabling them; evlog_verify_chain then shows the tampering.
SHOW shared_preload_libraries;
CREATE EXTENSION evlog;
SELECT evlog_append('t', 'x.created', '{"n": 1}');
SELECT evlog_append('t', 'x.changed', '{"n": 2}');
SELECT evlog_append('t', 'x.changed', '{"n": 3}');
UPDATE evlog.events SET payload = '{"n": 9}' WHERE seq = 2;
\c
-- a new session that has not loaded the library
ALTER TABLE evlog.events DISABLE TRIGGER USER;
UPDATE evlog.events SET payload = '{"n": 9}' WHERE seq = 2;
SELECT * FROM evlog_verify_chain();
SELECT * FROM evlog_verify_chain(3);

-- projections without a worker: async ones fold on evlog_catch_up
CREATE TABLE seen (seq bigint PRIMARY KEY, type text);
CREATE FUNCTION remember(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF e.payload->>'n' = '13' THEN RAISE EXCEPTION 'unlucky event %', e.seq; END IF;
  INSERT INTO seen VALUES (e.seq, e.type);
END $$;
SELECT evlog_register_projection('seen', 'remember(evlog.events)', '{seen}');
SELECT name, state, checkpoint, head, lag_events, worker FROM evlog.projection_status;
SELECT evlog_catch_up('seen');
SELECT evlog_catch_up('seen');
SELECT seq, type FROM seen ORDER BY seq;
-- on_error 'stop' under evlog_catch_up: failed at the event, resumable with 'skip'
SELECT evlog_alter_projection('seen', on_error => 'stop');
SELECT evlog_append('t', 'x.created', '{"n": 13}') AS bad \gset
SELECT evlog_append('t', 'x.changed', '{"n": 14}');
SELECT evlog_catch_up('seen');
SELECT state, checkpoint, last_error, last_error_seq = :bad AS at_bad FROM evlog.projections;
SELECT evlog_catch_up('seen');
SELECT evlog_alter_projection('seen', on_error => 'skip');
SELECT evlog_resume('seen');
SELECT evlog_catch_up('seen');
SELECT seq, type FROM seen ORDER BY seq;
SELECT projection, seq = :bad AS at_bad, error FROM evlog.dead_letters;
SELECT state, checkpoint = evlog_head() AS at_head FROM evlog.projections;
-- evlog_wait sees the checkpoint that evlog_catch_up committed
SELECT evlog_wait('seen', evlog_head(), '0 seconds');
SELECT evlog_wait('seen', evlog_head() + 1, '0.05 seconds');
DROP FUNCTION remember(evlog.events);
SET evlog.allow_drop = on;
DROP EXTENSION evlog;

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
DROP EXTENSION evlog;

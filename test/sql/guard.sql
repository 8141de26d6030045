-- The append-only guard (G5): refused for every role, in every replication role
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
-- a log with events, ticket-1's among them
SELECT evlog_append('ticket-1', 'ticket.opened', '{"title": "first"}') AS seq;
SELECT evlog_append('ticket-1', 'ticket.transitioned', '{"to": "doing"}') AS seq;
SELECT evlog_append('ticket-2', 'ticket.opened', '{"title": "second"}') AS seq;
SELECT evlog_head() AS head_before \gset
SELECT try($$UPDATE evlog.events SET payload = '{}' WHERE seq = 1$$);
SELECT try($$DELETE FROM evlog.events WHERE seq = 1$$);
SELECT try($$DELETE FROM evlog.events WHERE false$$);
SELECT try($$UPDATE evlog.events SET payload = '{}' WHERE false$$);
SELECT try($$TRUNCATE evlog.events$$);
SET session_replication_role = replica;
SELECT try($$UPDATE evlog.events SET payload = '{}' WHERE seq = 1$$);
SELECT try($$DELETE FROM evlog.events$$);
SELECT try($$TRUNCATE evlog.events$$);
RESET session_replication_role;

-- with the library preloaded, DDL that would switch the guard off is refused
SELECT try($$ALTER TABLE evlog.events DISABLE TRIGGER evlog_guard_row$$);
SELECT try($$ALTER TABLE evlog.events DISABLE TRIGGER ALL$$);
SELECT try($$ALTER TABLE evlog.events DISABLE TRIGGER USER$$);
SELECT try($$ALTER TABLE evlog.events ENABLE REPLICA TRIGGER evlog_guard_statement$$);
SELECT try($$ALTER TABLE evlog.events ENABLE TRIGGER evlog_guard_insert$$);
SELECT try($$DROP TRIGGER evlog_guard_row ON evlog.events$$);
SELECT try($$DROP TRIGGER evlog_guard_statement ON evlog.events$$);
SELECT try($$ALTER TABLE evlog.events ADD COLUMN note text$$);
SELECT try($$ALTER TABLE evlog.events DROP COLUMN metadata$$);
SELECT try($$ALTER TABLE evlog.events ALTER COLUMN payload TYPE json$$);
SELECT try($$ALTER TABLE evlog.events ALTER COLUMN actor DROP NOT NULL$$);
SELECT try($$ALTER TABLE evlog.events DROP CONSTRAINT events_type_check$$);
SELECT try($$ALTER TABLE evlog.events SET UNLOGGED$$);
SELECT try($$ALTER TABLE evlog.events RENAME COLUMN payload TO body$$);
SELECT try($$ALTER TABLE evlog.events RENAME TO old_events$$);
-- harmless changes stay allowed
SELECT try($$ALTER TABLE evlog.events ALTER COLUMN type SET STATISTICS 500$$);
SELECT try($$ALTER TABLE evlog.events ENABLE ALWAYS TRIGGER evlog_guard_row$$);
SELECT tgname, tgenabled FROM pg_trigger
WHERE tgrelid = 'evlog.events'::regclass ORDER BY tgname;

-- a direct INSERT is admitted only when it continues the log
SELECT try($$INSERT INTO evlog.events (seq, stream, stream_version, type, payload, actor, recorded_at, digest)
             VALUES (1000, 's', 1, 'a.b', '{}', 'me', now(), sha256(''))$$);
SELECT try(format($$INSERT INTO evlog.events (seq, stream, stream_version, type, payload, actor, recorded_at, digest)
             VALUES (%s, 'ticket-1', 1, 'a.b', '{}', 'me', now(), sha256(''))$$, :head_before + 1));
SELECT try(format($$INSERT INTO evlog.events (seq, stream, stream_version, type, payload, actor, recorded_at, digest)
             VALUES (%s, 'fresh', 1, 'a.b', '{}', 'me', now(), sha256(''))$$, :head_before + 1));
SELECT evlog_head() = :head_before AS log_unchanged;

-- evlog_protect: the same guard on any table
CREATE TABLE audit (id int PRIMARY KEY, what text);
INSERT INTO audit VALUES (1, 'created');
SELECT evlog_protect('audit');
SELECT evlog_protect('audit');
INSERT INTO audit VALUES (2, 'appended');
SELECT try($$UPDATE audit SET what = 'rewritten'$$);
SELECT try($$DELETE FROM audit WHERE id = 1$$);
SELECT try($$TRUNCATE audit$$);
SELECT try($$ALTER TABLE audit DISABLE TRIGGER evlog_guard_row$$);
SELECT try($$DROP TRIGGER evlog_guard_statement ON audit$$);
-- column changes on a protected table of one's own stay allowed
SELECT try($$ALTER TABLE audit ADD COLUMN note text$$);
SELECT * FROM audit ORDER BY id;
CREATE VIEW audit_view AS SELECT * FROM audit;
SELECT try($$SELECT evlog_protect('audit_view')$$);

-- an ordinary role: no guard bypass, no append unless granted
CREATE ROLE evlog_reg_user;
GRANT SELECT, UPDATE, DELETE ON evlog.events TO evlog_reg_user;
GRANT ALL ON audit TO evlog_reg_user;
SET ROLE evlog_reg_user;
SELECT try($$UPDATE evlog.events SET payload = '{}' WHERE seq = 1$$);
SELECT try($$DELETE FROM audit$$);
SELECT try($$SELECT evlog_append('s', 'a.b', '{}')$$);
SELECT try($$INSERT INTO evlog.append_queue (stream, type, payload) VALUES ('s', 'a.b', '{}')$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION evlog_append(text, text, jsonb, jsonb, text, bigint, integer) TO evlog_reg_user;
SET ROLE evlog_reg_user;
SELECT evlog_append('by-role', 'role.appended', '{}') = :head_before + 1 AS appended;
RESET ROLE;
SELECT actor FROM evlog.events WHERE stream = 'by-role';
DROP TABLE audit CASCADE;
REVOKE ALL ON evlog.events FROM evlog_reg_user;
REVOKE ALL ON FUNCTION evlog_append(text, text, jsonb, jsonb, text, bigint, integer) FROM evlog_reg_user;
DROP ROLE evlog_reg_user;
SELECT * FROM evlog_verify_chain();

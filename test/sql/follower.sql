-- Followers (README "Followers and change data capture"): a database whose
-- evlog.events is the target of a subscription refuses local appends on
-- every path with EV007, and its evlog.follower_status says which
-- subscription feeds the log. The subscription is real but never enabled:
-- it points at this test's database on the same server (a replication
-- connection over the first Unix socket), which publishes its log.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
SELECT current_database() AS regress_db,
       format('dbname=%s host=%s port=%s', current_database(),
              split_part(current_setting('unix_socket_directories'), ',', 1),
              current_setting('port')) AS publisher \gset
SET client_min_messages = error;
CREATE PUBLICATION evlog_follower_pub FOR TABLE evlog.events;
RESET client_min_messages;
CREATE DATABASE evlog_follower;
\c evlog_follower
\i :abs_srcdir/sql/fresh_log.psql
CREATE TABLE counts (type text PRIMARY KEY, n bigint NOT NULL);
CREATE FUNCTION count_fold(e evlog.events) RETURNS void LANGUAGE sql
  AS $$ INSERT INTO counts VALUES (e.type, 1) ON CONFLICT (type) DO UPDATE SET n = counts.n + 1 $$;
-- not a follower yet: no row
SELECT count(*) FROM evlog.follower_status;

CREATE SUBSCRIPTION evlog_follower_sub CONNECTION :'publisher' PUBLICATION evlog_follower_pub
  WITH (enabled = false, create_slot = false, slot_name = NONE);
SELECT subscription, enabled, sync_state, apply_pid, head, head_recorded_at,
       received_lsn, apply_error_count, sync_error_count
FROM evlog.follower_status;

-- every append path fails with EV007
SELECT evlog_append('s-1', 'follower.tried', '{}');
SELECT evlog_append_batch(ARRAY[ROW('s-1', 'follower.tried', '{}', '{}', NULL, NULL, 1)::evlog.new_event]);
INSERT INTO evlog.append_queue (stream, type, payload) VALUES ('s-1', 'follower.tried', '{}');
COPY evlog.append_queue (stream, type, payload) FROM stdin;
s-1	follower.tried	{}
\.
-- the SQLSTATE of each
SELECT left(try($$SELECT evlog_append('s-1', 'follower.tried', '{}')$$), 5) AS append,
       left(try($$SELECT evlog_append('s-1', 'follower.tried', '{}', '{}', 'key-1', 0)$$), 5) AS append_with_key,
       left(try($$SELECT evlog_append_batch(ARRAY[ROW('s-1', 'follower.tried', '{}', '{}', NULL, NULL, 1)::evlog.new_event])$$), 5) AS batch,
       left(try($$INSERT INTO evlog.append_queue (stream, type, payload) VALUES ('s-1', 'follower.tried', '{}')$$), 5) AS queue;
-- a superuser's direct row, with session_replication_role = replica or not,
-- even one that would continue the chain: only the subscription writes
SET session_replication_role = replica;
INSERT INTO evlog.events (seq, stream, stream_version, type, payload, actor, recorded_at, digest)
VALUES (1, 'forged', 1, 'follower.forged', '{}', 'postgres', now(), '\x00');
RESET session_replication_role;
SELECT left(try($$INSERT INTO evlog.events (seq, stream, stream_version, type, payload, actor, recorded_at, digest)
                  VALUES (1, 'forged', 1, 'follower.forged', '{}', 'postgres', now(), '\x00')$$), 5) AS direct;
SELECT evlog_head(), count(*) FROM evlog.events;

-- the follower's own projections, catch-up, verify, rebuild and chain
-- verification work as on a primary
SELECT evlog_register_projection('counts', 'count_fold(evlog.events)', '{counts}');
SELECT evlog_catch_up('counts');
SELECT * FROM evlog_verify('counts');
SELECT evlog_rebuild('counts');
SELECT * FROM evlog_verify_chain();
SELECT name, checkpoint, head, lag_events FROM evlog.projection_status;

-- dropping the subscription makes the database a primary again at once
ALTER SUBSCRIPTION evlog_follower_sub DISABLE;
DROP SUBSCRIPTION evlog_follower_sub;
SELECT count(*) FROM evlog.follower_status;
SELECT evlog_append('s-1', 'follower.tried', '{}');
SELECT evlog_wait('counts', 1, '30 s');
SELECT * FROM counts;

\c :regress_db
DROP PUBLICATION evlog_follower_pub;
DROP DATABASE evlog_follower WITH (FORCE);

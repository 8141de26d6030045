-- Projections: registry, sync folds (P3), async folds by the worker, errors (P5), privileges (P6)
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
CREATE SCHEMA kanban;
CREATE TABLE kanban.cards (ticket text PRIMARY KEY, title text, col text NOT NULL, moves int NOT NULL, last_seq bigint NOT NULL);
CREATE FUNCTION kanban.fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF e.type = 'card.opened' THEN
    INSERT INTO kanban.cards VALUES (e.stream, e.payload->>'title', 'todo', 0, e.seq);
  ELSIF e.type = 'card.moved' THEN
    IF e.payload->>'to' = 'nowhere' THEN
      RAISE EXCEPTION 'card % cannot move to nowhere', e.stream;
    END IF;
    UPDATE kanban.cards SET col = e.payload->>'to', moves = moves + 1, last_seq = e.seq WHERE ticket = e.stream;
  END IF;
END $$;
CREATE TABLE type_counts (type text PRIMARY KEY, n int NOT NULL);
-- resolved with the handlers' search_path, "$user", public
CREATE FUNCTION count_types(e evlog.events) RETURNS void LANGUAGE sql AS $$
  INSERT INTO type_counts VALUES (e.type, 1) ON CONFLICT (type) DO UPDATE SET n = type_counts.n + 1 $$;
CREATE FUNCTION not_a_handler(e evlog.events, x int) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION returns_int(e evlog.events) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION takes_jsonb(e jsonb) RETURNS void LANGUAGE sql AS $$ SELECT $$;
CREATE FUNCTION reset_with_arg(x int) RETURNS void LANGUAGE sql AS $$ SELECT $$;

-- registration is checked
SELECT try($$SELECT evlog_register_projection('Kanban', 'kanban.fold(evlog.events)')$$);
SELECT try($$SELECT evlog_register_projection('kanban-board', 'kanban.fold(evlog.events)')$$);
SELECT try($$SELECT evlog_register_projection('kanban', 'kanban.fold(evlog.events)', mode => 'eventually')$$);
SELECT try($$SELECT evlog_register_projection('kanban', 'kanban.fold(evlog.events)', on_error => 'ignore')$$);
SELECT try($$SELECT evlog_register_projection('kanban', 'not_a_handler(evlog.events, int)')$$);
SELECT try($$SELECT evlog_register_projection('kanban', 'returns_int(evlog.events)')$$);
SELECT try($$SELECT evlog_register_projection('kanban', 'takes_jsonb(jsonb)')$$);
SELECT try($$SELECT evlog_register_projection('kanban', 'no_such_function(evlog.events)')$$);
SELECT try($$SELECT evlog_register_projection('kanban', 'kanban.fold(evlog.events)', reset => 'reset_with_arg(int)')$$);
SELECT try($$SELECT evlog_register_projection('kanban', 'kanban.fold(evlog.events)', event_types => '{Card.Opened}')$$);
SELECT try($$SELECT evlog_register_projection('kanban', NULL)$$);
SELECT count(*) FROM evlog.projections;

-- a sync projection folds the log at registration, then every append in its transaction
SELECT evlog_append('card-1', 'card.opened', '{"title": "Write the spec"}') AS first_seq \gset
SELECT evlog_append('card-1', 'card.moved', '{"to": "doing"}');
SELECT evlog_register_projection('kanban', 'kanban.fold(evlog.events)', '{kanban.cards}',
                                 '{card.opened,card.moved}', 'sync');
SELECT ticket, title, col, moves, last_seq - :first_seq AS last_offset FROM kanban.cards;
SELECT try($$SELECT evlog_register_projection('kanban', 'kanban.fold(evlog.events)')$$);
SELECT evlog_append('card-2', 'card.opened', '{"title": "Build it"}');
SELECT evlog_append('card-1', 'card.moved', '{"to": "done"}');
SELECT evlog_append('card-3', 'note.written', '{"text": "not for the board"}');
SELECT ticket, title, col, moves, last_seq - :first_seq AS last_offset FROM kanban.cards ORDER BY ticket;
SELECT name, mode, state, checkpoint = head AS at_head, lag_events, lag_seconds, worker
FROM evlog.projection_status;
-- P3: a handler error fails the append and writes nothing
SELECT evlog_head() AS head \gset
SELECT try($$SELECT evlog_append('card-2', 'card.moved', '{"to": "nowhere"}')$$);
SELECT evlog_head() = :head AS nothing_written, (SELECT col FROM kanban.cards WHERE ticket = 'card-2') AS col;
-- a handler cannot append to the log
CREATE FUNCTION appends(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN PERFORM evlog_append('loop', 'loop.again', '{}'); END $$;
SELECT try($$SELECT evlog_register_projection('loop', 'appends(evlog.events)', mode => 'sync')$$);
SELECT count(*) FROM evlog.projections WHERE name = 'loop';

-- paused, a sync projection folds nothing; resumed, it catches up first
SELECT evlog_pause('kanban');
SELECT try($$SELECT evlog_pause('kanban')$$);
SELECT evlog_append('card-2', 'card.moved', '{"to": "doing"}');
SELECT col FROM kanban.cards WHERE ticket = 'card-2';
SELECT try($$SELECT evlog_catch_up('kanban')$$);
SELECT evlog_resume('kanban');
SELECT try($$SELECT evlog_resume('kanban')$$);
SELECT col FROM kanban.cards WHERE ticket = 'card-2';
SELECT checkpoint = evlog_head() AS at_head FROM evlog.projections WHERE name = 'kanban';

-- async: the worker folds, evlog_wait gives read-your-writes
SELECT evlog_register_projection('type_counts', 'count_types(evlog.events)', '{type_counts}');
SELECT evlog_wait('type_counts', evlog_head(), '30 seconds');
SELECT type, n FROM type_counts ORDER BY type;
SELECT evlog_append('card-4', 'card.opened', '{"title": "Ship it"}') AS seq \gset
SELECT evlog_wait('type_counts', :seq, '30 seconds');
SELECT n FROM type_counts WHERE type = 'card.opened';
SELECT name, mode, state, lag_events, worker FROM evlog.projection_status ORDER BY name;
SELECT try($$SELECT evlog_wait('type_counts', 1, '-1 second')$$);
SELECT try($$SELECT evlog_wait('nope', 1)$$);

-- switching modes changes no caller
SELECT evlog_alter_projection('kanban', mode => 'async');
SELECT evlog_append('card-4', 'card.moved', '{"to": "doing"}') AS seq \gset
SELECT evlog_wait('kanban', :seq, '30 seconds');
SELECT evlog_alter_projection('kanban', mode => 'sync');
SELECT evlog_append('card-4', 'card.moved', '{"to": "done"}');
SELECT ticket, col, moves FROM kanban.cards ORDER BY ticket;

-- P5 async: 'stop' stops at the failing event, 'skip' writes a dead letter
SELECT evlog_alter_projection('kanban', mode => 'async');
SELECT evlog_append('card-3', 'card.opened', '{"title": "Risky"}');
SELECT evlog_append('card-3', 'card.moved', '{"to": "nowhere"}') AS bad_seq \gset
SELECT evlog_append('card-3', 'card.moved', '{"to": "doing"}') AS seq \gset
SELECT evlog_wait('kanban', :bad_seq - 1, '30 seconds');
DO $$
BEGIN
  FOR i IN 1..3000 LOOP
    EXIT WHEN (SELECT state FROM evlog.projections WHERE name = 'kanban') = 'failed';
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT state, checkpoint = :bad_seq - 1 AS stopped_before, last_error, last_error_seq = :bad_seq AS at_bad_seq
FROM evlog.projections WHERE name = 'kanban';
SELECT col FROM kanban.cards WHERE ticket = 'card-3';
SELECT evlog_wait('kanban', :seq, '0.2 seconds');
SELECT evlog_alter_projection('kanban', on_error => 'skip');
SELECT evlog_resume('kanban');
SELECT evlog_wait('kanban', :seq, '30 seconds');
SELECT col FROM kanban.cards WHERE ticket = 'card-3';
SELECT projection, seq = :bad_seq AS bad_seq, error FROM evlog.dead_letters;
SELECT state, last_error FROM evlog.projections WHERE name = 'kanban';

-- P6: a handler runs as the role that registered it
CREATE ROLE evlog_alice;
CREATE TABLE alice_view (seq bigint);
ALTER TABLE alice_view OWNER TO evlog_alice;
CREATE TABLE not_alices (seq bigint);
CREATE FUNCTION alice_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
  INSERT INTO not_alices VALUES (e.seq) $$;
ALTER FUNCTION alice_fold(evlog.events) OWNER TO evlog_alice;
GRANT EXECUTE ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text) TO evlog_alice;
SET ROLE evlog_alice;
SELECT try($$SELECT evlog_register_projection('alice', 'alice_fold(evlog.events)', '{alice_view}')$$);
RESET ROLE;
GRANT SELECT ON evlog.events TO evlog_alice;
SET ROLE evlog_alice;
SELECT try($$SELECT evlog_register_projection('alice', 'alice_fold(evlog.events)', '{not_alices}')$$);
SELECT evlog_register_projection('alice', 'alice_fold(evlog.events)', '{alice_view}');
SELECT try($$SELECT evlog_pause('kanban')$$);
SELECT try($$SELECT evlog_unregister_projection('kanban')$$);
SELECT try($$SELECT evlog_catch_up('kanban')$$);
SELECT try($$SELECT evlog_alter_projection('kanban', on_error => 'stop')$$);
RESET ROLE;
DO $$
BEGIN
  FOR i IN 1..3000 LOOP
    EXIT WHEN (SELECT state FROM evlog.projections WHERE name = 'alice') = 'failed';
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT state, last_error, last_error_seq FROM evlog.projections WHERE name = 'alice';
SELECT count(*) FROM not_alices;
-- a sync one folds the log at registration, as alice: refused the same way
SET ROLE evlog_alice;
SELECT try($$SELECT evlog_register_projection('alice_sync', 'alice_fold(evlog.events)', mode => 'sync')$$);
RESET ROLE;
SELECT count(*) FROM evlog.projections WHERE name = 'alice_sync';

-- unregister forgets the projection and its dead letters, not its tables
SELECT evlog_unregister_projection('alice');
SELECT evlog_unregister_projection('kanban');
SELECT try($$SELECT evlog_unregister_projection('kanban')$$);
SELECT count(*) FROM evlog.dead_letters;
SELECT count(*) FROM kanban.cards;
SELECT name FROM evlog.projections;
SELECT evlog_unregister_projection('type_counts');
REVOKE ALL ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text) FROM evlog_alice;
REVOKE ALL ON evlog.events FROM evlog_alice;
DROP TABLE alice_view, not_alices;
DROP FUNCTION alice_fold(evlog.events);
DROP ROLE evlog_alice;
DROP SCHEMA kanban CASCADE;
DROP TABLE type_counts;
DROP FUNCTION count_types(evlog.events), not_a_handler(evlog.events, int), returns_int(evlog.events),
              takes_jsonb(jsonb), reset_with_arg(int), appends(evlog.events);

-- Statistics (README "Statistics and monitoring"): evlog.stats counts what
-- happened, exactly, in a database of its own (no other test's worker folds
-- there), and evlog_stats_reset() is for its granted roles only
SELECT current_database() AS regress_db \gset
CREATE DATABASE evlog_stats;
\c evlog_stats
SET client_min_messages = warning;
CREATE EXTENSION evlog;
CREATE FUNCTION try(cmd text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text;
BEGIN
  EXECUTE cmd;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  RETURN st || ': ' || msg;
END $$;
-- counters: every column but the clock and the waits
CREATE VIEW counters AS
  SELECT appends, retries, conflicts, version_conflicts, rejected, aborted_appends,
         folds, fold_failures, dead_letters, polls, deliveries
  FROM evlog.stats;
SELECT evlog_stats_reset();
SELECT *, (SELECT stats_reset > now() - interval '1 minute' FROM evlog.stats) AS reset_now FROM counters;

-- appends, a retry (idempotent no-op), EV002, EV003, EV004
SELECT evlog_append('s-1', 'thing.made', '{"n": 1}', idempotency_key => 'k-1');
SELECT evlog_append('s-1', 'thing.made', '{"n": 2}');
SELECT evlog_append('s-1', 'thing.made', '{"n": 1}', idempotency_key => 'k-1');
SELECT try($$SELECT evlog_append('s-1', 'thing.made', '{"n": 9}', idempotency_key => 'k-1')$$);
SELECT try($$SELECT evlog_append('s-1', 'thing.made', '{}', expected_version => 7)$$);
SELECT try($$SELECT evlog_append('s-1', 'Not A Type', '{}')$$);
SELECT try($$SELECT evlog_append_batch(ARRAY[NULL::evlog.new_event])$$);
SELECT try($$SELECT evlog_append_batch(ARRAY[ROW('s-2', 'thing.made', '{}', '{}', NULL, NULL, 1),
                                             ROW('s-2', 'thing.made', '[]', '{}', NULL, NULL, 1)]::evlog.new_event[])$$);
SELECT * FROM counters;

-- rolled back: a transaction, and a savepoint inside a committed one
BEGIN;
SELECT evlog_append('s-3', 'thing.made', '{}') > 0 AS appended;
SELECT evlog_append('s-3', 'thing.made', '{}') > 0 AS appended;
ROLLBACK;
BEGIN;
SELECT evlog_append('s-3', 'thing.made', '{}') > 0 AS appended;
SAVEPOINT a;
SELECT evlog_append('s-3', 'thing.made', '{}') > 0 AS appended;
ROLLBACK TO a;
SELECT evlog_append('s-3', 'thing.made', '{}') > 0 AS appended;
COMMIT;
SELECT appends, aborted_appends FROM counters;

-- bulk: keys taken the fast way (3 appends), then a batch whose key exists,
-- which falls back to the careful way: it counts once (1 retry, 1 append)
SELECT cardinality(evlog_append_batch(ARRAY(
  SELECT ROW('s-4', 'thing.made', jsonb_build_object('i', i), '{}', 'b-' || i, NULL, 1)::evlog.new_event
  FROM generate_series(1, 3) i)));
SELECT cardinality(evlog_append_batch(ARRAY[
  ROW('s-4', 'thing.made', '{"i": 1}', '{}', 'b-1', NULL, 1),
  ROW('s-4', 'thing.made', '{"i": 4}', '{}', 'b-4', NULL, 1)]::evlog.new_event[]));
\copy evlog.append_queue (stream, type, payload) FROM stdin
s-5	thing.made	{"c": 1}
s-5	thing.made	{"c": 2}
\.
SELECT appends, retries, aborted_appends, rejected FROM counters;
SELECT count(*) AS events FROM evlog.events;

-- folds: a sync projection folds the log at registration (its 10 events)
-- and every append after it; a handler error fails the append, which then
-- counts as an aborted append
CREATE TABLE made (seq bigint PRIMARY KEY);
CREATE FUNCTION fold_made(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF e.payload ? 'boom' THEN RAISE EXCEPTION 'boom'; END IF;
  INSERT INTO made VALUES (e.seq);
END $$;
SELECT evlog_stats_reset();
SELECT evlog_register_projection('made', 'fold_made(evlog.events)', '{made}', '{thing.made}', mode => 'sync');
SELECT evlog_append('s-6', 'thing.made', '{}') > 0 AS appended;
SELECT try($$SELECT evlog_append('s-6', 'thing.made', '{"boom": 1}')$$);
SELECT count(*) AS made FROM made;
SELECT * FROM counters;

-- an async projection with on_error = 'skip', folded by the worker: the
-- failing batch is refolded event by event, so its good events count once
CREATE TABLE seen (seq bigint PRIMARY KEY);
CREATE FUNCTION fold_seen(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF e.payload ? 'fail' THEN RAISE EXCEPTION 'refused %', e.seq; END IF;
  INSERT INTO seen VALUES (e.seq);
END $$;
SELECT evlog_register_projection('seen', 'fold_seen(evlog.events)', '{seen}', '{other.made}', on_error => 'skip');
SELECT evlog_stats_reset();
SELECT evlog_append_batch(ARRAY[ROW('s-7', 'other.made', '{}', '{}', NULL, NULL, 1),
                               ROW('s-7', 'other.made', '{"fail": 1}', '{}', NULL, NULL, 1),
                               ROW('s-7', 'other.made', '{}', '{}', NULL, NULL, 1)]::evlog.new_event[]) IS NOT NULL AS appended;
SELECT evlog_wait('seen', evlog_head(), '60 seconds');
-- the worker adds its counts as its transaction commits, just after the
-- checkpoint becomes visible: poll for them, bounded
DO $$
BEGIN
  FOR i IN 1..3000 LOOP
    EXIT WHEN (SELECT folds + fold_failures + dead_letters FROM evlog.stats) >= 4;
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT (SELECT count(*) FROM seen) AS seen, (SELECT count(*) FROM evlog.dead_letters) AS dead_letters;
SELECT * FROM counters;
-- a single session never waits for the sequencer
SELECT sequencer_wait_ms, sequencer_wait_max_ms FROM evlog.stats;

-- privileges: reading needs SELECT on evlog.events; resetting is not PUBLIC's
CREATE ROLE regress_evlog_stats_reader;
SET ROLE regress_evlog_stats_reader;
SELECT try('SELECT appends FROM evlog.stats');
SELECT try('SELECT evlog_stats_reset()');
RESET ROLE;
GRANT SELECT ON evlog.events TO regress_evlog_stats_reader;
SET ROLE regress_evlog_stats_reader;
SELECT appends FROM evlog.stats;
SELECT try('SELECT evlog_stats_reset()');
RESET ROLE;
SELECT evlog_stats_reset();
SELECT appends + folds + fold_failures + dead_letters AS all_zero FROM evlog.stats;

\c :regress_db
DROP DATABASE evlog_stats;
DROP ROLE regress_evlog_stats_reader;

-- Workloads 4 and 5: the worker folds :n events (handler = one upsert), then
-- evlog_rebuild replays them, each against the same handler called in a
-- plain SQL loop over the same events. Prints "evlog_s plain_s differ" and
-- "rebuild rebuild_s replayed differ".
\set ON_ERROR_STOP 1
SELECT cardinality(evlog_append_batch(ARRAY(
  SELECT ROW('acct-' || i % 1000, 'money.moved', jsonb_build_object('i', i), '{}', NULL, NULL, 1)::evlog.new_event
  FROM generate_series(1, :n) i))) AS appended \gset
-- read the new events once (hint bits), so that both sides find the log alike
SELECT count(*) AS read_once FROM evlog.events \gset
SELECT clock_timestamp() AS t0 \gset
SELECT evlog_register_projection('balances', 'fold_balance(evlog.events)', '{balances}');
DO $$
BEGIN
  LOOP
    EXIT WHEN (SELECT lag_events FROM evlog.projection_status WHERE name = 'balances') = 0;
    PERFORM pg_sleep(0.005);
  END LOOP;
END $$;
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS evlog_s \gset
SELECT clock_timestamp() AS t0 \gset
DO $$
DECLARE e evlog.events;
BEGIN
  FOR e IN SELECT * FROM evlog.events ORDER BY seq LOOP
    PERFORM fold_balance_plain(e);
  END LOOP;
END $$;
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS plain_s \gset
SELECT (SELECT count(*) FROM (SELECT * FROM balances EXCEPT SELECT * FROM balances_plain) d) AS differ \gset
-- Workload 5: evlog_rebuild of the same projection, against the same loop
SET client_min_messages = warning;
SELECT clock_timestamp() AS t0 \gset
SELECT evlog_rebuild('balances') AS replayed \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0') AS rebuild_s \gset
SELECT (SELECT count(*) FROM (SELECT * FROM balances EXCEPT SELECT * FROM balances_plain) d) AS rdiffer \gset
\echo :evlog_s :plain_s :differ
\echo rebuild :rebuild_s :replayed :rdiffer
SELECT evlog_unregister_projection('balances');

-- Invariants G1, G3, G4, G6 and G7 after a generated workload: many streams,
-- retries with the same idempotency key, rolled-back appends, batches.
BEGIN;
SELECT plan(10);

SELECT setseed(0.42);
CREATE TEMP TABLE workload (i int PRIMARY KEY, kind text, stream text, key text, seq bigint);

DO $$
DECLARE
  s text;
  k text;
  got bigint;
  orig record;
BEGIN
  FOR n IN 1..3000 LOOP
    s := 'stream-' || (floor(random() * 97))::int;
    IF n % 10 = 0 THEN
      -- a retry of an earlier keyed append, same content, other metadata
      SELECT * INTO orig FROM workload w WHERE w.kind = 'keyed' AND w.i < n ORDER BY w.i DESC LIMIT 1;
      got := evlog_append(orig.stream, 'work.done', jsonb_build_object('i', orig.i),
                          jsonb_build_object('retry_of', orig.i), orig.key);
      INSERT INTO workload VALUES (n, 'retry', orig.stream, orig.key, got);
    ELSIF n % 7 = 0 THEN
      -- an append whose subtransaction rolls back
      BEGIN
        PERFORM evlog_append(s, 'work.done', jsonb_build_object('i', n));
        RAISE EXCEPTION 'roll back';
      EXCEPTION WHEN raise_exception THEN
        INSERT INTO workload VALUES (n, 'aborted', s, NULL, NULL);
      END;
    ELSIF n % 3 = 0 THEN
      k := 'key-' || n;
      got := evlog_append(s, 'work.done', jsonb_build_object('i', n), '{}', k);
      INSERT INTO workload VALUES (n, 'keyed', s, k, got);
    ELSIF n % 11 = 0 THEN
      SELECT (evlog_append_batch(ARRAY[ROW(s, 'work.batched', jsonb_build_object('i', n), '{}', NULL, NULL, 1),
                                       ROW(s, 'work.batched', jsonb_build_object('i', -n), '{}', NULL, NULL, 1)]::evlog.new_event[]))[2]
        INTO got;
      INSERT INTO workload VALUES (n, 'batch', s, NULL, got);
    ELSE
      got := evlog_append(s, 'work.done', jsonb_build_object('i', n), type_version => 1 + n % 3);
      INSERT INTO workload VALUES (n, 'plain', s, NULL, got);
    END IF;
  END LOOP;
END $$;

-- what the workload should have written
SELECT is((SELECT count(*) FROM evlog.events),
          (SELECT count(*) FILTER (WHERE kind IN ('keyed', 'plain')) + 2 * count(*) FILTER (WHERE kind = 'batch')
           FROM workload),
          'the log holds exactly the events that were not retries or rolled back');

-- G1: seq 1..head with no hole
SELECT is((SELECT min(seq) FROM evlog.events), 1::bigint, 'seq starts at 1');
SELECT is((SELECT max(seq) FROM evlog.events), (SELECT count(*) FROM evlog.events), 'no hole in seq (G1)');
SELECT is(evlog_head(), (SELECT count(*) FROM evlog.events), 'evlog_head() is the head');

-- G3: stream_version runs 1..M per stream, in seq order
SELECT is((SELECT count(*) FROM (
             SELECT stream_version, row_number() OVER (PARTITION BY stream ORDER BY seq) AS rn
             FROM evlog.events) v WHERE stream_version <> rn),
          0::bigint, 'stream_version has no hole and follows seq (G3)');

-- G4: a retry returned the original seq and wrote nothing
SELECT is((SELECT count(*) FROM workload r JOIN workload o ON o.key = r.key AND o.kind = 'keyed'
           WHERE r.kind = 'retry' AND r.seq <> o.seq),
          0::bigint, 'every retry got the seq of the original append (G4)');
SELECT is((SELECT count(*) FROM evlog.events WHERE metadata ? 'retry_of'), 0::bigint,
          'no retry wrote an event (G4)');

-- G6: recorded_at never decreases along seq
SELECT is((SELECT count(*) FROM (
             SELECT recorded_at < lag(recorded_at) OVER (ORDER BY seq) AS back FROM evlog.events) t
           WHERE back),
          0::bigint, 'recorded_at never decreases along seq (G6)');

-- G7: the hash chain is intact, and each event's stored fields are what it chains
SELECT results_eq('SELECT checked, first_bad_seq FROM evlog_verify_chain()',
                  $$SELECT count(*), NULL::bigint FROM evlog.events$$,
                  'the hash chain verifies over the whole log (G7)');
SELECT results_eq('SELECT checked, first_bad_seq FROM evlog_verify_chain(1500)',
                  $$SELECT count(*) - 1499, NULL::bigint FROM evlog.events$$,
                  'the hash chain verifies from the middle (G7)');

SELECT * FROM finish();
ROLLBACK;

-- Named notation: every public evlog function (evlog_*, in the extension's
-- schema) can be called with every input argument named, unquoted, as
-- pg_proc.proargnames gives them. Each is called with NULLs in a
-- subtransaction that is rolled back; a name that does not resolve fails
-- with 42883 (or 42601 for a reserved word), which is what this looks for;
-- any other outcome (22004, EV004, a result) shows the call was accepted.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
CREATE TEMP TABLE named_calls (fn text, call text, outcome text);
DO $$
DECLARE
  f record;
  call text;
  st text;
BEGIN
  FOR f IN
    SELECT p.oid, p.proname,
           (SELECT string_agg(m.name || ' => NULL::' ||
                              format_type(coalesce(p.proallargtypes[m.n], p.proargtypes[m.n - 1]), NULL),
                              ', ' ORDER BY m.n)
              FROM unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS m(name, mode, n)
             WHERE coalesce(m.mode, 'i') IN ('i', 'b')) AS args,
           p.pronargs, cardinality(p.proargnames) AS named
      FROM pg_proc p
      JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
      JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'evlog'
     WHERE p.proname LIKE 'evlog\_%' AND p.pronamespace = e.extnamespace
     ORDER BY p.proname, p.oid
  LOOP
    call := format('SELECT %I(%s)', f.proname, coalesce(f.args, ''));
    IF f.pronargs > 0 AND coalesce(f.named, 0) < f.pronargs THEN
      INSERT INTO named_calls VALUES (f.proname, call, 'unnamed arguments');
      CONTINUE;
    END IF;
    BEGIN
      EXECUTE call;
      RAISE EXCEPTION USING ERRCODE = 'XX999';  -- roll the call back
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE;
      INSERT INTO named_calls VALUES (f.proname, call,
        CASE WHEN st IN ('42883', '42601', '42725') THEN 'not callable: ' || st ELSE 'callable' END);
    END;
  END LOOP;
END $$;
-- no function fails named notation
SELECT fn, call, outcome FROM named_calls WHERE outcome <> 'callable' ORDER BY fn;
-- and the public API of 0.1.0 and 0.2.0 was among those called
SELECT array_agg(n ORDER BY n) FILTER (WHERE n NOT IN (SELECT fn FROM named_calls)) AS missing
  FROM unnest(ARRAY['evlog_append', 'evlog_append_batch', 'evlog_read', 'evlog_read_stream', 'evlog_head',
                    'evlog_verify_chain', 'evlog_protect', 'evlog_register_projection', 'evlog_alter_projection',
                    'evlog_unregister_projection', 'evlog_pause', 'evlog_resume', 'evlog_catch_up',
                    'evlog_rebuild', 'evlog_verify', 'evlog_wait', 'evlog_define_event_type',
                    'evlog_define_upcaster', 'evlog_stats_reset']) n;
-- one example as a user writes it, with real values
SELECT evlog_append(stream => 'named-1', type => 'named.call', payload => '{"a": 1}',
                    metadata => '{}', idempotency_key => 'named-k1', expected_version => 0,
                    type_version => 1) > 0 AS appended;
SELECT stream, stream_version FROM evlog_read_stream(stream => 'named-1', after_version => 0);

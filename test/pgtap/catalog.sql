-- Every SQL object of the extension has a COMMENT, every function pins
-- search_path, and only the functions that write the log or define projections
-- (and promote their versions) and contracts (and evlog.guard(), which only
-- evlog_protect attaches) are withheld from PUBLIC.
BEGIN;
SELECT plan(4);

SELECT is(ARRAY(
  SELECT p.oid::regprocedure::text
  FROM pg_depend d JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
  WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'evlog') AND d.deptype = 'e'
    AND NOT EXISTS (SELECT FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')
  ORDER BY 1), '{}'::text[], 'every function pins search_path');

SELECT is(ARRAY(
  SELECT pg_describe_object(d.classid, d.objid, d.objsubid)
  FROM pg_depend d
  WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'evlog') AND d.deptype = 'e'
    AND obj_description(d.objid, (SELECT relname FROM pg_class WHERE oid = d.classid)) IS NULL
    AND (d.classid IN ('pg_proc'::regclass, 'pg_namespace'::regclass)
         OR (d.classid = 'pg_class'::regclass
             AND (SELECT relkind FROM pg_class WHERE oid = d.objid) IN ('r', 'v'))
         OR (d.classid = 'pg_type'::regclass
             AND (SELECT typtype FROM pg_type WHERE oid = d.objid) = 'c'))
  ORDER BY 1), '{}'::text[], 'every function, table, view, type and schema has a COMMENT');

SELECT is(ARRAY(
  SELECT a.attname::text FROM pg_attribute a
  WHERE a.attrelid = 'evlog.events'::regclass AND a.attnum > 0 AND NOT a.attisdropped
    AND col_description(a.attrelid, a.attnum) IS NULL
  ORDER BY 1), '{}'::text[], 'every column of evlog.events has a COMMENT');

SELECT is(ARRAY(
  SELECT p.oid::regprocedure::text FROM pg_proc p
  WHERE p.oid IN (SELECT objid FROM pg_depend
                  WHERE refobjid = (SELECT oid FROM pg_extension WHERE extname = 'evlog')
                    AND deptype = 'e' AND classid = 'pg_proc'::regclass)
    AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
  ORDER BY 1),
  ARRAY['evlog.append_queue_insert()',
        'evlog.extension_created()',
        'evlog.guard()',
        'evlog_alter_projection(text,text,text,interval)',
        'evlog_append(text,text,jsonb,jsonb,text,bigint,integer)',
        'evlog_append_batch(evlog.new_event[])',
        'evlog_define_event_type(text,integer,text,regprocedure,text)',
        'evlog_define_upcaster(text,integer,regprocedure)',
        'evlog_promote(text,interval)',
        'evlog_register_projection(text,regprocedure,regclass[],text[],text,text,regprocedure,boolean,interval,text)',
        'evlog_stats_reset()'],
  'only the functions that write the log, define projections (and promote their versions) and contracts, reset statistics, or guard tables are withheld from PUBLIC');

SELECT * FROM finish();
ROLLBACK;

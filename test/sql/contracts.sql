-- Event contracts: definitions, forward-only refusals, checks at append, strict mode, upcasters
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
SELECT evlog_define_event_type('invoice.issued', 1, '$.amount >= 0 && exists($.customer)',
                               description => 'an invoice was sent to a customer');
-- a bad definition is refused
SELECT try($$SELECT evlog_define_event_type('Invoice.Issued', 1)$$);
SELECT try($$SELECT evlog_define_event_type('invoice.paid', 0)$$);
SELECT try($$SELECT evlog_define_event_type('invoice.paid', 1, '$.amount >>> 0')$$);
SELECT try($$SELECT evlog_define_event_type('invoice.paid', NULL)$$);
CREATE FUNCTION not_a_validator(p jsonb) RETURNS int LANGUAGE sql AS $$ SELECT 1 $$;
SELECT try($$SELECT evlog_define_event_type('invoice.paid', 1, validator => 'not_a_validator(jsonb)')$$);

-- the check runs at every append, in every mode
SELECT evlog_append('inv-1', 'invoice.issued', '{"amount": 120, "customer": "acme"}') > 0 AS appended;
SELECT try($$SELECT evlog_append('inv-2', 'invoice.issued', '{"amount": -5, "customer": "acme"}')$$);
SELECT try($$SELECT evlog_append('inv-2', 'invoice.issued', '{"amount": 5}')$$);
SELECT try($$SELECT evlog_append('inv-2', 'invoice.issued', '{"amount": "five", "customer": "acme"}')$$);
SELECT try($$SELECT evlog_append_batch(ARRAY[ROW('inv-2', 'invoice.issued', '{"amount": 1}', '{}', NULL, NULL, 1)]::evlog.new_event[])$$);
SELECT try($$INSERT INTO evlog.append_queue (stream, type, payload) VALUES ('inv-2', 'invoice.issued', '{"customer": "x"}')$$);
-- types without a definition are not checked (strict mode is off)
SELECT try($$SELECT evlog_append('inv-2', 'invoice.noted', '{"text": "call back"}')$$);
SELECT count(*) FROM evlog.events WHERE stream = 'inv-2';

-- forward-only
SELECT try($$SELECT evlog_define_event_type('invoice.issued', 1, '$.amount > 0')$$);
SELECT evlog_define_event_type('invoice.voided', 1, '$.reason');
SELECT evlog_define_event_type('invoice.voided', 1, 'exists($.reason)');
SELECT evlog_define_event_type('invoice.issued', 2, '$.lines.size() > 0');
SELECT try($$SELECT evlog_define_event_type('invoice.issued', 2, '$.lines.size() >= 0')$$);
SELECT evlog_append('inv-3', 'invoice.issued', '{"lines": [{"cents": 500}, {"cents": 250}], "customer": "globex"}', type_version => 2) > 0 AS appended;
SELECT try($$SELECT evlog_define_event_type('invoice.issued', 2, '$.lines.size() >= 0')$$);
SELECT try($$SELECT evlog_define_event_type('invoice.voided', 0)$$);
SELECT evlog_define_event_type('invoice.voided', 3);
SELECT try($$SELECT evlog_define_event_type('invoice.voided', 2)$$);

-- a validator says what jsonpath cannot, and runs as the role that defined the type
CREATE FUNCTION customer_known(p jsonb) RETURNS boolean LANGUAGE sql AS $$
  SELECT p->>'customer' IN ('acme', 'globex') $$;
SELECT evlog_define_event_type('invoice.issued', 3, '$.lines.size() > 0', 'customer_known(jsonb)');
SELECT evlog_append('inv-4', 'invoice.issued', '{"lines": [{"cents": 100}], "customer": "acme"}', type_version => 3) > 0 AS appended;
SELECT try($$SELECT evlog_append('inv-5', 'invoice.issued', '{"lines": [{"cents": 100}], "customer": "initech"}', type_version => 3)$$);

-- strict mode: undefined types or versions are refused
SET evlog.strict_types = on;
SELECT try($$SELECT evlog_append('inv-6', 'invoice.disputed', '{}')$$);
SELECT try($$SELECT evlog_append('inv-6', 'invoice.issued', '{"amount": 1, "customer": "acme"}', type_version => 9)$$);
SELECT evlog_append('inv-6', 'invoice.voided', '{"reason": "duplicate"}') > 0 AS appended;
RESET evlog.strict_types;
CREATE ROLE evlog_app;
SET ROLE evlog_app;
SELECT try($$SET evlog.strict_types = off$$);
RESET ROLE;
DROP ROLE evlog_app;

-- upcasters: v1 -> v2 -> v3, defined once
CREATE FUNCTION invoice_v1_to_v2(p jsonb) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_build_object('lines', jsonb_build_array(jsonb_build_object('cents', (p->>'amount')::int * 100)),
                            'customer', p->'customer') $$;
CREATE FUNCTION invoice_v2_to_v3(p jsonb) RETURNS jsonb LANGUAGE sql AS $$ SELECT p $$;
CREATE FUNCTION wrong_upcaster(p jsonb) RETURNS text LANGUAGE sql AS $$ SELECT '' $$;
SELECT try($$SELECT evlog_define_upcaster('invoice.issued', 1, 'wrong_upcaster(jsonb)')$$);
SELECT try($$SELECT evlog_define_upcaster('invoice.issued', 3, 'invoice_v2_to_v3(jsonb)')$$);
SELECT evlog_define_upcaster('invoice.issued', 1, 'invoice_v1_to_v2(jsonb)');
SELECT try($$SELECT evlog_define_upcaster('invoice.issued', 1, 'invoice_v2_to_v3(jsonb)')$$);
SELECT type, type_version, "check", validator, upcaster, events, description FROM evlog.event_types ORDER BY 1, 2;

-- a projection that asks for upcasting sees every invoice at version 3
CREATE TABLE invoices (stream text PRIMARY KEY, customer text, cents int, seen_version int, seq bigint);
CREATE FUNCTION invoice_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
  INSERT INTO invoices
  SELECT e.stream, e.payload->>'customer', sum((l->>'cents')::int), e.type_version, e.seq
  FROM jsonb_array_elements(e.payload->'lines') l $$;
-- the chain must be complete: a sync registration folds at once, and fails
SELECT try($$SELECT evlog_register_projection('invoices', 'invoice_fold(evlog.events)', '{invoices}', '{invoice.issued}', 'sync', upcast => true)$$);
SELECT evlog_define_upcaster('invoice.issued', 2, 'invoice_v2_to_v3(jsonb)');
SELECT evlog_register_projection('invoices', 'invoice_fold(evlog.events)', '{invoices}', '{invoice.issued}', upcast => true);
SELECT evlog_wait('invoices', evlog_head(), '30 seconds');
SELECT stream, customer, cents, seen_version FROM invoices ORDER BY stream;
-- stored events are never changed
SELECT stream, type_version, payload FROM evlog.events WHERE type = 'invoice.issued' ORDER BY seq;
SELECT type, type_version, upcaster, events FROM evlog.event_types WHERE type = 'invoice.issued' ORDER BY 2;
-- the incremental fold equals the rebuild
SELECT evlog_append('inv-7', 'invoice.issued', '{"amount": 3, "customer": "acme"}') AS seq \gset
SELECT evlog_wait('invoices', :seq, '30 seconds');
SELECT stream, customer, cents, seen_version FROM invoices WHERE stream = 'inv-7';
CREATE TEMP TABLE before_rebuild AS SELECT * FROM invoices;
SELECT evlog_rebuild('invoices');
SELECT count(*) AS differ FROM ((TABLE invoices EXCEPT TABLE before_rebuild) UNION ALL (TABLE before_rebuild EXCEPT TABLE invoices)) d;
SELECT * FROM evlog_verify('invoices');

SELECT evlog_unregister_projection('invoices');
DROP TABLE invoices;
DROP FUNCTION invoice_fold(evlog.events), wrong_upcaster(jsonb), not_a_validator(jsonb);

-- named notation: the jsonpath argument is "predicate" (0.1.0's "check" was a
-- reserved word); positional calls are unchanged
SELECT evlog_define_event_type(type => 'named.call', type_version => 1,
                               predicate => '$.n > 0', description => 'named notation');
SELECT "check", description FROM evlog.event_types WHERE type = 'named.call';
SELECT try($$SELECT evlog_append('named-1', 'named.call', '{"n": 0}')$$);

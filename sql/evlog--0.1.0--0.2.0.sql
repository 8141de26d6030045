/* evlog 0.1.0 -> 0.2.0: every SQL change of 0.2.0, applied in place by ALTER EXTENSION evlog UPDATE */

\echo Use "ALTER EXTENSION evlog UPDATE TO '0.2.0'" to load this file. \quit

-- Sections below are added by the changes of 0.2.0, each under a heading
-- that names what it is for.

-- The guard: evlog.guard() only through evlog_protect(), by a table's owner.
-- Without EXECUTE on evlog.guard() nobody but a superuser can attach it with
-- CREATE TRIGGER (triggers that exist keep firing: PostgreSQL does not check
-- EXECUTE when a trigger fires); evlog_protect becomes a C function that
-- checks ownership and then creates the triggers as evlog's registry owner.
REVOKE EXECUTE ON FUNCTION evlog.guard() FROM PUBLIC;
CREATE OR REPLACE FUNCTION evlog_protect(tbl regclass) RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_protect';
COMMENT ON FUNCTION evlog_protect(regclass) IS
  'evlog_protect(tbl regclass) RETURNS void: make a table append-only, as evlog.events is: UPDATE, DELETE and TRUNCATE then fail with EV001 for every role, also under session_replication_role = replica; with evlog preloaded its guard triggers cannot be disabled, dropped, renamed or replaced. Only the table''s owner may run it (evlog.guard() itself is not executable by PUBLIC). A table already protected gets a NOTICE. Errors: 22004 tbl is null; 22023 tbl is not a table; 42501 not the owner.';

-- The guard's other gaps: evlog_verify_chain checks SELECT on the log,
-- upcaster versions are range-checked (the C functions do both; the
-- comments say so)
COMMENT ON FUNCTION evlog_verify_chain(bigint) IS
  'evlog_verify_chain(from_seq bigint = 1) RETURNS TABLE(checked bigint, first_bad_seq bigint): recompute the SHA-256 hash chain from from_seq to the head, trusting the stored digest of from_seq - 1. checked counts the events that matched; first_bad_seq is the first seq missing or not matching, NULL when intact. Reads the whole range (one row per event, in seq order). Needs SELECT on evlog.events. Errors: 22023 when from_seq < 1; 42501 without SELECT on evlog.events.';
COMMENT ON FUNCTION evlog_define_upcaster(text, integer, regprocedure) IS
  'evlog_define_upcaster(type text, from_version integer, fn regprocedure) RETURNS void: fn(jsonb) RETURNS jsonb turns a payload of from_version into one of from_version + 1; projections registered with upcast => true receive every event of the type at its latest defined version, through the chain. Both versions must be defined. Forward-only: an upcaster is never replaced (42710). Errors: 22023 from_version outside 1..2147483646 or a version not defined; EV005 wrong signature; 42501 no EXECUTE on fn; 42883 no such function. Not granted to PUBLIC.';

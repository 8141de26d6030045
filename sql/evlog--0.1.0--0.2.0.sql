/* evlog 0.1.0 -> 0.2.0: every SQL change of 0.2.0, applied in place by ALTER EXTENSION evlog UPDATE */

\echo Use "ALTER EXTENSION evlog UPDATE TO '0.2.0'" to load this file. \quit

-- Sections below are added by the changes of 0.2.0, each under a heading
-- that names what it is for.

-- Restores in any order: a direct INSERT or COPY into the log (pg_restore, a
-- subscription) is admitted row by row above the head and proven whole when
-- the statement ends (gapless, chained, recorded_at not decreasing, stream
-- versions gapless); what no statement trigger covers (the logical
-- replication apply worker) is proven at commit.
CREATE TRIGGER evlog_guard_insert_statement AFTER INSERT ON evlog.events
  FOR EACH STATEMENT EXECUTE FUNCTION evlog.guard();
ALTER TABLE evlog.events ENABLE ALWAYS TRIGGER evlog_guard_insert_statement;
COMMENT ON TRIGGER evlog_guard_insert_statement ON evlog.events IS
  'Proves, when an INSERT or COPY into the log ends, that the rows it inserted directly continue the log: seqs head + 1 .. with no hole, each digest chained to the one before, recorded_at not decreasing, each stream''s versions without a hole in seq order; else EV001 naming the seq, and the statement rolls back (fires always, also under session_replication_role = replica).';
COMMENT ON TRIGGER evlog_guard_insert ON evlog.events IS
  'Admits a row not written by the sequencer (a restore, a subscription) when its seq is above the head, in any order, taking the sequencer until the transaction ends; the rows are proven to continue the log when the statement ends (evlog_guard_insert_statement) or, for the logical replication apply worker, at commit; else EV001.';
COMMENT ON FUNCTION evlog.guard() IS
  'Trigger function of every append-only table: BEFORE UPDATE, DELETE or TRUNCATE raises EV001. On evlog.events, BEFORE INSERT admits a row not written by the sequencer when its seq is above the head (else EV001), and AFTER INSERT (per statement, or at commit when no statement trigger fired) proves the rows admitted continue the log: gapless seqs from head + 1, chained digests, recorded_at not decreasing, stream versions without a hole; else EV001 naming the seq.';

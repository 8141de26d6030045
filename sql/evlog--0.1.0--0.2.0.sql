/* evlog 0.1.0 -> 0.2.0: every SQL change of 0.2.0, applied in place by ALTER EXTENSION evlog UPDATE */

\echo Use "ALTER EXTENSION evlog UPDATE TO '0.2.0'" to load this file. \quit

-- Sections below are added by the changes of 0.2.0, each under a heading
-- that names what it is for.

-- A function whose arguments change is renamed, its successor created, and
-- this helper (dropped at the end of the script) gives the successor the
-- EXECUTE privileges a DBA gave on the older one: every role's grant, and no
-- EXECUTE for PUBLIC when the older one had none.  Then the older one goes.
CREATE FUNCTION evlog.carry_execute_grants(older regprocedure, newer regprocedure) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  acl aclitem[];
  owner oid;
  grantee text;
BEGIN
  SELECT p.proacl, p.proowner INTO acl, owner FROM pg_catalog.pg_proc p WHERE p.oid = older;
  IF acl IS NOT NULL AND NOT EXISTS (SELECT FROM pg_catalog.aclexplode(acl) a
                                     WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE') THEN
    EXECUTE pg_catalog.format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', newer);
  END IF;
  FOR grantee IN
    SELECT pg_catalog.quote_ident(r.rolname)
      FROM pg_catalog.aclexplode(acl) a
      JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
     WHERE a.privilege_type = 'EXECUTE' AND a.grantee <> owner
  LOOP
    EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO %s', newer, grantee);
  END LOOP;
END
$$;

-- Security (README "Security model"): a handler timeout per projection, and
-- the register and alter functions that set it.
ALTER TABLE evlog.projections
  ADD COLUMN timeout interval NOT NULL DEFAULT '1 minute'
  CONSTRAINT projections_timeout_check
  CHECK (timeout >= interval '1 millisecond' AND timeout <= interval '24 days');
COMMENT ON COLUMN evlog.projections.timeout IS
  'interval, 1 millisecond to 24 days, default 1 minute: a call of the handler (or reset function, or an upcaster for it) that runs longer is cancelled and treated as a handler error (on_error applies; a sync append fails with 57014).';
COMMENT ON TABLE evlog.projections IS
  'The projection registry: one row per projection (name text, handler regprocedure, tables regclass[], event_types text[] or NULL for all, mode ''async''|''sync'', on_error ''stop''|''skip'', reset regprocedure, owner regrole, state ''active''|''paused''|''failed'', checkpoint bigint = last seq folded or passed over, upcast boolean = receives events at their latest defined version, last_error text, last_error_seq bigint, registered_at, updated_at timestamptz, timeout interval = longest handler call). Written only by evlog_register_projection and its siblings; survives pg_dump/pg_restore.';

-- The 0.1.0 functions are renamed, not dropped at once, so that the grants a
-- DBA gave on them can be carried over to their successors below.
ALTER FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean)
  RENAME TO evlog_register_projection_0_1_0;
ALTER FUNCTION evlog_alter_projection(text, text, text)
  RENAME TO evlog_alter_projection_0_1_0;
ALTER FUNCTION evlog_define_event_type(text, integer, text, regprocedure, text)
  RENAME TO evlog_define_event_type_0_1_0;

CREATE FUNCTION evlog_register_projection(name text, handler regprocedure,
                                          tables regclass[] DEFAULT '{}',
                                          event_types text[] DEFAULT NULL,
                                          mode text DEFAULT 'async',
                                          on_error text DEFAULT 'stop',
                                          reset regprocedure DEFAULT NULL,
                                          upcast boolean DEFAULT false,
                                          timeout interval DEFAULT '1 minute',
                                          replaces text DEFAULT NULL)
  RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_register_projection';
COMMENT ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text) IS
  'evlog_register_projection(name text, handler regprocedure, tables regclass[] = ''{}'', event_types text[] = NULL (all), mode text = ''async''|''sync'', on_error text = ''stop''|''skip'', reset regprocedure = NULL, upcast boolean = false, timeout interval = ''1 minute'', replaces text = NULL) RETURNS void: register a projection owned by the caller. Its handler f(evlog.events) RETURNS void, its reset function and its tables'' code (triggers, policies) run only as the caller, in a security-restricted operation with search_path "$user", public, pg_temp, and whatever they SET is undone when they return. A handler call longer than timeout is cancelled and treated as a handler error. A sync projection folds the existing log at once, holding the sequencer. With upcast, the handler receives every event at its type''s latest defined version (see evlog_define_upcaster). With replaces, the projection is the next version of that one: always async, built by the worker from seq 0 in batches (a transaction each) into its own tables while that one serves, until evlog_promote. Errors: 22004 name, handler, tables, mode, on_error, upcast or timeout null; 22023 bad name, mode, on_error, event type or timeout, a new version that is not async or replaces itself; 42710 name taken, or replaces already has a new version; 42809 a table that is not an ordinary table; EV005 wrong handler or reset signature, replaces unknown or itself a new version; 42501 caller may not execute the handler, does not own a table, or does not own replaces.';
REVOKE EXECUTE ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text) FROM PUBLIC;

CREATE FUNCTION evlog_alter_projection(name text, mode text DEFAULT NULL, on_error text DEFAULT NULL,
                                       timeout interval DEFAULT NULL)
  RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_alter_projection';
COMMENT ON FUNCTION evlog_alter_projection(text, text, text, interval) IS
  'evlog_alter_projection(name text, mode text = NULL, on_error text = NULL, timeout interval = NULL) RETURNS void: change mode, on_error and/or the handler timeout (NULL: keep). Switching to sync first folds up to the head, holding the sequencer. Ownership is checked before any lock is taken; an async projection''s row is locked before the sequencer, so waiting for a worker''s batch never holds appends off. Errors: 22004 null name; EV005 unknown projection, or mode => ''sync'' for a new version (registered with replaces) not yet promoted; 22023 bad mode, on_error or timeout; 42501 not the owner.';

-- Named notation (README "Event contracts"): 0.1.0 called the jsonpath
-- argument "check", a reserved word that named notation cannot use unquoted;
-- it is "predicate" now.  Positional calls are unchanged.
CREATE FUNCTION evlog_define_event_type(type text, type_version integer, predicate text DEFAULT NULL,
                                        validator regprocedure DEFAULT NULL,
                                        description text DEFAULT NULL)
  RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_define_event_type';
COMMENT ON FUNCTION evlog_define_event_type(text, integer, text, regprocedure, text) IS
  'evlog_define_event_type(type text, type_version integer, predicate text = NULL, validator regprocedure = NULL, description text = NULL) RETURNS void: define (or, while the log holds no event of it, redefine) an event type version. predicate is a jsonpath predicate the payload must match (jsonb_path_match; shown as "check" in evlog.event_types); validator a function f(jsonb) RETURNS boolean, run as the defining role (security-restricted, see evlog_register_projection), for what jsonpath cannot say. From then on every append of that type and version is checked (EV004 when it fails). Forward-only: a version the log holds events of cannot be redefined (55000), and a new version must be higher than every defined one (22023). Errors: 22004 null type or type_version; EV004 bad type name; 22023 bad version or predicate; EV005 wrong validator signature; 42501 no EXECUTE on the validator. Not granted to PUBLIC.';
REVOKE EXECUTE ON FUNCTION evlog_define_event_type(text, integer, text, regprocedure, text) FROM PUBLIC;

REVOKE EXECUTE ON FUNCTION evlog_alter_projection(text, text, text, interval) FROM PUBLIC;

-- Carry EXECUTE grants of the 0.1.0 functions over, then drop them.
SELECT evlog.carry_execute_grants('evlog_register_projection_0_1_0(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean)',
                                  'evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text)'),
       evlog.carry_execute_grants('evlog_alter_projection_0_1_0(text, text, text)',
                                  'evlog_alter_projection(text, text, text, interval)'),
       evlog.carry_execute_grants('evlog_define_event_type_0_1_0(text, integer, text, regprocedure, text)',
                                  'evlog_define_event_type(text, integer, text, regprocedure, text)');
DROP FUNCTION evlog_register_projection_0_1_0(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean);
DROP FUNCTION evlog_alter_projection_0_1_0(text, text, text);
DROP FUNCTION evlog_define_event_type_0_1_0(text, integer, text, regprocedure, text);

-- Security (README "Security model"): evlog_wait is safe with NULL in any
-- argument (0.1.0 waited forever on a NULL timeout).  Read-your-writes
-- (README "Projections"): waiting, inside the appending transaction, for an
-- event no other session can see yet fails at once instead of timing out.
CREATE FUNCTION evlog.appended_here(seq bigint) RETURNS boolean
  LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_appended_here';
COMMENT ON FUNCTION evlog.appended_here(bigint) IS
  'evlog.appended_here(seq bigint) RETURNS boolean: whether event seq was appended by the current, uncommitted transaction (false for NULL, another transaction''s event, or a seq not in the log). Needs SELECT on evlog.events.';

CREATE OR REPLACE FUNCTION evlog_wait(name text, seq bigint, timeout interval DEFAULT '5 seconds')
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  deadline timestamptz;
  cp bigint;
BEGIN
  IF evlog_wait.name IS NULL OR evlog_wait.seq IS NULL OR evlog_wait.timeout IS NULL THEN
    RAISE EXCEPTION 'name, seq and timeout must not be null'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF timeout < interval '0' THEN
    RAISE EXCEPTION 'timeout must not be negative'
      USING ERRCODE = 'invalid_parameter_value', DETAIL = format('timeout is %s.', timeout);
  END IF;
  deadline := clock_timestamp() + timeout;
  LOOP
    SELECT p.checkpoint INTO cp FROM evlog.projections p WHERE p.name = evlog_wait.name;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'projection "%" does not exist', evlog_wait.name
        USING ERRCODE = 'EV005', HINT = 'See evlog.projections for the registered projections.';
    END IF;
    IF cp >= evlog_wait.seq THEN
      RETURN true;
    END IF;
    IF evlog.appended_here(evlog_wait.seq) THEN
      RAISE EXCEPTION 'event % was appended by this transaction, which has not committed', evlog_wait.seq
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = format('Projection "%s" is folded by the worker, which sees the event only once its transaction commits.', evlog_wait.name),
              HINT = 'Commit the appending transaction first, then call evlog_wait.';
    END IF;
    IF clock_timestamp() >= deadline THEN
      RETURN false;
    END IF;
    PERFORM pg_sleep(0.002);
  END LOOP;
END
$$;
COMMENT ON FUNCTION evlog_wait(text, bigint, interval) IS
  'evlog_wait(name text, seq bigint, timeout interval = ''5 seconds'') RETURNS boolean: wait until the projection''s checkpoint reaches seq (read-your-writes after an append); true when it did, false at the timeout. Call it after the appending transaction committed, and outside a REPEATABLE READ transaction, whose snapshot would never see the checkpoint move. Errors: 22004 null argument; EV005 unknown projection; 22023 negative timeout; 55000 the event was appended by this uncommitted transaction and the projection is async (commit first).';

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
-- Projection workers (README, "Isolation: one process per projection"): which
-- process folds an async projection, as a function and as the new last column
-- worker_pid of evlog.projection_status (the view is recreated once, in
-- "Worker slots" below, with this column and the worker states of 0.2.0)
CREATE FUNCTION evlog.projection_worker_pid(name text) RETURNS integer
  LANGUAGE C STABLE STRICT SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_projection_worker_pid';
COMMENT ON FUNCTION evlog.projection_worker_pid(text) IS
  'evlog.projection_worker_pid(name text) RETURNS integer: process id of the projection worker that folds the named async projection of this database, NULL when none runs (the projection is sync, paused, failed, idle or unknown; the database''s worker folds it itself; or evlog is not in shared_preload_libraries). Raises nothing.';

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

-- Consumer groups (README "Consumer groups").
-- Groups and their committed offsets are dumped by pg_dump; members, leases
-- and deliveries live in shared memory (src/lease.c).
CREATE SEQUENCE evlog.consumer_group_id_seq;
SELECT pg_catalog.pg_extension_config_dump('evlog.consumer_group_id_seq', '');
COMMENT ON SEQUENCE evlog.consumer_group_id_seq IS
  'Source of evlog.consumer_group_registry.group_id (bigint). Dumped by pg_dump.';
CREATE TABLE evlog.consumer_group_registry (
  group_id      bigint NOT NULL DEFAULT pg_catalog.nextval('evlog.consumer_group_id_seq')
                CONSTRAINT consumer_group_registry_group_id_key UNIQUE,
  group_name    text COLLATE "C" NOT NULL CONSTRAINT consumer_group_registry_pkey PRIMARY KEY
                CONSTRAINT consumer_group_registry_name_check
                CHECK (octet_length(group_name) BETWEEN 1 AND 128),
  owner         regrole NOT NULL,
  event_types   text[] COLLATE "C",
  stream_prefix text COLLATE "C"
                CONSTRAINT consumer_group_registry_prefix_check
                CHECK (octet_length(stream_prefix) BETWEEN 1 AND 512),
  partitions    integer NOT NULL
                CONSTRAINT consumer_group_registry_partitions_check CHECK (partitions BETWEEN 1 AND 1024),
  lease         interval NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
ALTER SEQUENCE evlog.consumer_group_id_seq OWNED BY evlog.consumer_group_registry.group_id;
SELECT pg_catalog.pg_extension_config_dump('evlog.consumer_group_registry', '');
REVOKE ALL ON evlog.consumer_group_registry FROM PUBLIC;
COMMENT ON TABLE evlog.consumer_group_registry IS
  'One row per consumer group: group_id bigint, group_name text (1..128 bytes), owner regrole (the role that created it), event_types text[] (NULL: every type), stream_prefix text (NULL: every stream), partitions integer (1..1024, fixed), lease interval (a member silent this long loses its partitions), created_at timestamptz. Written only by evlog_create_consumer_group and evlog_drop_consumer_group; read it through evlog.consumer_groups. Dumped by pg_dump.';
CREATE TABLE evlog.consumer_offsets (
  group_id     bigint NOT NULL,
  "partition"  integer NOT NULL,
  committed    bigint NOT NULL CONSTRAINT consumer_offsets_committed_check CHECK (committed >= 0),
  updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT consumer_offsets_pkey PRIMARY KEY (group_id, "partition")
);
SELECT pg_catalog.pg_extension_config_dump('evlog.consumer_offsets', '');
REVOKE ALL ON evlog.consumer_offsets FROM PUBLIC;
COMMENT ON TABLE evlog.consumer_offsets IS
  'Committed offsets of consumer groups, one row per group and partition: group_id bigint, partition integer (0..partitions-1), committed bigint (a seq: every event of the partition up to it is acknowledged), updated_at timestamptz. Moved by evlog_ack''s transaction and by evlog_seek; dumped by pg_dump.';

CREATE TYPE evlog.delivery AS (
  seq             bigint,
  stream          text COLLATE "C",
  stream_version  bigint,
  type            text COLLATE "C",
  type_version    integer,
  payload         jsonb,
  metadata        jsonb,
  idempotency_key text,
  actor           text,
  recorded_at     timestamptz,
  digest          bytea,
  "partition"     integer
);
COMMENT ON TYPE evlog.delivery IS
  'An event given to a consumer group member by evlog_poll: the columns of evlog.events (seq bigint, stream text, stream_version bigint, type text, type_version integer, payload jsonb, metadata jsonb, idempotency_key text, actor text, recorded_at timestamptz, digest bytea), then partition integer, the partition of its stream (evlog_partition).';

CREATE FUNCTION evlog_create_consumer_group(group_name text, event_types text[] DEFAULT NULL,
    stream_prefix text DEFAULT NULL, partitions integer DEFAULT 16,
    start_after bigint DEFAULT NULL, lease interval DEFAULT '30 seconds')
  RETURNS void LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_create_consumer_group';
COMMENT ON FUNCTION evlog_create_consumer_group(text, text[], text, integer, bigint, interval) IS
  'evlog_create_consumer_group(group_name text, event_types text[] = NULL, stream_prefix text = NULL, partitions integer = 16, start_after bigint = NULL, lease interval = ''30 seconds'') RETURNS void: create a consumer group owned by the current user. It is given the events of event_types (NULL: every type) whose stream starts with stream_prefix (NULL: every stream), after seq start_after (NULL: the head now; 0: the whole log), spread over partitions partitions (1..1024) by evlog_partition(stream, partitions). A member silent for lease (10 ms..1 day) loses its partitions. Needs SELECT on evlog.events. Errors: 22004 group_name, partitions or lease NULL, or a NULL in event_types; 22023 group_name outside 1..128 bytes, empty event_types, stream_prefix outside 1..512 bytes, partitions, start_after (0..head) or lease out of range; 42501 no SELECT on evlog.events; 42710 the name is taken.';
CREATE FUNCTION evlog_drop_consumer_group(group_name text) RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_drop_consumer_group';
COMMENT ON FUNCTION evlog_drop_consumer_group(text) IS
  'evlog_drop_consumer_group(group_name text) RETURNS void: drop a consumer group and its committed offsets; its members'' leases end when the transaction commits. Errors: 22004 NULL; 42704 no such group; 42501 not a member of the group''s owner role.';
CREATE FUNCTION evlog_poll(group_name text, member text, max_count integer DEFAULT 100,
    timeout interval DEFAULT '0 seconds')
  RETURNS SETOF evlog.delivery LANGUAGE C VOLATILE ROWS 100 SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_poll';
COMMENT ON FUNCTION evlog_poll(text, text, integer, interval) IS
  'evlog_poll(group_name text, member text, max_count integer = 100, timeout interval = ''0 seconds'') RETURNS SETOF evlog.delivery: the member joins the group or stays in it (max_count 0 only joins, or joins again: what the member was given and did not acknowledge, by an earlier process of the same name, is given again), takes its share of the partitions, and is given, in seq order, up to max_count matching events of its partitions after what it was already given; never an event whose commit is not yet durable. With nothing to give it waits up to timeout, woken by the commit of an event, holding no lock that blocks appends. A member that gave up partitions with unacknowledged deliveries gets no rows (its next ack fails with EV006) and joins again at its next poll. Errors: 22004 a NULL argument; 22023 member outside 1..128 bytes, max_count < 0, timeout < 0; 42704 no such group; 42501 not a member of the group''s owner role, or the owner may not SELECT from evlog.events; 53400 no room in shared memory (evlog.consumer_groups, evlog.consumer_members, evlog.consumer_deliveries); 55000 evlog not in shared_preload_libraries; 57014 cancelled.';
CREATE FUNCTION evlog_ack(group_name text, member text, seq bigint) RETURNS bigint
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_ack';
COMMENT ON FUNCTION evlog_ack(text, text, bigint) IS
  'evlog_ack(group_name text, member text, seq bigint) RETURNS bigint: commit, for each partition the member owns, every event given to it with seq at most seq (the offsets move in evlog.consumer_offsets, in the caller''s transaction); returns the number of deliveries acknowledged. Errors: 22004 a NULL argument; 22023 member outside 1..128 bytes, seq < 0 or beyond the head; 42704 no such group; 42501 not a member of the group''s owner role; EV006 the member holds no lease (never polled, left, its lease ran out, the server restarted) or gave up partitions with unacknowledged deliveries: nothing is committed; 55000 evlog not preloaded.';
CREATE FUNCTION evlog_leave(group_name text, member text) RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_leave';
COMMENT ON FUNCTION evlog_leave(text, text) IS
  'evlog_leave(group_name text, member text) RETURNS void: the member leaves the group; its partitions go to the other members at once and its unacknowledged deliveries are given again. A member that is not there is no error. Errors: 22004 a NULL argument; 22023 member outside 1..128 bytes; 42704 no such group; 42501 not a member of the group''s owner role; 55000 evlog not preloaded.';
CREATE FUNCTION evlog_seek(group_name text, after_seq bigint) RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_seek';
COMMENT ON FUNCTION evlog_seek(text, bigint) IS
  'evlog_seek(group_name text, after_seq bigint) RETURNS void: set every partition''s committed offset to after_seq; once the transaction commits, delivery starts again after it (a replay, or a skip forward) and members holding unacknowledged deliveries are fenced (EV006 at their next ack). Errors: 22004 a NULL argument; 22023 after_seq < 0 or beyond the head; 42704 no such group; 42501 not a member of the group''s owner role.';
CREATE FUNCTION evlog_partition(stream text, partitions integer) RETURNS integer
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_partition';
COMMENT ON FUNCTION evlog_partition(text, integer) IS
  'evlog_partition(stream text, partitions integer) RETURNS integer: the partition, 0..partitions-1, of a stream in a consumer group of partitions partitions (a hash of the stream''s bytes). NULL for a NULL argument. Errors: 22023 partitions outside 1..1024.';
CREATE FUNCTION evlog.consumer_member_rows()
  RETURNS TABLE(group_id bigint, member text, partitions integer[], generation bigint,
                last_seen timestamptz, expired boolean)
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_consumer_member_rows';
COMMENT ON FUNCTION evlog.consumer_member_rows() IS
  'evlog.consumer_member_rows() RETURNS TABLE(group_id bigint, member text, partitions integer[], generation bigint, last_seen timestamptz, expired boolean): the members of this database''s consumer groups in shared memory, for evlog.consumer_members and evlog.consumer_groups (which show only the groups of roles the current user is a member of). No rows without evlog in shared_preload_libraries.';

CREATE VIEW evlog.consumer_members AS
  SELECT r.group_name, m.member, m.partitions, m.generation, m.last_seen
    FROM evlog.consumer_member_rows() m
    JOIN evlog.consumer_group_registry r ON r.group_id = m.group_id
   WHERE NOT m.expired AND pg_catalog.pg_has_role(r.owner, 'MEMBER');
GRANT SELECT ON evlog.consumer_members TO PUBLIC;
COMMENT ON VIEW evlog.consumer_members IS
  'One row per live member of a consumer group: group_name text, member text, partitions integer[] (the partitions it owns now), generation bigint (changes whenever its assignment changes), last_seen timestamptz (its last poll or ack). Shows the groups whose owner role the current user is a member of. Members live in shared memory: none after a restart until they poll.';
CREATE VIEW evlog.consumer_groups AS
  SELECT r.group_name, r.owner, r.event_types, r.stream_prefix, r.partitions, r.lease,
         (SELECT pg_catalog.count(*) FROM evlog.consumer_member_rows() m
           WHERE m.group_id = r.group_id AND NOT m.expired) AS members,
         o.committed,
         h.head,
         h.head - o.committed AS lag_events
    FROM evlog.consumer_group_registry r
    LEFT JOIN LATERAL (SELECT pg_catalog.min(c.committed) AS committed
                         FROM evlog.consumer_offsets c WHERE c.group_id = r.group_id) o ON true,
         LATERAL (SELECT coalesce(pg_catalog.max(e.seq), 0) AS head FROM evlog.events e) h
   WHERE pg_catalog.pg_has_role(r.owner, 'MEMBER');
GRANT SELECT ON evlog.consumer_groups TO PUBLIC;
COMMENT ON VIEW evlog.consumer_groups IS
  'One row per consumer group: group_name text, owner regrole, event_types text[], stream_prefix text, partitions integer, lease interval, members bigint (live members), committed bigint (the lowest committed offset of its partitions), head bigint (the head of the log), lag_events bigint (head - committed). Shows the groups whose owner role the current user is a member of.';

-- Projection versions, snapshots and progress (README "Projection versions").
-- A new version of a projection notes the projection it replaces.
ALTER TABLE evlog.projections ADD COLUMN replaces text COLLATE "C";
COMMENT ON COLUMN evlog.projections.replaces IS
  'text or NULL: the projection this one is the next version of (registered with replaces => ...); evlog_promote unregisters that one and gives this one its name and mode. NULL for a projection that serves.';

-- evlog_rebuild gains the argument from_snapshot: the 0.1.0 function is
-- renamed, its grants carried over to the new one, and then it is dropped.
-- (evlog_register_projection's argument replaces is in its definition under
-- "Security" above.)
ALTER FUNCTION evlog_rebuild(text) RENAME TO evlog_rebuild_0_1_0;

CREATE FUNCTION evlog_rebuild(name text, from_snapshot boolean DEFAULT false) RETURNS bigint
  LANGUAGE C VOLATILE STRICT SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_rebuild';
COMMENT ON FUNCTION evlog_rebuild(text, boolean) IS
  'evlog_rebuild(name text, from_snapshot boolean = false) RETURNS bigint: empty the projection''s tables (DELETE, then its reset function), fold the whole log into them and set the checkpoint to the head, in this transaction; returns the events replayed. With from_snapshot, the tables are instead set to the latest snapshot (evlog_snapshot) whose fingerprint matches the projection now (handler and reset definitions, tables, event types, upcast), the reset function does not run, and only the events after the snapshot''s seq are folded (a NOTICE says which; with no matching snapshot the whole log is replayed). A NOTICE every evlog.progress_events (100000) events, at most one every evlog.progress_notice_interval; evlog.progress shows it meanwhile. Readers are not blocked and see the old read model until commit; appends go on (a sync projection''s tail is folded at the end while holding the sequencer). Clears its dead letters (from a snapshot, only those after the snapshot''s seq: those up to it stay, the tail''s fold records the others again); a failed projection that rebuilds cleanly becomes active. NULL when an argument is NULL (STRICT). Errors: EV005 unknown projection; 42501 not the owner; a handler error under on_error = ''stop'' (nothing changes); 0A000 a sync projection under REPEATABLE READ.';

SELECT evlog.carry_execute_grants('evlog_rebuild_0_1_0(text)', 'evlog_rebuild(text, boolean)');
DROP FUNCTION evlog_rebuild_0_1_0(text);

CREATE FUNCTION evlog_promote(name text, timeout interval DEFAULT '1 minute') RETURNS bigint
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_promote';
COMMENT ON FUNCTION evlog_promote(text, interval) IS
  'evlog_promote(name text, timeout interval = ''1 minute'') RETURNS bigint: cut over to projection name, the next version of the projection it replaces. Waits, holding nothing, up to timeout until name is within one batch (evlog.batch_size) of the head; then, in the caller''s transaction, holds appends (the sequencer, to the end of the transaction), folds name to the head, unregisters the projection it replaces (its dead letters and snapshots go, its tables stay) and gives name that projection''s name and mode (sync or async); returns the checkpoint, the head. Switch readers in the same transaction (CREATE OR REPLACE VIEW), so the cut-over is one commit. Needs READ COMMITTED. Errors: 22004 null argument; 22023 negative timeout; 0A000 under REPEATABLE READ or SERIALIZABLE; EV005 unknown projection, one that replaces no projection, or paused or failed; 42501 not the owner of both; 55P03 not near the head within timeout (nothing changed). Not granted to PUBLIC.';
REVOKE EXECUTE ON FUNCTION evlog_promote(text, interval) FROM PUBLIC;

-- Snapshots: one row per snapshot, its copies in schema evlog_snapshots.
CREATE SCHEMA evlog_snapshots;
GRANT USAGE ON SCHEMA evlog_snapshots TO PUBLIC;
COMMENT ON SCHEMA evlog_snapshots IS
  'Copies of projections'' tables taken by evlog_snapshot, one table s<id>_<n> per table of the projection, owned by the projection''s owner; only evlog creates tables here (PUBLIC has USAGE, not CREATE). See evlog.snapshots.';
CREATE SEQUENCE evlog.snapshot_id_seq;
COMMENT ON SEQUENCE evlog.snapshot_id_seq IS
  'bigint: numbers evlog.projection_snapshots.id, and so the names of the copies in schema evlog_snapshots.';
CREATE TABLE evlog.projection_snapshots (
  id          bigint NOT NULL CONSTRAINT projection_snapshots_pkey PRIMARY KEY,
  projection  text COLLATE "C" NOT NULL,
  seq         bigint NOT NULL,
  taken_at    timestamptz NOT NULL DEFAULT now(),
  fingerprint text NOT NULL,
  copies      text[] NOT NULL
);
COMMENT ON TABLE evlog.projection_snapshots IS
  'The snapshots evlog_snapshot took: id bigint, projection text, seq bigint (the projection''s checkpoint the copies stand at), taken_at timestamptz, fingerprint text (hex SHA-256 of the handler and reset function definitions, the tables and their columns, the event types and upcast), copies text[] (the tables in schema evlog_snapshots, in the order of the projection''s tables). Written only by evlog; survives pg_dump/pg_restore. Read it through evlog.snapshots.';
SELECT pg_catalog.pg_extension_config_dump('evlog.projection_snapshots', '');
SELECT pg_catalog.pg_extension_config_dump('evlog.snapshot_id_seq', '');
GRANT SELECT ON evlog.projection_snapshots TO PUBLIC;
CREATE VIEW evlog.snapshots AS
  SELECT s.projection, s.seq, s.taken_at, s.fingerprint,
         (SELECT coalesce(sum(pg_catalog.pg_total_relation_size(c.oid)), 0)::bigint
            FROM pg_catalog.pg_class c
           WHERE c.relnamespace = 'evlog_snapshots'::regnamespace AND c.relname = ANY (s.copies)) AS bytes,
         s.copies
  FROM evlog.projection_snapshots s;
COMMENT ON VIEW evlog.snapshots IS
  'One row per snapshot: projection text, seq bigint (the checkpoint it was taken at), taken_at timestamptz, fingerprint text (see evlog.projection_snapshots), bytes bigint (disk space of its copies, indexes and TOAST included), copies text[] (its tables in schema evlog_snapshots). evlog.snapshot_retention keeps the last N per projection.';
GRANT SELECT ON evlog.snapshots TO PUBLIC;

CREATE FUNCTION evlog_snapshot(name text) RETURNS bigint
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_snapshot';
COMMENT ON FUNCTION evlog_snapshot(text) IS
  'evlog_snapshot(name text) RETURNS bigint: copy the projection''s tables, as of its checkpoint, into new tables of schema evlog_snapshots owned by the projection''s owner (read and written as that owner, security-restricted), record the snapshot with that seq and a fingerprint of the handler and reset function definitions (and the tables'' columns, event types, upcast), drop the projection''s snapshots beyond evlog.snapshot_retention (3), and return the seq. Holds the projection''s registry row to the end of the transaction (the worker passes it over), and for a sync projection the sequencer (appends wait). Errors: 22004 null name; EV005 unknown projection; 42501 not the owner; 42P01 a table of it dropped.';

-- Progress: the folds running now, from shared memory.
CREATE FUNCTION evlog.progress_rows()
  RETURNS TABLE(projection text, phase text, folded bigint, target bigint, started_at timestamptz,
                events_per_second double precision, eta interval, pid integer)
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_progress_rows';
COMMENT ON FUNCTION evlog.progress_rows() IS
  'evlog.progress_rows() RETURNS TABLE(projection text, phase text, folded bigint, target bigint, started_at timestamptz, events_per_second double precision, eta interval, pid integer): the rows of evlog.progress, read from shared memory (none when evlog is not in shared_preload_libraries). Raises nothing.';
CREATE VIEW evlog.progress AS SELECT * FROM evlog.progress_rows();
COMMENT ON VIEW evlog.progress IS
  'One row per rebuild, catch-up or version build running in this database, updated after every batch: projection text; phase text (''rebuild'', ''rebuild from snapshot'', ''catch-up'': evlog_catch_up or a worker more than one batch behind, ''version build'': a worker building a projection registered with replaces); folded bigint (the seq it has folded up to); target bigint (the seq it folds to: the head when it last looked); started_at timestamptz; events_per_second double precision (log positions passed per second since started_at); eta interval (time to target at that rate, NULL while unknown); pid integer (the process folding). Needs evlog in shared_preload_libraries (empty otherwise).';
GRANT SELECT ON evlog.progress TO PUBLIC;
-- The snapshots' copies are not members of the extension (pg_dump dumps
-- them and their rows); DROP EXTENSION evlog drops them first, through this
-- event trigger, instead of refusing to drop their schema.
CREATE FUNCTION evlog.drop_snapshot_copies() RETURNS event_trigger
  LANGUAGE C SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_drop_snapshot_copies';
COMMENT ON FUNCTION evlog.drop_snapshot_copies() IS
  'evlog.drop_snapshot_copies() RETURNS event_trigger: the function of event trigger evlog_drop_snapshots. When the statement is DROP EXTENSION evlog (RESTRICT or CASCADE), drops every table of schema evlog_snapshots (the snapshots'' copies) with the same behaviour, as the owner of the schema; any other statement is left alone. Errors: 39P01 when not called as an event trigger; 2BP01 when an object of the user''s depends on a copy and the drop is not CASCADE.';
CREATE EVENT TRIGGER evlog_drop_snapshots ON ddl_command_start
  WHEN TAG IN ('DROP EXTENSION')
  EXECUTE FUNCTION evlog.drop_snapshot_copies();
COMMENT ON EVENT TRIGGER evlog_drop_snapshots IS
  'Fires at the start of DROP EXTENSION: when it drops evlog, drops the snapshots'' copies in schema evlog_snapshots first (evlog.drop_snapshot_copies), so that the extension goes with its snapshots.';

-- Statistics (README "Statistics and monitoring").

CREATE FUNCTION evlog.read_stats(OUT appends bigint, OUT retries bigint, OUT conflicts bigint,
                                 OUT version_conflicts bigint, OUT rejected bigint,
                                 OUT aborted_appends bigint, OUT sequencer_wait_ms double precision,
                                 OUT sequencer_wait_max_ms double precision, OUT folds bigint,
                                 OUT fold_failures bigint, OUT dead_letters bigint, OUT polls bigint,
                                 OUT deliveries bigint, OUT poll_wakeups bigint,
                                 OUT empty_wakeups bigint, OUT stats_reset timestamptz)
  RETURNS SETOF record
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_read_stats';
COMMENT ON FUNCTION evlog.read_stats() IS
  'evlog.read_stats() RETURNS SETOF record: the row of evlog.stats (this database''s counters since stats_reset, from shared memory); no row when evlog is not in shared_preload_libraries or more than evlog.stats_databases (default 256) databases have counters. Counts of transactions in progress are not included. Errors: 42501 without SELECT on evlog.events.';

CREATE VIEW evlog.stats AS SELECT * FROM evlog.read_stats();
COMMENT ON VIEW evlog.stats IS
  'This database''s evlog counters since stats_reset, kept in shared memory (zero again after a restart; one row, none without evlog in shared_preload_libraries): appends bigint (events appended by committed transactions), retries bigint (appends whose idempotency key held the same event: no-ops returning the original seq), conflicts bigint (EV002), version_conflicts bigint (EV003), rejected bigint (appends, batches or COPYs refused with EV004), aborted_appends bigint (events appended by transactions or savepoints that rolled back), sequencer_wait_ms double precision (milliseconds appenders waited for the sequencer in total), sequencer_wait_max_ms double precision (the longest single wait), folds bigint (events a handler folded in a committed transaction: workers, evlog_catch_up, sync appends, rebuilds), fold_failures bigint (handler errors recorded by a worker or evlog_catch_up: on_error = stop or skip), dead_letters bigint (dead letters written), polls bigint (evlog_poll calls), deliveries bigint (events evlog_poll handed out), poll_wakeups bigint (times a waiting evlog_poll was woken before its timeout: by the commit of new events, as the herald that reads them for the others, or by another poll handing them on), empty_wakeups bigint (of those, wake-ups other than as the herald after which the poll found nothing to give and waited again; near 0 when the herald hands on well), stats_reset timestamptz (last evlog_stats_reset(), or the first count since the server started). Counts are added when their transaction ends. Needs SELECT on evlog.events (42501).';
GRANT SELECT ON evlog.stats TO PUBLIC;

CREATE FUNCTION evlog_stats_reset() RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_stats_reset';
COMMENT ON FUNCTION evlog_stats_reset() IS
  'evlog_stats_reset() RETURNS void: set this database''s evlog.stats counters to zero and stats_reset to now (counts added at the same moment may survive). A no-op without evlog in shared_preload_libraries. Not granted to PUBLIC; raises nothing.';
REVOKE EXECUTE ON FUNCTION evlog_stats_reset() FROM PUBLIC;

-- Worker slots (README "Statistics and monitoring", "Worker slots"): evlog.projection_status
-- says when a worker could not start because no background worker slot was
-- free.
CREATE FUNCTION evlog.no_worker_slot(projection text) RETURNS boolean
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_no_worker_slot';
COMMENT ON FUNCTION evlog.no_worker_slot(text) IS
  'evlog.no_worker_slot(projection text) RETURNS boolean: whether, in this database, the projection worker of the named projection (with NULL: the database''s worker) could not start because every max_worker_processes slot was taken, and has not started since. false without evlog in shared_preload_libraries. Raises nothing.';

CREATE OR REPLACE VIEW evlog.projection_status AS
  SELECT p.name, p.mode, p.state, p.checkpoint, h.head,
         h.head - p.checkpoint AS lag_events,
         coalesce(extract(epoch FROM now() - (SELECT e.recorded_at FROM evlog.events e
                                            WHERE e.seq = p.checkpoint + 1)), 0)::double precision AS lag_seconds,
         p.last_error, p.last_error_seq, p.updated_at,
         CASE WHEN p.mode = 'sync' THEN 'not needed (sync)'
              WHEN evlog.worker_pid() IS NOT NULL THEN
                CASE WHEN p.state = 'active' AND evlog.no_worker_slot(p.name)
                     THEN 'database worker (max_worker_processes)' ELSE 'running' END
              WHEN evlog.no_worker_slot(NULL) THEN 'no worker (max_worker_processes)'
              ELSE 'not running' END AS worker,
         CASE WHEN p.mode = 'async' AND p.state = 'active'
              THEN coalesce(evlog.projection_worker_pid(p.name), evlog.worker_pid()) END AS worker_pid
  FROM evlog.projections p,
       LATERAL (SELECT coalesce(max(e.seq), 0) AS head FROM evlog.events e) h;
COMMENT ON VIEW evlog.projection_status IS
  'One row per projection: name, mode, state, checkpoint bigint, head bigint, lag_events bigint (head - checkpoint), lag_seconds double precision (age of the oldest unfolded event, 0 when caught up), last_error, last_error_seq, updated_at, worker text (''running''; ''not needed (sync)''; ''no worker (max_worker_processes)'': the database''s worker could not start because no background worker slot is free, so nothing folds this async projection until one frees up (the launcher retries every second); ''database worker (max_worker_processes)'': no slot was free for a projection worker of its own, so the database''s worker folds it in turn with others; ''not running'': async projections then need evlog_catch_up or evlog in shared_preload_libraries), and worker_pid integer (the process that folds an active async projection: its projection worker, else the database''s worker; NULL otherwise). Needs SELECT on evlog.events.';

-- Followers (README "Followers and change data capture").
-- A database whose evlog.events is the target of a subscription is a
-- follower: appends fail there with EV007 and only the subscription writes
-- the log (the library checks pg_subscription_rel). This view says which
-- subscription feeds the log, its head, and how far behind the primary it is.
CREATE VIEW evlog.follower_status AS
  SELECT s.subname AS subscription,
         s.subenabled AS enabled,
         CASE r.srsubstate WHEN 'i' THEN 'initializing' WHEN 'd' THEN 'copying'
                           WHEN 'f' THEN 'copied' WHEN 's' THEN 'synchronized'
                           WHEN 'r' THEN 'ready' END AS sync_state,
         st.pid AS apply_pid,
         coalesce(h.seq, 0) AS head,
         h.recorded_at AS head_recorded_at,
         extract(epoch FROM now() - h.recorded_at)::double precision AS head_age_seconds,
         st.received_lsn, st.latest_end_lsn,
         st.last_msg_send_time, st.last_msg_receipt_time, st.latest_end_time,
         extract(epoch FROM st.last_msg_receipt_time - st.last_msg_send_time)::double precision AS transit_seconds,
         coalesce(ss.apply_error_count, 0) AS apply_error_count,
         coalesce(ss.sync_error_count, 0) AS sync_error_count
  FROM pg_catalog.pg_subscription_rel r
  JOIN pg_catalog.pg_subscription s ON s.oid = r.srsubid
  LEFT JOIN pg_catalog.pg_stat_subscription st ON st.subid = s.oid AND st.relid IS NULL
  LEFT JOIN pg_catalog.pg_stat_subscription_stats ss ON ss.subid = s.oid
  LEFT JOIN LATERAL (SELECT e.seq, e.recorded_at FROM evlog.events e
                     ORDER BY e.seq DESC LIMIT 1) h ON true
  WHERE r.srrelid = 'evlog.events'::pg_catalog.regclass;
COMMENT ON VIEW evlog.follower_status IS
  'On a follower (a database whose evlog.events is the target of a subscription), one row per such subscription; no row on a primary. subscription name; enabled boolean; sync_state text (''initializing'', ''copying'', ''copied'', ''synchronized'' during the initial copy, then ''ready''); apply_pid integer (the apply worker, NULL when none runs); head bigint (the follower''s last event, 0 when empty) and head_recorded_at timestamptz (its time of sequencing on the primary); head_age_seconds double precision (now - head_recorded_at: while the primary appends, how far behind it the follower is in time); received_lsn, latest_end_lsn pg_lsn (the primary''s WAL positions received and reported; on the primary, pg_current_wal_lsn() minus latest_end_lsn is the lag in bytes); last_msg_send_time, last_msg_receipt_time, latest_end_time timestamptz and transit_seconds double precision (receipt - send of the last message) from pg_stat_subscription; apply_error_count, sync_error_count bigint from pg_stat_subscription_stats (a refused replicated event counts here, and the apply worker retries it). Raises nothing.';
GRANT SELECT ON evlog.follower_status TO PUBLIC;

-- The update's own helper goes (see the top of this script).
DROP FUNCTION evlog.carry_execute_grants(regprocedure, regprocedure);

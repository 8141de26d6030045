/* evlog 0.1.0: the log, its guard and the sequencer (SPEC.md sections 3, 4) */

\echo Use "CREATE EXTENSION evlog" to load this file. \quit

CREATE SCHEMA evlog;
COMMENT ON SCHEMA evlog IS
  'evlog''s tables and views: the append-only log evlog.events and what serves it. The evlog_* functions live in the extension''s schema.';
GRANT USAGE ON SCHEMA evlog TO PUBLIC;

-- The log (SPEC.md section 3.1). Rows come only from the sequencer, or from a
-- restore that continues the chain (guard trigger evlog_guard_insert).
CREATE TABLE evlog.events (
  seq             bigint NOT NULL CONSTRAINT events_pkey PRIMARY KEY
                  CONSTRAINT events_seq_check CHECK (seq >= 1),
  stream          text COLLATE "C" NOT NULL
                  CONSTRAINT events_stream_check
                  CHECK (octet_length(stream) BETWEEN 1 AND 512),
  stream_version  bigint NOT NULL
                  CONSTRAINT events_stream_version_check CHECK (stream_version >= 1),
  type            text COLLATE "C" NOT NULL
                  CONSTRAINT events_type_check
                  CHECK (octet_length(type) <= 128
                         AND type OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$'),
  type_version    integer NOT NULL DEFAULT 1
                  CONSTRAINT events_type_version_check CHECK (type_version >= 1),
  payload         jsonb NOT NULL
                  CONSTRAINT events_payload_check
                  CHECK (pg_catalog.jsonb_typeof(payload) = 'object'),
  metadata        jsonb NOT NULL DEFAULT '{}'
                  CONSTRAINT events_metadata_check
                  CHECK (pg_catalog.jsonb_typeof(metadata) = 'object'),
  idempotency_key text COLLATE "C"
                  CONSTRAINT events_idempotency_key_check
                  CHECK (octet_length(idempotency_key) BETWEEN 1 AND 256),
  actor           text NOT NULL,
  recorded_at     timestamptz NOT NULL,
  digest          bytea NOT NULL
                  CONSTRAINT events_digest_check CHECK (octet_length(digest) = 32),
  CONSTRAINT events_stream_version_key UNIQUE (stream, stream_version),
  CONSTRAINT events_idempotency_key_key UNIQUE (idempotency_key)
);
CREATE INDEX events_type_seq_idx ON evlog.events (type, seq);

COMMENT ON TABLE evlog.events IS
  'The append-only event log. One row per event, seq 1..head with no hole, in commit order. Written only by evlog_append (and its bulk forms); UPDATE, DELETE and TRUNCATE fail with EV001 for every role.';
COMMENT ON COLUMN evlog.events.seq IS
  'bigint: global position, 1, 2, 3, ... with no hole, in commit order (G1, G2).';
COMMENT ON COLUMN evlog.events.stream IS
  'text, 1..512 bytes, collation "C": the entity the event is about, chosen by the writer.';
COMMENT ON COLUMN evlog.events.stream_version IS
  'bigint: position within the stream, 1, 2, 3, ... with no hole; unique with stream (G3).';
COMMENT ON COLUMN evlog.events.type IS
  'text, 1..128 bytes, dotted lower case (^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$): the event''s kind.';
COMMENT ON COLUMN evlog.events.type_version IS
  'integer >= 1: version of the payload''s schema for this type.';
COMMENT ON COLUMN evlog.events.payload IS
  'jsonb object: the fact. At most evlog.max_payload_bytes bytes.';
COMMENT ON COLUMN evlog.events.metadata IS
  'jsonb object: correlation, causation, trace ids and the like. Not part of the idempotency comparison.';
COMMENT ON COLUMN evlog.events.idempotency_key IS
  'text, 1..256 bytes, unique, or null: a retried append with the same key returns this event''s seq (G4).';
COMMENT ON COLUMN evlog.events.actor IS
  'text: current_user of the caller of evlog_append.';
COMMENT ON COLUMN evlog.events.recorded_at IS
  'timestamptz: time of sequencing; never decreases along seq (G6).';
COMMENT ON COLUMN evlog.events.digest IS
  'bytea, 32 bytes: sha256(digest of seq - 1 || canonical bytes of this event); digest of seq 0 is 32 zero bytes (G7). See evlog_verify_chain.';

SELECT pg_catalog.pg_extension_config_dump('evlog.events', '');

-- The guard (SPEC.md G5)
CREATE FUNCTION evlog.guard() RETURNS trigger
  LANGUAGE C SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_guard';
COMMENT ON FUNCTION evlog.guard() IS
  'Trigger function of every append-only table: BEFORE UPDATE, DELETE or TRUNCATE raises EV001; BEFORE INSERT on evlog.events admits only a row that continues the log (seq head + 1, next stream_version, chained digest), else EV001.';

CREATE FUNCTION evlog_protect(tbl regclass) RETURNS void
  LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
  AS $$
BEGIN
  IF (SELECT relkind FROM pg_class WHERE oid = tbl) NOT IN ('r', 'p') THEN
    RAISE EXCEPTION 'evlog_protect() can only protect a table'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = format('%s is not a table.', tbl);
  END IF;
  IF EXISTS (SELECT FROM pg_trigger
             WHERE tgrelid = tbl AND tgname = 'evlog_guard_statement') THEN
    RAISE NOTICE 'table % is already append-only', tbl;
    RETURN;
  END IF;
  EXECUTE format('CREATE TRIGGER evlog_guard_row BEFORE UPDATE OR DELETE ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION evlog.guard()', tbl);
  EXECUTE format('CREATE TRIGGER evlog_guard_statement BEFORE UPDATE OR DELETE OR TRUNCATE ON %s '
                 'FOR EACH STATEMENT EXECUTE FUNCTION evlog.guard()', tbl);
  EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER evlog_guard_row, '
                 'ENABLE ALWAYS TRIGGER evlog_guard_statement', tbl);
END
$$;
COMMENT ON FUNCTION evlog_protect(regclass) IS
  'evlog_protect(tbl regclass) RETURNS void: make a table append-only, as evlog.events is: UPDATE, DELETE and TRUNCATE then fail with EV001 for every role, also under session_replication_role = replica. Runs with the caller''s privileges (the caller must own the table). A table already protected gets a NOTICE. Errors: 22023 when tbl is not a table.';

SELECT evlog_protect('evlog.events');
CREATE TRIGGER evlog_guard_insert BEFORE INSERT ON evlog.events
  FOR EACH ROW EXECUTE FUNCTION evlog.guard();
ALTER TABLE evlog.events ENABLE ALWAYS TRIGGER evlog_guard_insert;
COMMENT ON TRIGGER evlog_guard_row ON evlog.events IS
  'Refuses UPDATE and DELETE of each row with EV001 (fires always, also under session_replication_role = replica).';
COMMENT ON TRIGGER evlog_guard_statement ON evlog.events IS
  'Refuses UPDATE, DELETE and TRUNCATE statements with EV001 (fires always).';
COMMENT ON TRIGGER evlog_guard_insert ON evlog.events IS
  'Admits a row not written by the sequencer (a restore) only if it continues the log; else EV001.';

-- The sequencer (SPEC.md G1-G4, G6, G7)
CREATE FUNCTION evlog_append(stream text, type text, payload jsonb,
                             metadata jsonb DEFAULT '{}',
                             idempotency_key text DEFAULT NULL,
                             expected_version bigint DEFAULT NULL,
                             type_version integer DEFAULT 1)
  RETURNS bigint
  LANGUAGE C VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_append';
COMMENT ON FUNCTION evlog_append(text, text, jsonb, jsonb, text, bigint, integer) IS
  'evlog_append(stream text, type text, payload jsonb, metadata jsonb = ''{}'', idempotency_key text = NULL, expected_version bigint = NULL, type_version integer = 1) RETURNS bigint: append one event and return its seq. A retry with an existing idempotency key returns the original seq and writes nothing. Holds the sequencer from this call to the end of the transaction. Errors: EV002 key reused with different content; EV003 expected_version (0 = new stream) is not the stream''s current version; EV004 bad argument (DETAIL names it); 40001 under REPEATABLE READ/SERIALIZABLE when an append committed after the snapshot; 25006 in a read-only transaction or on a standby. EXECUTE is not granted to PUBLIC.';
REVOKE EXECUTE ON FUNCTION evlog_append(text, text, jsonb, jsonb, text, bigint, integer) FROM PUBLIC;

CREATE TYPE evlog.new_event AS (
  stream text, type text, payload jsonb, metadata jsonb,
  idempotency_key text, expected_version bigint, type_version integer
);
COMMENT ON TYPE evlog.new_event IS
  'One event to append with evlog_append_batch: the arguments of evlog_append in order (stream text, type text, payload jsonb, metadata jsonb, idempotency_key text, expected_version bigint, type_version integer); metadata and type_version have no default here.';

CREATE FUNCTION evlog_append_batch(events evlog.new_event[]) RETURNS bigint[]
  LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_append_batch';
COMMENT ON FUNCTION evlog_append_batch(evlog.new_event[]) IS
  'evlog_append_batch(events evlog.new_event[]) RETURNS bigint[]: append the events in array order, each with evlog_append''s semantics, and return their seqs in the same order. Every element is checked before any is written; any error fails the whole call. Errors as evlog_append; a null element is EV004. EXECUTE is not granted to PUBLIC.';
REVOKE EXECUTE ON FUNCTION evlog_append_batch(evlog.new_event[]) FROM PUBLIC;

CREATE VIEW evlog.append_queue AS
  SELECT NULL::bigint AS seq, NULL::text AS stream, NULL::text AS type,
         NULL::jsonb AS payload, NULL::jsonb AS metadata,
         NULL::text AS idempotency_key, NULL::bigint AS expected_version,
         NULL::integer AS type_version
  WHERE false;
ALTER VIEW evlog.append_queue ALTER COLUMN metadata SET DEFAULT '{}';
ALTER VIEW evlog.append_queue ALTER COLUMN type_version SET DEFAULT 1;
COMMENT ON VIEW evlog.append_queue IS
  'Loader entry: INSERT or COPY rows (stream text, type text, payload jsonb, metadata jsonb = ''{}'', idempotency_key text, expected_version bigint, type_version integer = 1) and each row is appended as by evlog_append; INSERT ... RETURNING seq gives the seqs. Always reads empty. Errors as evlog_append. INSERT is not granted to PUBLIC.';
REVOKE ALL ON evlog.append_queue FROM PUBLIC;

CREATE FUNCTION evlog.append_queue_insert() RETURNS trigger
  LANGUAGE C SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_append_queue_insert';
COMMENT ON FUNCTION evlog.append_queue_insert() IS
  'INSTEAD OF INSERT trigger function of evlog.append_queue: appends the row as evlog_append and returns it with seq set. Serves no other relation (EV004).';
REVOKE EXECUTE ON FUNCTION evlog.append_queue_insert() FROM PUBLIC;
CREATE TRIGGER append_queue_insert INSTEAD OF INSERT ON evlog.append_queue
  FOR EACH ROW EXECUTE FUNCTION evlog.append_queue_insert();
COMMENT ON TRIGGER append_queue_insert ON evlog.append_queue IS
  'Appends each inserted or copied row through the sequencer.';

-- Reading the log
CREATE FUNCTION evlog_read(after_seq bigint DEFAULT 0, max_count integer DEFAULT 1000,
                           types text[] DEFAULT NULL)
  RETURNS SETOF evlog.events
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT e.* FROM evlog.events e
    WHERE e.seq > evlog_read.after_seq
      AND (evlog_read.types IS NULL OR e.type = ANY (evlog_read.types))
    ORDER BY e.seq
    LIMIT evlog_read.max_count
  $$;
COMMENT ON FUNCTION evlog_read(bigint, integer, text[]) IS
  'evlog_read(after_seq bigint = 0, max_count integer = 1000, types text[] = NULL) RETURNS SETOF evlog.events: up to max_count events with seq > after_seq, in seq order, of the given types (NULL: all). Because the log is prefix-visible (G2), tailing with the last seq read never misses an event. Needs SELECT on evlog.events. Errors: 2201W when max_count is negative.';

CREATE FUNCTION evlog_read_stream(stream text, after_version bigint DEFAULT 0)
  RETURNS SETOF evlog.events
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$
    SELECT e.* FROM evlog.events e
    WHERE e.stream = evlog_read_stream.stream
      AND e.stream_version > evlog_read_stream.after_version
    ORDER BY e.stream_version
  $$;
COMMENT ON FUNCTION evlog_read_stream(text, bigint) IS
  'evlog_read_stream(stream text, after_version bigint = 0) RETURNS SETOF evlog.events: the events of one stream with stream_version > after_version, in stream_version order. Needs SELECT on evlog.events.';

CREATE FUNCTION evlog_head() RETURNS bigint
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
  AS $$ SELECT coalesce(max(e.seq), 0) FROM evlog.events e $$;
COMMENT ON FUNCTION evlog_head() IS
  'evlog_head() RETURNS bigint: the highest seq this snapshot sees (0 for an empty log); committed appends are visible in seq order, so this is the head. Needs SELECT on evlog.events.';

CREATE FUNCTION evlog_verify_chain(from_seq bigint DEFAULT 1)
  RETURNS TABLE(checked bigint, first_bad_seq bigint)
  LANGUAGE C STABLE STRICT SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_verify_chain';
COMMENT ON FUNCTION evlog_verify_chain(bigint) IS
  'evlog_verify_chain(from_seq bigint = 1) RETURNS TABLE(checked bigint, first_bad_seq bigint): recompute the SHA-256 hash chain from from_seq to the head, trusting the stored digest of from_seq - 1. checked counts the events that matched; first_bad_seq is the first seq missing or not matching, NULL when intact. Reads the whole range (one row per event, in seq order). Errors: 22023 when from_seq < 1.';

-- Projections (SPEC.md section 3.2, P1-P6). The registry is written only by
-- the evlog_* functions below, which check the caller's rights first.
CREATE TABLE evlog.projections (
  name           text COLLATE "C" NOT NULL CONSTRAINT projections_pkey PRIMARY KEY
                 CONSTRAINT projections_name_check
                 CHECK (name OPERATOR(pg_catalog.~) '^[a-z][a-z0-9_]*$' AND octet_length(name) <= 63),
  handler        regprocedure NOT NULL,
  tables         regclass[] NOT NULL DEFAULT '{}',
  event_types    text[],
  mode           text NOT NULL DEFAULT 'async'
                 CONSTRAINT projections_mode_check CHECK (mode IN ('async', 'sync')),
  on_error       text NOT NULL DEFAULT 'stop'
                 CONSTRAINT projections_on_error_check CHECK (on_error IN ('stop', 'skip')),
  reset          regprocedure,
  owner          regrole NOT NULL,
  state          text NOT NULL DEFAULT 'active'
                 CONSTRAINT projections_state_check CHECK (state IN ('active', 'paused', 'failed')),
  checkpoint     bigint NOT NULL DEFAULT 0,
  upcast         boolean NOT NULL DEFAULT false,
  last_error     text,
  last_error_seq bigint,
  registered_at  timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE evlog.projections IS
  'The projection registry: one row per projection (name text, handler regprocedure, tables regclass[], event_types text[] or NULL for all, mode ''async''|''sync'', on_error ''stop''|''skip'', reset regprocedure, owner regrole, state ''active''|''paused''|''failed'', checkpoint bigint = last seq folded or passed over, upcast boolean = receives events at their latest defined version, last_error text, last_error_seq bigint, registered_at, updated_at timestamptz). Written only by evlog_register_projection and its siblings; survives pg_dump/pg_restore.';
COMMENT ON COLUMN evlog.projections.checkpoint IS
  'bigint: the last seq this projection has folded or passed over; committed in the same transaction as the fold (P1).';
SELECT pg_catalog.pg_extension_config_dump('evlog.projections', '');
GRANT SELECT ON evlog.projections TO PUBLIC;

CREATE TABLE evlog.dead_letters (
  projection text COLLATE "C" NOT NULL,
  seq        bigint NOT NULL,
  error      text NOT NULL,
  failed_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT dead_letters_pkey PRIMARY KEY (projection, seq)
);
COMMENT ON TABLE evlog.dead_letters IS
  'Events a projection with on_error = ''skip'' could not fold: projection text, seq bigint, error text (the handler''s message), failed_at timestamptz. Survives pg_dump/pg_restore; delete rows once handled.';
SELECT pg_catalog.pg_extension_config_dump('evlog.dead_letters', '');
GRANT SELECT ON evlog.dead_letters TO PUBLIC;

CREATE FUNCTION evlog.worker_pid() RETURNS integer
  LANGUAGE C STABLE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_worker_pid';
COMMENT ON FUNCTION evlog.worker_pid() IS
  'evlog.worker_pid() RETURNS integer: process id of this database''s evlog worker, NULL when none runs (evlog not in shared_preload_libraries, a hot standby, or not started yet).';

CREATE VIEW evlog.projection_status AS
  SELECT p.name, p.mode, p.state, p.checkpoint, h.head,
         h.head - p.checkpoint AS lag_events,
         coalesce(extract(epoch FROM now() - (SELECT e.recorded_at FROM evlog.events e
                                            WHERE e.seq = p.checkpoint + 1)), 0)::double precision AS lag_seconds,
         p.last_error, p.last_error_seq, p.updated_at,
         CASE WHEN p.mode = 'sync' THEN 'not needed (sync)'
              WHEN evlog.worker_pid() IS NOT NULL THEN 'running'
              ELSE 'not running' END AS worker
  FROM evlog.projections p,
       LATERAL (SELECT coalesce(max(e.seq), 0) AS head FROM evlog.events e) h;
COMMENT ON VIEW evlog.projection_status IS
  'One row per projection: name, mode, state, checkpoint bigint, head bigint, lag_events bigint (head - checkpoint), lag_seconds double precision (age of the oldest unfolded event, 0 when caught up), last_error, last_error_seq, updated_at, and worker (''running'', ''not running'': async projections then need evlog_catch_up or evlog in shared_preload_libraries). Needs SELECT on evlog.events.';
GRANT SELECT ON evlog.projection_status TO PUBLIC;

CREATE FUNCTION evlog_register_projection(name text, handler regprocedure,
                                          tables regclass[] DEFAULT '{}',
                                          event_types text[] DEFAULT NULL,
                                          mode text DEFAULT 'async',
                                          on_error text DEFAULT 'stop',
                                          reset regprocedure DEFAULT NULL,
                                          upcast boolean DEFAULT false)
  RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_register_projection';
COMMENT ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean) IS
  'evlog_register_projection(name text, handler regprocedure, tables regclass[] = ''{}'', event_types text[] = NULL (all), mode text = ''async''|''sync'', on_error text = ''stop''|''skip'', reset regprocedure = NULL, upcast boolean = false) RETURNS void: register a projection owned by the caller; its handler f(evlog.events) RETURNS void will run as the caller. A sync projection folds the existing log at once, holding the sequencer. With upcast, the handler receives every event at its type''s latest defined version (see evlog_define_upcaster). Errors: 22023 bad name, mode, on_error or event type; 42710 name taken; EV005 wrong handler or reset signature; 42501 caller may not execute the handler or does not own a table.';

CREATE FUNCTION evlog_alter_projection(name text, mode text DEFAULT NULL, on_error text DEFAULT NULL)
  RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_alter_projection';
COMMENT ON FUNCTION evlog_alter_projection(text, text, text) IS
  'evlog_alter_projection(name text, mode text = NULL, on_error text = NULL) RETURNS void: change mode and/or on_error (NULL: keep). Switching to sync first folds up to the head, holding the sequencer. Errors: EV005 unknown projection; 22023 bad mode or on_error; 42501 not the owner.';

CREATE FUNCTION evlog_unregister_projection(name text) RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_unregister_projection';
COMMENT ON FUNCTION evlog_unregister_projection(text) IS
  'evlog_unregister_projection(name text) RETURNS void: forget a projection and its dead letters; its tables are left as they are. Errors: EV005 unknown projection; 42501 not the owner.';

CREATE FUNCTION evlog_pause(name text) RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_pause';
COMMENT ON FUNCTION evlog_pause(text) IS
  'evlog_pause(name text) RETURNS void: stop folding a projection (its checkpoint stays) until evlog_resume. Errors: EV005 unknown, already paused, or failed; 42501 not the owner.';

CREATE FUNCTION evlog_resume(name text) RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_resume';
COMMENT ON FUNCTION evlog_resume(text) IS
  'evlog_resume(name text) RETURNS void: resume a paused or failed projection (a failed one retries its failing event; the error is cleared). A sync projection first folds up to the head, holding the sequencer. Errors: EV005 unknown or already active; 42501 not the owner.';

CREATE FUNCTION evlog_catch_up(name text) RETURNS bigint
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_catch_up';
COMMENT ON FUNCTION evlog_catch_up(name text) IS
  'evlog_catch_up(name text) RETURNS bigint: fold the projection from its checkpoint to the head in this session and transaction, as the worker would (on_error applies), and return the number of events handed to the handler. Waits for a worker batch in progress. Errors: EV005 unknown, paused or failed projection; 42501 not the owner.';

CREATE FUNCTION evlog_wait(name text, seq bigint, timeout interval DEFAULT '5 seconds')
  RETURNS boolean
  LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp
  AS $$
DECLARE
  deadline timestamptz := clock_timestamp() + timeout;
  cp bigint;
BEGIN
  IF timeout < interval '0' THEN
    RAISE EXCEPTION 'timeout must not be negative'
      USING ERRCODE = 'invalid_parameter_value', DETAIL = format('timeout is %s.', timeout);
  END IF;
  LOOP
    SELECT p.checkpoint INTO cp FROM evlog.projections p WHERE p.name = evlog_wait.name;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'projection "%" does not exist', evlog_wait.name
        USING ERRCODE = 'EV005', HINT = 'See evlog.projections for the registered projections.';
    END IF;
    IF cp >= evlog_wait.seq THEN
      RETURN true;
    END IF;
    IF clock_timestamp() >= deadline THEN
      RETURN false;
    END IF;
    PERFORM pg_sleep(0.002);
  END LOOP;
END
$$;
COMMENT ON FUNCTION evlog_wait(text, bigint, interval) IS
  'evlog_wait(name text, seq bigint, timeout interval = ''5 seconds'') RETURNS boolean: wait until the projection''s checkpoint reaches seq (read-your-writes after an append); true when it did, false at the timeout. Call it outside a REPEATABLE READ transaction, whose snapshot would never see the checkpoint move. Errors: EV005 unknown projection; 22023 negative timeout.';

CREATE FUNCTION evlog.extension_created() RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_extension_created';
COMMENT ON FUNCTION evlog.extension_created() IS
  'Internal: asks the launcher, at commit, to start this database''s worker now.';
REVOKE EXECUTE ON FUNCTION evlog.extension_created() FROM PUBLIC;
SELECT evlog.extension_created();
REVOKE EXECUTE ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION evlog_alter_projection(text, text, text) FROM PUBLIC;

-- Rebuild and the drift check (SPEC.md P7, P8)
CREATE FUNCTION evlog_rebuild(name text) RETURNS bigint
  LANGUAGE C VOLATILE STRICT SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_rebuild';
COMMENT ON FUNCTION evlog_rebuild(text) IS
  'evlog_rebuild(name text) RETURNS bigint: empty the projection''s tables (DELETE, then its reset function), fold the whole log into them and set the checkpoint to the head, in this transaction; returns the events replayed, with a NOTICE every evlog.progress_events (100000). Readers are not blocked and see the old read model until commit; appends go on (a sync projection''s tail is folded at the end while holding the sequencer). Clears its dead letters; a failed projection that rebuilds cleanly becomes active. Errors: EV005 unknown projection; 42501 not the owner; a handler error under on_error = ''stop'' (nothing changes); 0A000 a sync projection under REPEATABLE READ.';

CREATE FUNCTION evlog_verify(name text)
  RETURNS TABLE(table_name regclass, missing bigint, unexpected bigint)
  LANGUAGE C VOLATILE STRICT SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_verify';
COMMENT ON FUNCTION evlog_verify(text) IS
  'evlog_verify(name text) RETURNS TABLE(table_name regclass, missing bigint, unexpected bigint): compare each table of the projection with a fresh fold of events 1..checkpoint (whole rows, as text); one row per table that differs, none when there is no drift. missing: rows the fresh fold has and the table lacks; unexpected: rows the table has and the fresh fold does not. Changes nothing a reader can see (the fold runs in a rolled-back subtransaction); a sync projection holds appends off until the transaction ends. Errors: EV005 unknown projection; 42501 not the owner; a handler error under on_error = ''stop''.';

-- Event contracts (SPEC.md section 3.3)
CREATE TABLE evlog.event_type_definitions (
  type         text COLLATE "C" NOT NULL,
  type_version integer NOT NULL CONSTRAINT event_type_definitions_version_check CHECK (type_version >= 1),
  "check"      jsonpath,
  validator    regprocedure,
  description  text,
  definer      regrole NOT NULL,
  defined_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT event_type_definitions_pkey PRIMARY KEY (type, type_version)
);
COMMENT ON TABLE evlog.event_type_definitions IS
  'Event contracts: one row per defined (type text, type_version integer), with "check" jsonpath (a predicate the payload must match), validator regprocedure (f(jsonb) RETURNS boolean, run as definer), description text, definer regrole, defined_at timestamptz. Written only by evlog_define_event_type; forward-only once the log holds an event of the version. Survives pg_dump/pg_restore.';
SELECT pg_catalog.pg_extension_config_dump('evlog.event_type_definitions', '');
GRANT SELECT ON evlog.event_type_definitions TO PUBLIC;

CREATE TABLE evlog.upcasters (
  type         text COLLATE "C" NOT NULL,
  from_version integer NOT NULL CONSTRAINT upcasters_version_check CHECK (from_version >= 1),
  fn           regprocedure NOT NULL,
  definer      regrole NOT NULL,
  defined_at   timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT upcasters_pkey PRIMARY KEY (type, from_version)
);
COMMENT ON TABLE evlog.upcasters IS
  'Upcasters: fn regprocedure (f(jsonb) RETURNS jsonb) turns a payload of (type text, from_version integer) into one of from_version + 1, for projections registered with upcast => true; definer regrole, defined_at timestamptz. Stored events are never changed. Written only by evlog_define_upcaster. Survives pg_dump/pg_restore.';
SELECT pg_catalog.pg_extension_config_dump('evlog.upcasters', '');
GRANT SELECT ON evlog.upcasters TO PUBLIC;

CREATE VIEW evlog.event_types AS
  SELECT d.type, d.type_version, d."check", d.validator, d.description, d.definer, d.defined_at,
         u.fn AS upcaster,
         (SELECT count(*) FROM evlog.events e
          WHERE e.type = d.type AND e.type_version = d.type_version) AS events
  FROM evlog.event_type_definitions d
  LEFT JOIN evlog.upcasters u ON u.type = d.type AND u.from_version = d.type_version;
COMMENT ON VIEW evlog.event_types IS
  'The defined event types: type, type_version, check (jsonpath), validator, description, definer, defined_at, upcaster (the function to type_version + 1, if any) and events (bigint: how many events of this type and version the log holds; counting reads the log). Needs SELECT on evlog.events.';
GRANT SELECT ON evlog.event_types TO PUBLIC;

CREATE FUNCTION evlog_define_event_type(type text, type_version integer, "check" text DEFAULT NULL,
                                        validator regprocedure DEFAULT NULL,
                                        description text DEFAULT NULL)
  RETURNS void
  LANGUAGE C VOLATILE SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_define_event_type';
COMMENT ON FUNCTION evlog_define_event_type(text, integer, text, regprocedure, text) IS
  'evlog_define_event_type(type text, type_version integer, check text = NULL, validator regprocedure = NULL, description text = NULL) RETURNS void: define (or, while the log holds no event of it, redefine) an event type version. check is a jsonpath predicate the payload must match (jsonb_path_match); validator a function f(jsonb) RETURNS boolean, run as the defining role, for what jsonpath cannot say. From then on every append of that type and version is checked (EV004 when it fails). Forward-only: a version the log holds events of cannot be redefined (55000), and a new version must be higher than every defined one (22023). Errors: EV004 bad type name; 22023 bad version or check; EV005 wrong validator signature; 42501 no EXECUTE on the validator. Not granted to PUBLIC.';
REVOKE EXECUTE ON FUNCTION evlog_define_event_type(text, integer, text, regprocedure, text) FROM PUBLIC;

CREATE FUNCTION evlog_define_upcaster(type text, from_version integer, fn regprocedure)
  RETURNS void
  LANGUAGE C VOLATILE STRICT SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_define_upcaster';
COMMENT ON FUNCTION evlog_define_upcaster(text, integer, regprocedure) IS
  'evlog_define_upcaster(type text, from_version integer, fn regprocedure) RETURNS void: fn(jsonb) RETURNS jsonb turns a payload of from_version into one of from_version + 1; projections registered with upcast => true receive every event of the type at its latest defined version, through the chain. Both versions must be defined. Forward-only: an upcaster is never replaced (42710). Errors: 22023 a version is not defined; EV005 wrong signature; 42501 no EXECUTE on fn. Not granted to PUBLIC.';
REVOKE EXECUTE ON FUNCTION evlog_define_upcaster(text, integer, regprocedure) FROM PUBLIC;

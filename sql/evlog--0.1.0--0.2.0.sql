/* evlog 0.1.0 -> 0.2.0: every SQL change of 0.2.0, applied in place by ALTER EXTENSION evlog UPDATE */

\echo Use "ALTER EXTENSION evlog UPDATE TO '0.2.0'" to load this file. \quit

-- Sections below are added by the changes of 0.2.0, each under a heading
-- that names what it is for.

-- Projection workers (README, "Isolation: one process per projection"): which
-- process folds an async projection, as a function and as the new last column
-- worker_pid of evlog.projection_status
CREATE FUNCTION evlog.projection_worker_pid(name text) RETURNS integer
  LANGUAGE C STABLE STRICT SET search_path = pg_catalog, pg_temp
  AS 'MODULE_PATHNAME', 'evlog_projection_worker_pid';
COMMENT ON FUNCTION evlog.projection_worker_pid(text) IS
  'evlog.projection_worker_pid(name text) RETURNS integer: process id of the projection worker that folds the named async projection of this database, NULL when none runs (the projection is sync, paused, failed, idle or unknown; the database''s worker folds it itself; or evlog is not in shared_preload_libraries). Raises nothing.';

CREATE OR REPLACE VIEW evlog.projection_status AS
  SELECT p.name, p.mode, p.state, p.checkpoint, h.head,
         h.head - p.checkpoint AS lag_events,
         coalesce(extract(epoch FROM now() - (SELECT e.recorded_at FROM evlog.events e
                                            WHERE e.seq = p.checkpoint + 1)), 0)::double precision AS lag_seconds,
         p.last_error, p.last_error_seq, p.updated_at,
         CASE WHEN p.mode = 'sync' THEN 'not needed (sync)'
              WHEN evlog.worker_pid() IS NOT NULL THEN 'running'
              ELSE 'not running' END AS worker,
         CASE WHEN p.mode = 'async' AND p.state = 'active'
              THEN coalesce(evlog.projection_worker_pid(p.name), evlog.worker_pid()) END AS worker_pid
  FROM evlog.projections p,
       LATERAL (SELECT coalesce(max(e.seq), 0) AS head FROM evlog.events e) h;
COMMENT ON VIEW evlog.projection_status IS
  'One row per projection: name, mode, state, checkpoint bigint, head bigint, lag_events bigint (head - checkpoint), lag_seconds double precision (age of the oldest unfolded event, 0 when caught up), last_error, last_error_seq, updated_at, worker (''running'', ''not running'': async projections then need evlog_catch_up or evlog in shared_preload_libraries), and worker_pid integer (the process that folds an active async projection: its projection worker, else the database''s worker; NULL otherwise). Needs SELECT on evlog.events.';

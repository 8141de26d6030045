-- Load GitHub webhook deliveries from @octokit/webhooks-examples into evlog,
-- with SQL and psql only.
--   psql -v corpus=DIR [-v scale=N] -f load.sql
-- DIR is the absolute path of the unpacked npm package ("package/"), readable
-- by the server. One event per delivery:
--   stream          the entity: github/<repository id>/issue/<number>,
--                   github/<repository id>/pull/<number> (also for issue events and
--                   comments about a pull request), github/<repository id>/card/<id>, ...
--   type            <event>.<action>, e.g. issues.labeled
--   payload         the delivery
--   idempotency key the SHA-256 of the delivery body, so a second load appends nothing
-- Order: by the entity's own clock (its updated_at in the payload), then by the
-- delivery's position in the corpus; deliveries without a timestamp (labels) keep
-- their corpus position and come first.
-- With scale N > 1, copy k of the corpus is re-keyed per repository (repository
-- and organization ids times 1000 plus k), which makes new streams and new keys.
\set ON_ERROR_STOP 1
\if :{?scale}
\else
\set scale 1
\endif

-- the corpus files, read by the server (pg_read_file needs a superuser or
-- pg_read_server_files, and a path the server can read)
CREATE TEMP TABLE corpus AS
  SELECT source, pg_read_file(:'corpus' || '/' || source || '/index.json')::jsonb AS doc
  FROM unnest(ARRAY['api.github.com', 'ghes-31', 'ghes-32', 'ghes-33', 'ghes-34', 'ghes-35']) AS source;

-- the deliveries a board and a review roll-up need, in corpus order
CREATE TEMP TABLE deliveries AS
  SELECT row_number() OVER (ORDER BY c.source, g.gi, x.xi) AS pos, c.source, g.g->>'name' AS event, x.ex AS body
  FROM corpus c,
       jsonb_array_elements(c.doc) WITH ORDINALITY AS g(g, gi),
       jsonb_array_elements(g.g->'examples') WITH ORDINALITY AS x(ex, xi)
  WHERE g.g->>'name' IN ('issues', 'issue_comment', 'label', 'milestone', 'project', 'project_column',
                         'project_card', 'projects_v2_item', 'pull_request', 'pull_request_review',
                         'pull_request_review_comment', 'pull_request_review_thread');

-- copies for scale > 1, re-keyed per repository and organization
CREATE TEMP TABLE copies AS
  SELECT d.pos + (k - 1) * 100000 AS pos, k, d.source, d.event, d.body
  FROM deliveries d, generate_series(1, :scale) k;
UPDATE copies SET body = jsonb_set(body, '{repository,id}', to_jsonb((body#>>'{repository,id}')::bigint * 1000 + k))
  WHERE k > 1 AND body ? 'repository';
UPDATE copies SET body = jsonb_set(body, '{organization,id}', to_jsonb((body#>>'{organization,id}')::bigint * 1000 + k))
  WHERE k > 1 AND body ? 'organization';

CREATE TEMP TABLE staged AS
  SELECT pos, source, event, body,
         'github/' || coalesce(body#>>'{repository,id}', 'org-' || (body#>>'{organization,id}')) || '/' ||
         CASE event
           WHEN 'issues' THEN
             CASE WHEN body->'issue' ? 'pull_request' THEN 'pull/' ELSE 'issue/' END || (body#>>'{issue,number}')
           WHEN 'issue_comment' THEN
             CASE WHEN body->'issue' ? 'pull_request' THEN 'pull/' ELSE 'issue/' END || (body#>>'{issue,number}')
           WHEN 'label' THEN 'label/' || (body#>>'{label,id}')
           WHEN 'milestone' THEN 'milestone/' || (body#>>'{milestone,number}')
           WHEN 'project' THEN 'project/' || (body#>>'{project,id}')
           WHEN 'project_column' THEN 'column/' || (body#>>'{project_column,id}')
           WHEN 'project_card' THEN 'card/' || (body#>>'{project_card,id}')
           WHEN 'projects_v2_item' THEN 'projects_v2_item/' || (body#>>'{projects_v2_item,id}')
           ELSE 'pull/' || (body#>>'{pull_request,number}')
         END AS stream,
         event || '.' || (body->>'action') AS type,
         encode(sha256(convert_to(body::text, 'UTF8')), 'hex') AS key,
         coalesce(body#>>'{issue,updated_at}', body#>>'{pull_request,updated_at}',
                  body#>>'{project_card,updated_at}', body#>>'{project_column,updated_at}',
                  body#>>'{project,updated_at}', body#>>'{milestone,updated_at}',
                  body#>>'{projects_v2_item,updated_at}')::timestamptz AS entity_time
  FROM copies;

SELECT evlog_head() AS head_before, clock_timestamp() AS load_started \gset
CREATE TEMP TABLE appended AS
  SELECT unnest(evlog_append_batch(ARRAY(
           SELECT ROW(stream, type, body, jsonb_build_object('source', source, 'github_event', event),
                      key, NULL, 1)::evlog.new_event
           FROM staged ORDER BY entity_time NULLS FIRST, pos))) AS seq;
-- the rate of what the load did: appends per second, or, when it appended
-- nothing (a load repeated), retries (deduplicated deliveries) per second
SELECT count(*) AS deliveries,
       count(DISTINCT seq) FILTER (WHERE seq > :head_before) AS appended,
       count(*) - count(DISTINCT seq) FILTER (WHERE seq > :head_before) AS deduplicated,
       greatest(extract(epoch FROM clock_timestamp() - :'load_started'), 0.001) AS load_seconds
FROM appended \gset
SELECT CASE WHEN :appended > 0 THEN round(:appended / :load_seconds) || ' appends/s'
            ELSE round(:deduplicated / :load_seconds) || ' retries/s' END AS rate \gset
\echo loaded :deliveries deliveries: :appended events appended, :deduplicated deduplicated (:rate)

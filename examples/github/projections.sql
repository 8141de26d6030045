-- The GitHub read models: a kanban board (async) and a pull-request roll-up
-- (sync), both projections of the webhook deliveries that load.sql appends.
--
-- Board columns (kanban.board.column_name):
--   issue         closed: Done; open and assigned, or labelled "in progress"/"doing": In progress; else To do
--   pull request  merged: Done; closed unmerged: Closed; draft: In progress; open: In review
--   project card  the name of its project column (from project_column events), else "Column <id>"
-- Every row is taken from the latest delivery for its entity, which carries the
-- entity's full state after the action; times come from the events (recorded_at
-- and the payload), never now(), so that evlog_verify and evlog_rebuild agree
-- with the incremental fold.
CREATE SCHEMA github;

CREATE TABLE github.board (
  entity      text PRIMARY KEY,          -- the event stream
  repository  text NOT NULL,             -- host/owner/name from the repository's html_url,
                                         -- or "organization <login>" for organization cards
  repository_id bigint,                  -- GitHub's repository id (the stream's second part)
  kind        text NOT NULL,             -- issue | pull_request | card
  number      bigint NOT NULL,           -- issue or PR number, card id
  title       text NOT NULL,
  column_name text NOT NULL,
  column_id   bigint,                    -- cards only
  labels      text[] NOT NULL,
  assignees   text[] NOT NULL,
  last_seq    bigint NOT NULL,
  last_at     timestamptz NOT NULL,      -- recorded_at of the last event (evlog's clock)
  updated_at  timestamptz                -- the entity's updated_at in it (GitHub's clock)
);
CREATE TABLE github.columns (id bigint PRIMARY KEY, name text NOT NULL);

CREATE FUNCTION github.issue_column(obj jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT CASE
    WHEN obj ? 'pull_request' AND obj->'pull_request'->>'merged_at' IS NOT NULL THEN 'Done'
    WHEN obj ? 'pull_request' AND obj->>'state' = 'closed' THEN 'Closed'
    WHEN obj->>'state' = 'closed' THEN 'Done'
    WHEN jsonb_array_length(coalesce(obj->'assignees', '[]')) > 0
      OR EXISTS (SELECT FROM jsonb_array_elements(coalesce(obj->'labels', '[]')) l
                 WHERE lower(l->>'name') IN ('in progress', 'doing')) THEN 'In progress'
    WHEN obj ? 'pull_request' THEN 'In review'
    ELSE 'To do' END $$;

CREATE FUNCTION github.pull_column(obj jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT CASE
    WHEN (obj->>'merged')::boolean OR obj->>'merged_at' IS NOT NULL THEN 'Done'
    WHEN obj->>'state' = 'closed' THEN 'Closed'
    WHEN (obj->>'draft')::boolean THEN 'In progress'
    ELSE 'In review' END $$;

-- the order of the board's columns, left to right: the states of issues and
-- pull requests around the project columns of cards (sorted by name among themselves)
CREATE FUNCTION github.column_order(column_name text) RETURNS int
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT CASE column_name WHEN 'To do' THEN 1 WHEN 'In progress' THEN 2 WHEN 'In review' THEN 3
                          WHEN 'Done' THEN 5 WHEN 'Closed' THEN 6 ELSE 4 END $$;

-- a title for one line: whitespace runs made one space, then, when longer than
-- width characters, cut after its last whole word that fits and ended with an
-- ellipsis (a single word longer than the width is cut inside)
CREATE FUNCTION github.shorten(title text, width int) RETURNS text
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT CASE WHEN length(t) <= width THEN t
              ELSE coalesce(substring(left(t, width) FROM '^(.*\S)\s'), left(t, width - 1)) || '…' END
  FROM (SELECT btrim(regexp_replace(title, '\s+', ' ', 'g')) AS t) s $$;

CREATE FUNCTION github.names(arr jsonb, field text) RETURNS text[]
  LANGUAGE sql IMMUTABLE SET search_path = pg_catalog AS $$
  SELECT coalesce(array_agg(x->>field ORDER BY x->>field), '{}') FROM jsonb_array_elements(coalesce(arr, '[]')) x $$;

CREATE FUNCTION github.fold_board(e evlog.events) RETURNS void
  LANGUAGE plpgsql SET search_path = github, pg_catalog AS $$
DECLARE
  obj jsonb;
  k text;
  col text;
BEGIN
  IF e.type LIKE 'project_column.%' THEN
    obj := e.payload->'project_column';
    IF e.payload->>'action' = 'deleted' THEN
      DELETE FROM columns WHERE id = (obj->>'id')::bigint;
    ELSE
      INSERT INTO columns VALUES ((obj->>'id')::bigint, obj->>'name')
      ON CONFLICT (id) DO UPDATE SET name = excluded.name;
      UPDATE board SET column_name = obj->>'name' WHERE column_id = (obj->>'id')::bigint;
    END IF;
    RETURN;
  ELSIF e.type LIKE 'project_card.%' THEN
    obj := e.payload->'project_card';
    IF e.payload->>'action' = 'deleted' THEN
      DELETE FROM board WHERE entity = e.stream;
      RETURN;
    END IF;
    k := 'card';
    col := coalesce((SELECT name FROM columns WHERE id = (obj->>'column_id')::bigint),
                    'Column ' || (obj->>'column_id'));
  ELSIF e.type LIKE 'issues.%' OR e.type LIKE 'issue_comment.%' THEN
    obj := e.payload->'issue';
    IF e.type = 'issues.deleted' THEN
      DELETE FROM board WHERE entity = e.stream;
      RETURN;
    END IF;
    k := CASE WHEN obj ? 'pull_request' THEN 'pull_request' ELSE 'issue' END;
    col := issue_column(obj);
  ELSIF e.type LIKE 'pull_request%' THEN
    obj := e.payload->'pull_request';
    k := 'pull_request';
    col := pull_column(obj);
  ELSE
    RETURN;
  END IF;

  INSERT INTO board AS b VALUES (
    e.stream,
    coalesce(regexp_replace(e.payload#>>'{repository,html_url}', '^[a-z]+://', ''),
             e.payload#>>'{repository,full_name}',
             'organization ' || (e.payload#>>'{organization,login}'), 'unknown'),
    (e.payload#>>'{repository,id}')::bigint,
    k,
    coalesce((obj->>'number')::bigint, (obj->>'id')::bigint),
    coalesce(obj->>'title', nullif(obj->>'note', ''), 'Card ' || (obj->>'id')),
    col,
    CASE WHEN k = 'card' THEN (obj->>'column_id')::bigint END,
    names(obj->'labels', 'name'),
    names(obj->'assignees', 'login'),
    e.seq, e.recorded_at, (obj->>'updated_at')::timestamptz)
  ON CONFLICT (entity) DO UPDATE SET
    repository = excluded.repository, repository_id = excluded.repository_id,
    kind = excluded.kind, number = excluded.number, title = excluded.title,
    column_name = excluded.column_name, column_id = excluded.column_id,
    labels = excluded.labels, assignees = excluded.assignees,
    last_seq = excluded.last_seq, last_at = excluded.last_at, updated_at = excluded.updated_at;
END $$;

-- the pull-request roll-up
CREATE TABLE github.pull_requests (
  entity              text PRIMARY KEY,
  number              bigint NOT NULL,
  title               text NOT NULL,
  state               text NOT NULL,     -- open | closed
  draft               boolean NOT NULL,
  merged              boolean NOT NULL,
  requested_reviewers text[] NOT NULL,   -- logins and team names
  review_decision     text NOT NULL,     -- approved | changes requested | pending
  open_threads        int NOT NULL,
  last_seq            bigint NOT NULL
);
CREATE TABLE github.pr_reviews (        -- the latest deciding review per reviewer
  entity       text NOT NULL,
  reviewer     text NOT NULL,
  state        text NOT NULL,            -- approved | changes_requested | dismissed
  submitted_at timestamptz,
  PRIMARY KEY (entity, reviewer)
);
CREATE TABLE github.pr_threads (
  entity   text NOT NULL,
  thread   text NOT NULL,
  resolved boolean NOT NULL,
  PRIMARY KEY (entity, thread)
);

CREATE FUNCTION github.fold_pull_requests(e evlog.events) RETURNS void
  LANGUAGE plpgsql SET search_path = github, pg_catalog AS $$
DECLARE
  pr jsonb := e.payload->'pull_request';
  review jsonb := e.payload->'review';
BEGIN
  IF pr IS NULL OR e.type NOT LIKE 'pull_request%' THEN
    RETURN;
  END IF;
  IF e.type LIKE 'pull_request_review.%' AND lower(review->>'state') IN ('approved', 'changes_requested', 'dismissed') THEN
    INSERT INTO pr_reviews AS r VALUES (e.stream, review#>>'{user,login}', lower(review->>'state'),
                                        (review->>'submitted_at')::timestamptz)
    ON CONFLICT (entity, reviewer) DO UPDATE SET state = excluded.state, submitted_at = excluded.submitted_at
      WHERE r.submitted_at IS NULL OR excluded.submitted_at IS NULL OR excluded.submitted_at >= r.submitted_at;
  ELSIF e.type LIKE 'pull_request_review_thread.%' THEN
    INSERT INTO pr_threads VALUES (e.stream, e.payload#>>'{thread,node_id}', e.payload->>'action' = 'resolved')
    ON CONFLICT (entity, thread) DO UPDATE SET resolved = excluded.resolved;
  END IF;

  INSERT INTO pull_requests AS p VALUES (
    e.stream, (pr->>'number')::bigint, pr->>'title', pr->>'state',
    coalesce((pr->>'draft')::boolean, false),
    coalesce((pr->>'merged')::boolean, pr->>'merged_at' IS NOT NULL),
    names(pr->'requested_reviewers', 'login') || names(pr->'requested_teams', 'name'),
    'pending', 0, e.seq)
  ON CONFLICT (entity) DO UPDATE SET
    number = excluded.number, title = excluded.title, state = excluded.state, draft = excluded.draft,
    merged = excluded.merged, requested_reviewers = excluded.requested_reviewers, last_seq = excluded.last_seq;
  UPDATE pull_requests SET
    review_decision = CASE
      WHEN EXISTS (SELECT FROM pr_reviews r WHERE r.entity = e.stream AND r.state = 'changes_requested') THEN 'changes requested'
      WHEN EXISTS (SELECT FROM pr_reviews r WHERE r.entity = e.stream AND r.state = 'approved') THEN 'approved'
      ELSE 'pending' END,
    open_threads = (SELECT count(*) FROM pr_threads t WHERE t.entity = e.stream AND NOT t.resolved)
  WHERE entity = e.stream;
END $$;

SELECT evlog_register_projection('kanban', 'github.fold_board(evlog.events)',
                                 '{github.board,github.columns}');
SELECT evlog_register_projection('pull_requests', 'github.fold_pull_requests(evlog.events)',
                                 '{github.pull_requests,github.pr_reviews,github.pr_threads}',
                                 mode => 'sync');

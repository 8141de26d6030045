-- The board as a web page, built by SQL from github.board (the read model of
-- projection kanban): one column per state, left to right in
-- github.column_order, a card per item with its repository, title, labels and
-- the time of its last event (GitHub's clock, else evlog's).
--   psql -X -q -At -f board_html.sql -o board.html
-- The page is self-contained (inline CSS, no script, nothing fetched).
-- Repository names may break after a slash (<wbr>).
\set ON_ERROR_STOP 1

-- text made safe inside HTML elements and attribute values
CREATE FUNCTION pg_temp.h(t text) RETURNS text
  LANGUAGE sql IMMUTABLE AS $$
  SELECT replace(replace(replace(replace(t, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;') $$;

WITH cards AS (
  SELECT column_name, github.column_order(column_name) AS ord,
         '<div class="card"><div class="repo">' || replace(pg_temp.h(repository), '/', '/<wbr>') || '<br>'
         || CASE kind WHEN 'pull_request' THEN 'pull request #' || number
                      WHEN 'issue' THEN 'issue #' || number ELSE 'card ' || number END
         || '</div><div class="title">' || pg_temp.h(btrim(regexp_replace(title, '\s+', ' ', 'g'))) || '</div>'
         || CASE WHEN cardinality(labels) > 0
                 THEN '<div>' || (SELECT string_agg('<span class="label">' || pg_temp.h(l) || '</span>', '' ORDER BY l)
                                  FROM unnest(labels) l) || '</div>'
                 ELSE '' END
         || '<div class="time">last event '
         || to_char(coalesce(updated_at, last_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') || ' UTC &middot; seq '
         || last_seq || '</div></div>' AS card,
         coalesce(updated_at, last_at) AS at, entity
  FROM github.board),
columns AS (
  SELECT ord, column_name,
         '<section class="col"><h2>' || pg_temp.h(column_name) || ' <span>' || count(*) || '</span></h2>'
         || string_agg(card, E'\n' ORDER BY at DESC, entity) || '</section>' AS html
  FROM cards GROUP BY ord, column_name)
SELECT '<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>evlog demo: the GitHub board</title>
<style>
body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 18px; background: #f6f8fa; color: #1f2328; }
h1 { font-size: 20px; margin: 0 0 4px; }
p.sub { margin: 0 0 14px; color: #59636e; font-size: 13px; }
.board { display: flex; gap: 10px; align-items: flex-start; }
.col { flex: 1 1 0; min-width: 160px; background: #e6eaef; border-radius: 8px; padding: 8px; }
.col h2 { font-size: 14px; margin: 2px 4px 8px; }
.col h2 span { color: #59636e; font-weight: normal; }
.card { background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; padding: 7px 8px; margin-bottom: 8px; font-size: 13px; }
.repo, .time { color: #59636e; font-size: 11px; }
.title { font-weight: bold; margin: 3px 0; }
.label { display: inline-block; border-radius: 10px; padding: 0 7px; font-size: 11px; background: #ddf4ff; color: #0550ae; margin: 2px 3px 0 0; }
.time { margin-top: 4px; }
</style></head><body>
<h1>The GitHub board</h1>
<p class="sub">github.board, the read model of projection <b>kanban</b>: '
       || (SELECT count(*) FROM github.board) || ' items from '
       || (SELECT count(DISTINCT repository_id) FROM github.board) || ' repositories, folded up to seq '
       || (SELECT checkpoint FROM evlog.projection_status WHERE name = 'kanban') || ' of '
       || evlog_head() || '</p>
<div class="board">
' || coalesce(string_agg(html, E'\n' ORDER BY ord, column_name), '') || '
</div></body></html>'
FROM columns;

-- What `make demo` prints once the corpus is loaded and folded:
--   psql -v scale=N -f report.sql
-- At scale 1 it shows every item of the board, grouped by repository; at a
-- larger scale, counts per repository (over its re-keyed copies) and column.
\set ON_ERROR_STOP 1
\if :{?scale}
\else
\set scale 1
\endif
\pset footer off
SELECT :scale > 1 AS summary, count(*) AS items,
       count(DISTINCT repository) AS repositories, count(DISTINCT repository_id) AS repository_ids
FROM github.board \gset

\echo
\if :summary
\echo '== The board (projection kanban, async):' :items 'items in' :repository_ids 'repositories,' :scale 'copies of the corpus;'
\echo '   items per repository name and column:'
SELECT coalesce(repository, 'all') AS repository, coalesce(column_name, 'total') AS "column",
       CASE WHEN column_name IS NULL THEN 99 ELSE github.column_order(column_name) END AS column_order,
       count(*) AS items
FROM github.board
GROUP BY GROUPING SETS ((repository, column_name), (repository), (column_name), ())
ORDER BY repository IS NULL, repository
\crosstabview repository column items column_order
\else
\echo '== The board (projection kanban, async):' :items 'items in' :repository_ids 'repositories'
\echo
\pset format unaligned
\pset tuples_only on
-- one block per repository (name and id), its items by column; titles cut at
-- a word, with an ellipsis, to keep one item on one line
WITH items AS (
  SELECT repository, repository_id, column_name, github.column_order(column_name) AS ord, kind, number,
         CASE kind WHEN 'pull_request' THEN 'pull request #' || number
                   WHEN 'issue' THEN 'issue #' || number ELSE 'card ' || number END AS item,
         github.shorten(title, 48) AS title, labels
  FROM github.board),
lines AS (
  SELECT repository, repository_id, ord, column_name, kind, number,
         '   ' || rpad(column_name, max(length(column_name)) OVER ()) || '  '
         || rpad(item, max(length(item)) OVER ()) || '  '
         || CASE WHEN cardinality(labels) > 0
                 THEN rpad(title, max(length(title)) OVER ()) || '  [' || array_to_string(labels, ', ') || ']'
                 ELSE title END AS line
  FROM items),
repositories AS (
  SELECT repository, repository_id,
         string_agg(line, E'\n' ORDER BY ord, column_name, kind, number) AS block
  FROM lines GROUP BY repository, repository_id)
SELECT string_agg(repository || coalesce(' (repository ' || repository_id || ')', '') || E'\n' || block, E'\n\n'
                  ORDER BY repository, repository_id)
FROM repositories;
\pset format aligned
\pset tuples_only off
\echo
\endif

\echo '== Pull requests (projection pull_requests, sync)'
\if :summary
SELECT b.repository, count(*) AS pull_requests,
       count(*) FILTER (WHERE p.state = 'open') AS open, count(*) FILTER (WHERE p.merged) AS merged,
       count(*) FILTER (WHERE p.state = 'closed' AND NOT p.merged) AS "closed unmerged",
       count(*) FILTER (WHERE p.review_decision = 'approved') AS approved,
       count(*) FILTER (WHERE p.review_decision = 'changes requested') AS "changes requested",
       sum(p.open_threads) AS "open threads"
FROM github.pull_requests p JOIN github.board b USING (entity)
GROUP BY b.repository ORDER BY 1;
\else
SELECT b.repository, p.number AS "#", github.shorten(p.title, 40) AS title,
       CASE WHEN p.merged THEN 'merged' WHEN p.draft THEN 'draft' ELSE p.state END AS state,
       array_to_string(p.requested_reviewers, ', ') AS reviewers, p.review_decision, p.open_threads
FROM github.pull_requests p JOIN github.board b USING (entity)
ORDER BY b.repository, b.repository_id, p.number;
\endif

\echo '== projection_status'
SELECT name, mode, state, checkpoint, head, lag_events, worker FROM evlog.projection_status ORDER BY name;

\echo '== Drift drill: someone edits a row of the board by hand'
\set drill 'github/186853002/issue/1'
\set show_row 'SELECT format(''%s | %s | %s #%s %s | last_seq %s'', entity, column_name, kind, number, title, last_seq) AS drill_row FROM github.board WHERE entity = ' :'drill'
:show_row \gset
\echo '   the row before the edit:  ' :drill_row
UPDATE github.board SET column_name = 'Done' WHERE entity = :'drill';
\echo '   UPDATE github.board SET column_name = ''Done'' WHERE entity =' :'drill'
:show_row \gset
\echo '   the row after the edit:   ' :drill_row
\set verify 'SELECT coalesce(string_agg(table_name || '': missing '' || missing || '', unexpected '' || unexpected, ''; ''), ''no drift'') AS drift FROM evlog_verify(''kanban'')'
:verify \gset
\echo '   evlog_verify(''kanban''):   ' :drift
SELECT evlog_rebuild('kanban') AS replayed \gset
\echo '   evlog_rebuild(''kanban''):  ' :replayed 'events replayed'
:show_row \gset
\echo '   the row after the rebuild:' :drill_row
:verify \gset
\echo '   evlog_verify(''kanban''):   ' :drift

SELECT CASE WHEN first_bad_seq IS NULL THEN 'intact (' || checked || ' events)'
            ELSE 'broken: first bad seq ' || first_bad_seq || ' (' || checked || ' events checked)' END AS chain
FROM evlog_verify_chain() \gset
\echo '== The hash chain (evlog_verify_chain()):' :chain

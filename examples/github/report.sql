-- What `make demo` prints once the corpus is loaded (psql -f report.sql).
\pset footer off
\echo
\echo '== The board (projection kanban, async), by column'
SELECT column_name AS "column", count(*) AS cards,
       string_agg(kind || ' ' || number || ': ' || left(title, 40), E'\n' ORDER BY kind, number) AS "items"
FROM github.board GROUP BY column_name ORDER BY 1;
\echo '== Pull requests (projection pull_requests, sync)'
SELECT entity, state, draft, merged, requested_reviewers AS reviewers, review_decision, open_threads
FROM github.pull_requests ORDER BY entity;
\echo '== projection_status'
SELECT name, mode, state, checkpoint, head, lag_events, worker FROM evlog.projection_status ORDER BY name;
\echo '== Drift drill: someone edits the board by hand'
UPDATE github.board SET column_name = 'Done' WHERE entity = 'github/186853002/issue/1';
\echo 'evlog_verify(''kanban'') sees it:'
SELECT * FROM evlog_verify('kanban');
\echo 'evlog_rebuild(''kanban'') replays the log:'
SELECT evlog_rebuild('kanban') AS events_replayed;
\echo 'and evlog_verify(''kanban'') is clean again:'
SELECT * FROM evlog_verify('kanban');
\echo '== The hash chain'
SELECT * FROM evlog_verify_chain();

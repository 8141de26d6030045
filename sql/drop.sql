-- DROP EXTENSION: runs last, it empties the log
-- appending, then dropping the extension in the same transaction commits
BEGIN;
SELECT evlog_append('ticket-8', 'ticket.opened', '{}') > 0 AS appended;
DROP EXTENSION evlog;
COMMIT;
CREATE EXTENSION evlog;
SELECT evlog_head();

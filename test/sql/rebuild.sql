-- evlog_rebuild and evlog_verify (P7, P8) on a small kanban projection
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
CREATE TABLE cards (ticket text PRIMARY KEY, title text NOT NULL, col text NOT NULL,
                    moves int NOT NULL, last_seq bigint NOT NULL);
CREATE TABLE card_labels (ticket text NOT NULL REFERENCES cards, label text NOT NULL,
                          PRIMARY KEY (ticket, label));
CREATE TABLE resets (n int);
CREATE FUNCTION card_fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF e.type = 'tile.opened' THEN
    INSERT INTO cards VALUES (e.stream, e.payload->>'title', 'todo', 0, e.seq);
  ELSIF e.type = 'tile.moved' THEN
    IF e.payload->>'to' = 'nowhere' THEN RAISE EXCEPTION 'no column "nowhere"'; END IF;
    UPDATE cards SET col = e.payload->>'to', moves = moves + 1, last_seq = e.seq WHERE ticket = e.stream;
  ELSIF e.type = 'tile.labeled' THEN
    INSERT INTO card_labels VALUES (e.stream, e.payload->>'label');
  END IF;
END $$;
CREATE FUNCTION card_reset() RETURNS void LANGUAGE sql AS $$ INSERT INTO resets VALUES (1) $$;

SELECT evlog_head() AS base \gset
SELECT count(evlog_append('tile-' || i, 'tile.opened', jsonb_build_object('title', 'Card ' || i))) FROM generate_series(1, 6) i;
SELECT count(evlog_append('tile-' || i, 'tile.moved', '{"to": "doing"}')) FROM generate_series(1, 4) i;
SELECT count(evlog_append('tile-' || i, 'tile.labeled', '{"label": "bug"}')) FROM generate_series(1, 3) i;
SELECT evlog_append('tile-1', 'tile.moved', '{"to": "done"}');
SELECT evlog_register_projection('cards', 'card_fold(evlog.events)', '{cards,card_labels}',
                                 '{tile.opened,tile.moved,tile.labeled}', 'sync', reset => 'card_reset()');
SELECT count(*) AS cards, (SELECT count(*) FROM card_labels) AS labels FROM cards;

-- no drift after registration
SELECT * FROM evlog_verify('cards');

-- each kind of tampering with the read model is seen
UPDATE cards SET col = 'done' WHERE ticket = 'tile-2';
SELECT * FROM evlog_verify('cards');
DELETE FROM card_labels WHERE ticket = 'tile-3';
SELECT * FROM evlog_verify('cards');
INSERT INTO cards VALUES ('tile-99', 'Forged', 'done', 0, 0);
SELECT * FROM evlog_verify('cards');
-- verify changed nothing a reader can see
SELECT ticket, col FROM cards WHERE ticket IN ('tile-2', 'tile-99') ORDER BY ticket;
SELECT count(*) FROM resets;

-- rebuild repairs it, calls the reset function, and replays every wanted event
SET evlog.progress_events = 5;
SELECT evlog_rebuild('cards');
RESET evlog.progress_events;
SELECT * FROM evlog_verify('cards');
SELECT ticket, title, col, moves, last_seq - :base AS last_offset FROM cards ORDER BY ticket;
SELECT ticket, label FROM card_labels ORDER BY ticket;
SELECT count(*) AS resets FROM resets;
SELECT checkpoint = evlog_head() AS at_head FROM evlog.projections WHERE name = 'cards';

-- a rebuild whose handler fails under 'stop' changes nothing
SELECT evlog_alter_projection('cards', mode => 'async');
SELECT evlog_append('tile-5', 'tile.moved', '{"to": "nowhere"}') AS bad \gset
DO $$
BEGIN
  FOR i IN 1..3000 LOOP
    EXIT WHEN (SELECT state FROM evlog.projections WHERE name = 'cards') = 'failed';
    PERFORM pg_sleep(0.01);
  END LOOP;
END $$;
SELECT state, last_error FROM evlog.projections WHERE name = 'cards';
SELECT try($$SELECT evlog_rebuild('cards')$$);
SELECT state, (SELECT count(*) FROM cards) AS cards FROM evlog.projections WHERE name = 'cards';
-- under 'skip' it writes the dead letters again, and a failed projection becomes active
SELECT evlog_alter_projection('cards', on_error => 'skip');
SELECT evlog_rebuild('cards');
SELECT state, checkpoint = evlog_head() AS at_head FROM evlog.projections WHERE name = 'cards';
SELECT seq = :bad AS bad_seq, error FROM evlog.dead_letters WHERE projection = 'cards';
SELECT * FROM evlog_verify('cards');
SELECT col FROM cards WHERE ticket = 'tile-5';

-- only the owner may rebuild or verify; unknown projections are EV005
CREATE ROLE evlog_mallory;
SET ROLE evlog_mallory;
SELECT try($$SELECT evlog_rebuild('cards')$$);
SELECT try($$SELECT * FROM evlog_verify('cards')$$);
RESET ROLE;
DROP ROLE evlog_mallory;
SELECT try($$SELECT evlog_rebuild('nope')$$);
SELECT try($$SELECT * FROM evlog_verify('nope')$$);
-- a sync rebuild needs READ COMMITTED
SELECT evlog_alter_projection('cards', mode => 'sync');
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT try($$SELECT evlog_rebuild('cards')$$);
ROLLBACK;
-- a dropped table is named
CREATE TABLE scratch (x int);
CREATE FUNCTION scratch_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$ SELECT $$;
SELECT evlog_register_projection('scratch', 'scratch_fold(evlog.events)', '{scratch}');
DROP TABLE scratch;
SELECT try($$SELECT evlog_rebuild('scratch')$$);

SELECT evlog_unregister_projection('scratch');
SELECT evlog_unregister_projection('cards');
DROP FUNCTION scratch_fold(evlog.events), card_fold(evlog.events), card_reset();
DROP TABLE card_labels, cards, resets;

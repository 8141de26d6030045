-- Consumer groups (README "Consumer groups"): the API, its errors, bad
-- input and NULLs, assignment, fencing, leave, seek, privileges, views.
-- Seqs are shown relative to the head when the test starts.
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/fresh_log.psql
SELECT evlog_head() AS base \gset
-- try_n: try() with the seqs its messages name replaced by N
CREATE FUNCTION pg_temp.try_n(cmd text) RETURNS text LANGUAGE sql AS $$
  SELECT regexp_replace(public.try(cmd), '(seq|is|log,) -?[0-9]+', '\1 N', 'g') $$;
CREATE ROLE cg_owner;
CREATE ROLE cg_member IN ROLE cg_owner;
CREATE ROLE cg_other;
GRANT SELECT ON evlog.events TO cg_owner;
GRANT EXECUTE ON FUNCTION evlog_append(text, text, jsonb, jsonb, text, bigint, integer) TO cg_owner;

-- evlog_partition: a pure function of the stream's bytes
SELECT evlog_partition('ticket-1', 16) = evlog_partition('ticket-1', 16) AS stable,
       evlog_partition('ticket-1', 1) AS only_one,
       bool_and(evlog_partition('s' || i, 7) BETWEEN 0 AND 6) AS in_range,
       count(DISTINCT evlog_partition('s' || i, 7)) AS used
  FROM generate_series(1, 200) i;
SELECT evlog_partition(NULL, 4) IS NULL AS null_stream, evlog_partition('x', NULL) IS NULL AS null_partitions;
SELECT try($$SELECT public.evlog_partition('x', 0)$$);
SELECT try($$SELECT public.evlog_partition('x', 1025)$$);

-- creating: bad input, each refused with nothing created
SELECT try($$SELECT public.evlog_create_consumer_group(NULL)$$);
SELECT try($$SELECT public.evlog_create_consumer_group('')$$);
SELECT try($$SELECT public.evlog_create_consumer_group(repeat('g', 129))$$);
SELECT try($$SELECT public.evlog_create_consumer_group('g', partitions => 0)$$);
SELECT try($$SELECT public.evlog_create_consumer_group('g', partitions => 1025)$$);
SELECT try($$SELECT public.evlog_create_consumer_group('g', partitions => NULL)$$);
SELECT try($$SELECT public.evlog_create_consumer_group('g', lease => NULL)$$);
SELECT try($$SELECT public.evlog_create_consumer_group('g', lease => '1 ms')$$);
SELECT try($$SELECT public.evlog_create_consumer_group('g', lease => '2 days')$$);
SELECT pg_temp.try_n($$SELECT public.evlog_create_consumer_group('g', start_after => -1)$$);
SELECT pg_temp.try_n(format('SELECT public.evlog_create_consumer_group(%L, start_after => %s)', 'g', :base + 1));
SELECT try($$SELECT public.evlog_create_consumer_group('g', event_types => '{}')$$);
SELECT try($$SELECT public.evlog_create_consumer_group('g', event_types => '{cg.a,NULL}')$$);
SELECT try($$SELECT public.evlog_create_consumer_group('g', stream_prefix => '')$$);
SELECT try($$SELECT public.evlog_create_consumer_group(NULL, NULL, NULL, NULL, NULL, NULL)$$);
SELECT count(*) AS groups FROM evlog.consumer_group_registry;
-- SELECT on evlog.events is needed
SET ROLE cg_other;
SELECT try($$SELECT public.evlog_create_consumer_group('g')$$);
RESET ROLE;

-- a group of cg_owner: types cg.a and cg.b, streams under cg/, one partition
SET ROLE cg_owner;
SELECT evlog_create_consumer_group('orders', ARRAY['cg.a', 'cg.b'], 'cg/', 1);
SELECT try($$SELECT public.evlog_create_consumer_group('orders')$$);
SELECT evlog_append('cg/1', 'cg.a', '{"n": 1}') - :base AS seq;
SELECT evlog_append('other/1', 'cg.a', '{"n": 2}') - :base AS seq;
SELECT evlog_append('cg/2', 'cg.c', '{"n": 3}') - :base AS seq;
SELECT evlog_append('cg/2', 'cg.b', '{"n": 4}') - :base AS seq;
SELECT evlog_append('cg/1', 'cg.a', '{"n": 5}') - :base AS seq;
RESET ROLE;
SELECT group_name, owner, event_types, stream_prefix, partitions, lease, members,
       committed - :base AS committed, head - :base AS head, lag_events
  FROM evlog.consumer_groups;

-- polling: bad input
SELECT try($$SELECT * FROM public.evlog_poll('nope', 'm1')$$);
SELECT try($$SELECT * FROM public.evlog_poll('orders', '')$$);
SELECT try($$SELECT * FROM public.evlog_poll('orders', repeat('m', 129))$$);
SELECT try($$SELECT * FROM public.evlog_poll('orders', 'm1', -1)$$);
SELECT try($$SELECT * FROM public.evlog_poll('orders', 'm1', 10, '-1 second')$$);
SELECT try($$SELECT * FROM public.evlog_poll(NULL, 'm1')$$);
SELECT try($$SELECT * FROM public.evlog_poll('orders', NULL)$$);
SELECT try($$SELECT * FROM public.evlog_poll('orders', 'm1', NULL)$$);
SELECT try($$SELECT * FROM public.evlog_poll('orders', 'm1', 10, NULL)$$);
SELECT try($$SELECT * FROM public.evlog_poll(NULL, NULL, NULL, NULL)$$);
SELECT count(*) AS members FROM evlog.consumer_members;
-- max_count 0 only joins
SELECT count(*) FROM evlog_poll('orders', 'm1', 0);
SELECT member, partitions FROM evlog.consumer_members;
-- only cg.a and cg.b under cg/, in seq order, a batch of 2 then the rest
SELECT seq - :base AS seq, stream, stream_version, type, payload, "partition"
  FROM evlog_poll('orders', 'm1', 2);
SELECT seq - :base AS seq, stream, type, payload FROM evlog_poll('orders', 'm1', 10);
SELECT count(*) AS nothing_more FROM evlog_poll('orders', 'm1', 10);

-- acknowledging: bad input, nothing changed
SELECT try($$SELECT public.evlog_ack('nope', 'm1', 1)$$);
SELECT try($$SELECT public.evlog_ack('orders', 'm1', NULL)$$);
SELECT try($$SELECT public.evlog_ack(NULL, 'm1', 1)$$);
SELECT try($$SELECT public.evlog_ack('orders', NULL, 1)$$);
SELECT try($$SELECT public.evlog_ack('orders', '', 1)$$);
SELECT pg_temp.try_n($$SELECT public.evlog_ack('orders', 'm1', -1)$$);
SELECT pg_temp.try_n(format('SELECT public.evlog_ack(%L, %L, %s)', 'orders', 'm1', :base + 6));
SELECT try(format('SELECT public.evlog_ack(%L, %L, %s)', 'orders', 'stranger', :base + 1));
SELECT committed - :base AS committed FROM evlog.consumer_offsets o
  JOIN evlog.consumer_group_registry r USING (group_id) WHERE r.group_name = 'orders';
-- an ack rolled back commits nothing
BEGIN;
SELECT evlog_ack('orders', 'm1', :base + 4) AS acked;
ROLLBACK;
SELECT committed - :base AS committed FROM evlog.consumer_offsets o
  JOIN evlog.consumer_group_registry r USING (group_id) WHERE r.group_name = 'orders';
-- up to seq 4: two deliveries (1 and 4); then the rest (5)
SELECT evlog_ack('orders', 'm1', :base + 4) AS acked;
SELECT committed - :base AS committed FROM evlog.consumer_offsets o
  JOIN evlog.consumer_group_registry r USING (group_id) WHERE r.group_name = 'orders';
SELECT evlog_ack('orders', 'm1', :base + 5) AS acked;
SELECT evlog_ack('orders', 'm1', :base + 5) AS acked_again;
SELECT members, committed - :base AS committed, head - :base AS head, lag_events
  FROM evlog.consumer_groups WHERE group_name = 'orders';

-- leaving: the member's ack is then EV006; leaving twice is no error
SELECT evlog_leave('orders', 'm1');
SELECT evlog_leave('orders', 'm1');
SELECT try(format('SELECT public.evlog_ack(%L, %L, %s)', 'orders', 'm1', :base + 5));
SELECT try($$SELECT public.evlog_leave('orders', NULL)$$);
SELECT try($$SELECT public.evlog_leave('nope', 'm1')$$);
SELECT count(*) AS members FROM evlog.consumer_members;

-- seeking: replay from a point; bad input first
SELECT pg_temp.try_n($$SELECT public.evlog_seek('orders', -1)$$);
SELECT pg_temp.try_n(format('SELECT public.evlog_seek(%L, %s)', 'orders', :base + 6));
SELECT try($$SELECT public.evlog_seek('orders', NULL)$$);
SELECT try($$SELECT public.evlog_seek(NULL, 1)$$);
SELECT try($$SELECT public.evlog_seek('nope', 1)$$);
SELECT evlog_seek('orders', :base + 1);
SELECT seq - :base AS seq, payload FROM evlog_poll('orders', 'm2', 10);
-- a seek rolled back changes nothing
BEGIN;
SELECT evlog_seek('orders', :base);
ROLLBACK;
SELECT count(*) AS nothing_more FROM evlog_poll('orders', 'm2', 10);
SELECT evlog_ack('orders', 'm2', :base + 5) AS acked;

-- assignment and fencing: four partitions, streams spread over them
SELECT evlog_create_consumer_group('spread', NULL, 'sp/', 4, NULL, '1 hour');
SELECT evlog_append('sp/' || i, 'cg.a', jsonb_build_object('i', i)) > 0 AS appended
  FROM generate_series(1, 40) i GROUP BY 1;
SELECT count(*) AS given_to_a FROM evlog_poll('spread', 'a', 1000);
SELECT member, partitions FROM evlog.consumer_members WHERE group_name = 'spread';
-- b joins: a keeps its partitions until it polls or acks again
SELECT count(*) AS given_to_b FROM evlog_poll('spread', 'b', 1000);
SELECT member, partitions FROM evlog.consumer_members WHERE group_name = 'spread' ORDER BY member;
-- a polls with deliveries unacknowledged: it gives up two partitions and is fenced
SELECT count(*) AS given_to_a FROM evlog_poll('spread', 'a', 1000);
SELECT try(format('SELECT public.evlog_ack(%L, %L, %s)', 'spread', 'a', :base + 45));
SELECT member, partitions FROM evlog.consumer_members WHERE group_name = 'spread' ORDER BY member;
-- b takes them; a joins again and is given its partitions' events again
SELECT count(*) = (SELECT count(*) FROM generate_series(1, 40) i
                    WHERE evlog_partition('sp/' || i, 4) IN (2, 3)) AS b_gets_2_and_3
  FROM evlog_poll('spread', 'b', 1000);
SELECT count(*) = (SELECT count(*) FROM generate_series(1, 40) i
                    WHERE evlog_partition('sp/' || i, 4) IN (0, 1)) AS a_gets_0_and_1_again
  FROM evlog_poll('spread', 'a', 1000);
SELECT evlog_ack('spread', 'a', evlog_head()) + evlog_ack('spread', 'b', evlog_head()) AS acked;
SELECT member, partitions FROM evlog.consumer_members WHERE group_name = 'spread' ORDER BY member;
SELECT members, lag_events FROM evlog.consumer_groups WHERE group_name = 'spread';
-- three members share four partitions: sizes differ by at most one
SELECT count(*) FROM evlog_poll('spread', 'c', 0);
SELECT evlog_ack('spread', 'a', evlog_head()), evlog_ack('spread', 'b', evlog_head());
SELECT count(*) FROM evlog_poll('spread', 'c', 0);
SELECT member, partitions FROM evlog.consumer_members WHERE group_name = 'spread' ORDER BY member;

-- a lease that runs out: the member's partitions go to the others
SELECT evlog_create_consumer_group('brief', NULL, 'sp/', 2, :base, '20 ms');
SELECT count(*) > 0 AS given FROM evlog_poll('brief', 'x', 1000);
SELECT pg_sleep(0.1);
SELECT count(*) AS given_to_y FROM evlog_poll('brief', 'y', 1000);
SELECT try(format('SELECT public.evlog_ack(%L, %L, %s)', 'brief', 'x', :base + 1));

-- privileges: the owner role's members only
SET ROLE cg_member;
SELECT count(*) FROM evlog_poll('orders', 'm3', 10);
SELECT evlog_ack('orders', 'm3', 0);
SELECT evlog_leave('orders', 'm3');
SET ROLE cg_other;
SELECT try($$SELECT * FROM public.evlog_poll('orders', 'm4')$$);
SELECT try($$SELECT public.evlog_ack('orders', 'm4', 1)$$);
SELECT try($$SELECT public.evlog_leave('orders', 'm4')$$);
SELECT try($$SELECT public.evlog_seek('orders', 1)$$);
SELECT try($$SELECT public.evlog_drop_consumer_group('orders')$$);
SELECT count(*) AS visible_groups FROM evlog.consumer_groups;
SELECT try($$SELECT * FROM evlog.consumer_offsets$$);
RESET ROLE;

-- evlog.stats counts polls and the events they delivered (at transaction end)
SELECT evlog_stats_reset();
SELECT evlog_create_consumer_group('counted', start_after => 0, partitions => 1);
SELECT count(*) AS given FROM evlog_poll('counted', 'c1', 2);
SELECT count(*) AS given FROM evlog_poll('counted', 'c1', 3);
SELECT polls, deliveries FROM evlog.stats;
SELECT evlog_drop_consumer_group('counted');

-- dropping
SELECT try($$SELECT public.evlog_drop_consumer_group(NULL)$$);
SELECT try($$SELECT public.evlog_drop_consumer_group('nope')$$);
SELECT evlog_drop_consumer_group('orders');
SELECT evlog_drop_consumer_group('spread');
SELECT evlog_drop_consumer_group('brief');
SELECT try($$SELECT * FROM public.evlog_poll('orders', 'm1')$$);
SELECT count(*) AS groups, (SELECT count(*) FROM evlog.consumer_offsets) AS offsets,
       (SELECT count(*) FROM evlog.consumer_members) AS members
  FROM evlog.consumer_group_registry;
DROP ROLE cg_member;
REVOKE ALL ON evlog.events FROM cg_owner;
REVOKE ALL ON FUNCTION evlog_append(text, text, jsonb, jsonb, text, bigint, integer) FROM cg_owner;
DROP ROLE cg_owner;
DROP ROLE cg_other;

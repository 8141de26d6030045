# Failover (README "Followers and change data capture"): a primary with a
# physical standby. The standby replays the log, projections and checkpoints
# and runs no worker. The primary stops at once (-m immediate) and the
# standby is promoted: the worker starts there, a caught-up projection goes
# on from its checkpoint with the next events, a paused one keeps its
# checkpoint and folds from it when resumed, and appends through the three
# paths continue gaplessly from the old head. A logical follower of the old
# primary is re-pointed to the promoted standby as the README says (a new
# slot there, the subscription's connection and origin moved) and follows
# it from the old head.
#
# A consumer group acknowledges part of the log on the primary and, after
# the failover, is given again exactly what it had not acknowledged.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

my $primary = evlog_node('primary', init => { allows_streaming => 'logical' }, conf => qq{
max_worker_processes = 16
});

$primary->safe_psql('postgres', q{
  CREATE TABLE per_stream (stream text PRIMARY KEY, n bigint NOT NULL, last_seq bigint NOT NULL);
  CREATE FUNCTION per_stream_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO per_stream VALUES (e.stream, 1, e.seq)
    ON CONFLICT (stream) DO UPDATE SET n = per_stream.n + 1, last_seq = excluded.last_seq $$;
  SELECT evlog_register_projection('per_stream', 'per_stream_fold(evlog.events)', '{per_stream}');
  CREATE TABLE per_type (type text PRIMARY KEY, n bigint NOT NULL);
  CREATE FUNCTION per_type_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO per_type VALUES (e.type, 1) ON CONFLICT (type) DO UPDATE SET n = per_type.n + 1 $$;
  SELECT evlog_register_projection('per_type', 'per_type_fold(evlog.events)', '{per_type}');
  CREATE PUBLICATION evlog_pub FOR TABLE evlog.events;
});

# a logical follower of the primary
my $follower = evlog_node('follower');
(my $conn = $primary->connstr('postgres')) =~ s/'/''/g;
$follower->safe_psql('postgres', "CREATE SUBSCRIPTION evlog_sub CONNECTION '$conn' PUBLICATION evlog_pub");

# append N events through the three paths on NODE, tagged with ROUND
sub append_three_ways
{
	my ($node, $round) = @_;
	$node->safe_psql('postgres', qq{
	  SELECT evlog_append('s-' || i % 20, 'thing.single', jsonb_build_object('round', $round, 'i', i)) FROM generate_series(1, 100) i;
	  SELECT cardinality(evlog_append_batch(ARRAY(
	    SELECT ROW('s-' || i % 20, 'thing.batched', jsonb_build_object('round', $round, 'i', i), '{}', NULL, NULL, 1)::evlog.new_event
	    FROM generate_series(1, 100) i)));
	  INSERT INTO evlog.append_queue (stream, type, payload)
	    SELECT 's-' || i % 20, 'thing.queued', jsonb_build_object('round', $round, 'i', i) FROM generate_series(1, 100) i;
	});
}

append_three_ways($primary, 1);
ok(poll_until($primary, 'postgres', q{SELECT sum(lag_events) FROM evlog.projection_status}, '0'), 'primary: both projections caught up');
# per_type stops at 300; per_stream folds what comes next
$primary->safe_psql('postgres', q{SELECT evlog_pause('per_type')});
append_three_ways($primary, 2);
ok(poll_until($primary, 'postgres', q{SELECT checkpoint FROM evlog.projection_status WHERE name = 'per_stream'}, '600'),
	'primary: per_stream folded to seq 600');

# ---- consumer groups, before the failover: a group reading the whole log;
# its member is given 1..250 and acknowledges them, then is given 251..350
# and acknowledges nothing more
$primary->safe_psql('postgres', q{SELECT evlog_create_consumer_group('billing', start_after => 0, partitions => 4)});
is($primary->safe_psql('postgres', q{SELECT count(*), min(seq), max(seq) FROM evlog_poll('billing', 'm1', 250)}), '250|1|250',
	'primary: the member is given seqs 1..250');
is($primary->safe_psql('postgres', q{SELECT evlog_ack('billing', 'm1', 250)}), '250', 'primary: it acknowledges them');
is($primary->safe_psql('postgres', q{SELECT count(*), min(seq), max(seq) FROM evlog_poll('billing', 'm1', 100)}), '100|251|350',
	'primary: then it is given seqs 251..350, not acknowledged');

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
append_three_ways($primary, 3);
ok(poll_until($primary, 'postgres', q{SELECT checkpoint FROM evlog.projection_status WHERE name = 'per_stream'}, '900'),
	'primary: per_stream folded to seq 900');
$primary->wait_for_catchup($standby, 'replay');

my $state = q{SELECT name, state, checkpoint FROM evlog.projections ORDER BY name};
my $before = $primary->safe_psql('postgres', $state);
is($before, "per_stream|active|900\nper_type|paused|300", 'primary: the checkpoints before the failover');
my $log = q{SELECT evlog_head(), md5(string_agg(seq || ':' || encode(digest, 'hex'), ',' ORDER BY seq)) FROM evlog.events};
my $primary_log = $primary->safe_psql('postgres', $log);
is($standby->safe_psql('postgres', $log), $primary_log, 'standby: the same log');
ok(poll_until($follower, 'postgres', q{SELECT evlog_head()}, '900'), 'follower: at seq 900');
is($follower->safe_psql('postgres', $log), $primary_log, 'follower: the same log');
is($standby->safe_psql('postgres', $state), $before, 'standby: the same checkpoints');
is($standby->safe_psql('postgres', q{SELECT evlog.worker_pid() IS NULL, pg_is_in_recovery()}), 't|t',
	'standby: no worker runs there');
my ($ret, $stdout, $stderr) = $standby->psql('postgres', q{SELECT evlog_append('s-1', 'thing.single', '{}')});
like($stderr, qr/ERROR:  cannot execute evlog_append\(\) in a read-only transaction/, 'standby: an append fails');

# the primary stops at once; the standby is promoted
$primary->stop('immediate');
$standby->promote;
ok(poll_until($standby, 'postgres', q{SELECT evlog.worker_pid() IS NOT NULL}, 't'), 'promoted: the worker runs');
is($standby->safe_psql('postgres', $state), $before, 'promoted: the checkpoints carried over');

# the follower, re-pointed before anything is appended: a slot on the new
# primary, the subscription's connection, and its origin at the new slot
my $slot_lsn = $standby->safe_psql('postgres', q{
  SELECT lsn FROM pg_create_logical_replication_slot('evlog_sub', 'pgoutput')});
$follower->safe_psql('postgres', 'ALTER SUBSCRIPTION evlog_sub DISABLE');
ok(poll_until($follower, 'postgres', q{SELECT apply_pid IS NULL FROM evlog.follower_status}, 't'),
	'follower: its apply worker stopped');
($conn = $standby->connstr('postgres')) =~ s/'/''/g;
$follower->safe_psql('postgres', qq{
  ALTER SUBSCRIPTION evlog_sub CONNECTION '$conn';
  SELECT pg_replication_origin_advance('pg_' || oid, '$slot_lsn') FROM pg_subscription WHERE subname = 'evlog_sub';
  ALTER SUBSCRIPTION evlog_sub ENABLE;
});
is($standby->safe_psql('postgres', q{SELECT evlog_append('s-1', 'thing.single', '{"after": true}')}), '901',
	'promoted: the next append gets the old head + 1');
append_three_ways($standby, 4);
is($standby->safe_psql('postgres', q{SELECT evlog_head(), count(*), min(seq),
                                            (SELECT checked || '/' || coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain())
                                     FROM evlog.events}),
	'1201|1201|1|1201/intact', 'promoted: the log is gapless and its chain verifies');
ok(poll_until($standby, 'postgres', q{SELECT checkpoint FROM evlog.projection_status WHERE name = 'per_stream'}, '1201'),
	'promoted: per_stream goes on from its checkpoint');
is($standby->safe_psql('postgres', q{SELECT state, checkpoint FROM evlog.projection_status WHERE name = 'per_type'}), 'paused|300',
	'promoted: the paused projection kept its checkpoint');
$standby->safe_psql('postgres', q{SELECT evlog_resume('per_type')});
ok(poll_until($standby, 'postgres', q{SELECT checkpoint FROM evlog.projection_status WHERE name = 'per_type'}, '1201'),
	'promoted: per_type, resumed, folds from its checkpoint');
for my $p (qw(per_stream per_type))
{
	is($standby->safe_psql('postgres', "SELECT count(*) FROM evlog_verify('$p')"), '0', "promoted: $p verifies without drift");
}
is($standby->safe_psql('postgres', q{SELECT string_agg(type || '=' || n, ',' ORDER BY type) FROM per_type}),
	'thing.batched=400,thing.queued=400,thing.single=401', 'promoted: per_type holds every event once');
is($standby->safe_psql('postgres', q{SELECT sum(n), max(last_seq) FROM per_stream}), '1201|1201',
	'promoted: per_stream holds every event once');

ok(poll_until($follower, 'postgres', q{SELECT evlog_head()}, '1201'), 'follower: follows the new primary to seq 1201');
is($follower->safe_psql('postgres', $log), $standby->safe_psql('postgres', $log), "follower: the new primary's log");
unlike(slurp_file($follower->logfile), qr/does not continue the follower's log/, 'follower: no replicated event was refused');

# ---- consumer groups, after the failover: the group resumes from its
# committed offsets on the promoted standby: what was given and not
# acknowledged is given again, nothing acknowledged is
is($standby->safe_psql('postgres', q{SELECT committed, lag_events FROM evlog.consumer_groups WHERE group_name = 'billing'}),
	'250|951', 'promoted: the group kept its committed offsets');
is($standby->safe_psql('postgres', q{SELECT count(*), min(seq), max(seq) FROM evlog_poll('billing', 'm1', 2000)}), '951|251|1201',
	'promoted: the member is given 251..1201, from its committed offsets on');
is($standby->safe_psql('postgres', q{SELECT evlog_ack('billing', 'm1', 1201)}), '951', 'promoted: it acknowledges them');
is($standby->safe_psql('postgres', q{SELECT committed, lag_events FROM evlog.consumer_groups WHERE group_name = 'billing'}),
	'1201|0', 'promoted: the group is at the head');

$standby->stop;
$follower->stop;
done_testing();

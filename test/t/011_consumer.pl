# Consumer groups (README "Consumer groups"), on a real server:
# - three processes of examples/consumer.py share a group over 20,000 events
#   in 200 streams; one is killed with SIGKILL mid-batch (EvlogConsumers.pm
#   checks coverage, repeats, order per stream and lag 0);
# - a long poll returns within seconds of the commit it waited for (not at
#   its timeout), also with evlog.group_commit on;
# - of long polls waiting together, those of the commit's partitions are
#   woken at once (one by the commit, as the herald, the others by it), the
#   others not, nor those of a group that does not want the events
#   (evlog.stats' poll_wakeups and empty_wakeups);
# - an immediate stop with deliveries not acknowledged: after recovery
#   nothing acknowledged is given again, and everything else is;
# - committed offsets survive pg_dump and pg_restore;
# - a poll proving durability itself while the WAL ends at a page's end;
# - two sessions polling as one member at once: each event given once;
# - the example consumer's --linger-ms spaces its batches.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use FindBin;
use lib $FindBin::Bin;
use EvlogConsumers;
use EvlogPoll;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('consumer');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'evlog'
max_connections = 40
evlog.notify = off
evlog.consumer_members = 16
evlog.consumer_deliveries = 1000
});
$node->start;
$node->safe_psql('postgres', q{
  CREATE EXTENSION evlog;
  SELECT evlog_create_consumer_group('g', partitions => 16, start_after => 0, lease => '2 seconds');
  SELECT count(evlog_append('s-' || (i % 200), 'load.e', jsonb_build_object('i', i)))
    FROM generate_series(1, 20000) i;
});
is($node->safe_psql('postgres', 'SELECT evlog_head()'), '20000', '20,000 events in the log');

run_consumers($node, 'postgres', $node->connstr('postgres'), 'g', 20000, 'direct');

# a long poll is woken by the commit of an event, with and without group commit
for my $gc ('off', 'on')
{
	my $out = '';
	my $h = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
		  q{SELECT count(*) || '|' || max(seq) FROM evlog_poll('g', 'waiter', 10, '30 seconds')} ],
		'>', \$out);
	ok(poll_until($node, 'postgres', q{SELECT count(*) FROM pg_stat_activity
	      WHERE query LIKE '%evlog_poll(''g'', ''waiter''%' AND wait_event_type = 'Extension'}, '1'),
		"group_commit $gc: the poll waits");
	my $t0 = time;
	$node->safe_psql('postgres', qq{SET evlog.group_commit = $gc; SELECT evlog_append('late', 'load.e', '{}')});
	$h->finish;
	my $elapsed = time - $t0;
	like($out, qr/^1\|2000\d$/m, "group_commit $gc: the waiting poll returned the new event");
	cmp_ok($elapsed, '<', 5, "group_commit $gc: it returned within seconds of the commit, not at its timeout ("
		  . sprintf('%.3f s', $elapsed) . ')');
	$node->safe_psql('postgres', "SELECT evlog_ack('g', 'waiter', evlog_head())");
}

# long polls wait together: a commit wakes one of them (the herald), which
# wakes the others whose partitions the commit wrote to; a poll not woken
# would return only at the end of its 1 s slice.  polls_with_append(POLLS,
# STREAM): start a long poll per [group, member], wait until all wait, append
# to STREAM; returns the output of each and the seconds each took after the
# commit.  APPEND, when given, is the SQL that appends instead
sub polls_with_append
{
	my ($polls, $stream, $append) = @_;
	$append //= "SELECT evlog_append('$stream', 'load.e', '{}')";
	my (@h, @out, @took);
	for my $i (0 .. $#$polls)
	{
		my ($group, $member, $timeout) = @{ $polls->[$i] };
		$out[$i] = '';
		$h[$i] = IPC::Run::start([ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
			  qq{SELECT count(*) || '|' || coalesce(max(stream), '') FROM evlog_poll('$group', '$member', 10, '$timeout')} ],
			'>', \$out[$i]);
	}
	poll_until($node, 'postgres', q{SELECT count(*) FROM pg_stat_activity
	      WHERE query LIKE '%FROM evlog_poll(''h%' AND wait_event_type = 'Extension'}, scalar(@$polls))
	  or die 'the polls do not wait';
	$node->safe_psql('postgres', $append);
	my $t0 = time;
	my $left = scalar(@$polls);
	while ($left > 0)
	{
		for my $i (0 .. $#$polls)
		{
			next if defined $took[$i];
			if ($h[$i]->pumpable) { $h[$i]->pump_nb; next; }
			$h[$i]->finish;
			$took[$i] = time - $t0;
			$left--;
		}
		usleep(2_000);
	}
	return (\@out, \@took);
}
$node->safe_psql('postgres', q{
  SELECT evlog_create_consumer_group('ha', partitions => 1);
  SELECT evlog_create_consumer_group('hb', partitions => 1);
});
my $prompt = 0;
for my $round (1 .. 3)
{
	my ($out, $took) = polls_with_append([ [ 'ha', 'a', '30 seconds' ], [ 'hb', 'b', '30 seconds' ] ], "both-$round");
	is_deeply($out, [ "1|both-$round\n", "1|both-$round\n" ], "round $round: two groups' waiting polls both return the event");
	$prompt++ if $took->[0] < 0.5 && $took->[1] < 0.5;
	$node->safe_psql('postgres', "SELECT evlog_ack('ha', 'a', evlog_head()), evlog_ack('hb', 'b', evlog_head())");
}
cmp_ok($prompt, '>=', 2, 'in 2 rounds of 3 at least, both returned within 0.5 s of the commit (the herald woke the other)');
# of one group's members, only the owner of the stream's partition gets it
$node->safe_psql('postgres', q{
  SELECT evlog_create_consumer_group('hc', partitions => 2);
  SELECT count(*) FROM evlog_poll('hc', 'c1', 0);
  SELECT count(*) FROM evlog_poll('hc', 'c2', 0);
  SELECT count(*) FROM evlog_poll('hc', 'c1', 0);
  SELECT count(*) FROM evlog_poll('hc', 'c2', 0);
});
my %owner = map { split /\|/ } split /\n/, $node->safe_psql('postgres',
	q{SELECT m.member || '|' || p FROM evlog.consumer_members m, unnest(m.partitions) p WHERE m.group_name = 'hc'});
# in_partition(PREFIX, MEMBER): a stream PREFIXn of MEMBER's partition (of
# 2), as %owner has them
sub in_partition
{
	my ($prefix, $member) = @_;
	my ($stream) = grep { $owner{$member} == $node->safe_psql('postgres', "SELECT evlog_partition('$_', 2)") }
	  map { "$prefix$_" } 1 .. 50;
	return $stream;
}
my $s1 = in_partition('c-', 'c1');
$node->safe_psql('postgres', 'SELECT evlog_stats_reset()');
my ($out, $took) = polls_with_append([ [ 'hc', 'c1', '30 seconds' ], [ 'hc', 'c2', '2 seconds' ] ], $s1);
is_deeply($out, [ "1|$s1\n", "0|\n" ], 'of two waiting members, the owner of the partition gets the event, the other nothing');
cmp_ok($took->[1], '>', 1, 'the other kept waiting to its timeout');
my $wakeups = q{SELECT poll_wakeups || ' ' || empty_wakeups FROM evlog.stats};
my ($woken, $empty) = split / /, $node->safe_psql('postgres', $wakeups);
cmp_ok($woken, '>=', 1, "evlog.stats counts the wake-ups ($woken)");
is($empty, '0', 'none of them found nothing: the herald woke only the owner, if anyone');

# a group with a stream prefix: its herald wakes none of its members for
# events the group does not want, even in their partitions
$node->safe_psql('postgres', q{
  SELECT evlog_create_consumer_group('hf', stream_prefix => 'keep/', partitions => 2);
  SELECT count(*) FROM evlog_poll('hf', 'f1', 0);
  SELECT count(*) FROM evlog_poll('hf', 'f2', 0);
  SELECT count(*) FROM evlog_poll('hf', 'f1', 0);
  SELECT count(*) FROM evlog_poll('hf', 'f2', 0);
});
%owner = map { split /\|/ } split /\n/, $node->safe_psql('postgres',
	q{SELECT m.member || '|' || p FROM evlog.consumer_members m, unnest(m.partitions) p WHERE m.group_name = 'hf'});
my ($drop1, $drop2, $keep1) = (in_partition('drop/', 'f1'), in_partition('drop/', 'f2'), in_partition('keep/', 'f1'));
$node->safe_psql('postgres', 'SELECT evlog_stats_reset()');
($out, $took) = polls_with_append([ [ 'hf', 'f1', '2 seconds' ], [ 'hf', 'f2', '2 seconds' ] ], undef,
	"SELECT evlog_append_batch(ARRAY[ROW('$drop1', 'load.e', '{}', '{}', NULL, NULL, 1),
	                                 ROW('$drop2', 'load.e', '{}', '{}', NULL, NULL, 1)]::evlog.new_event[])");
is_deeply($out, [ "0|\n", "0|\n" ], 'events the group does not want, one in each member\'s partition: neither gets one');
is($node->safe_psql('postgres', $wakeups), '1 0', 'the commit woke one poll, the herald, and it woke nobody');
$node->safe_psql('postgres', 'SELECT evlog_stats_reset()');
($out, $took) = polls_with_append([ [ 'hf', 'f1', '30 seconds' ], [ 'hf', 'f2', '2 seconds' ] ], undef,
	"SELECT evlog_append_batch(ARRAY[ROW('$keep1', 'load.e', '{}', '{}', NULL, NULL, 1),
	                                 ROW('$drop2', 'load.e', '{}', '{}', NULL, NULL, 1)]::evlog.new_event[])");
is_deeply($out, [ "1|$keep1\n", "0|\n" ], 'with one event it wants, in f1\'s partition: f1 gets it, f2 nothing');
cmp_ok($took->[0], '<', 5, 'f1 got it within seconds of the commit (' . sprintf('%.3f s', $took->[0]) . ')');
like($node->safe_psql('postgres', $wakeups), qr/^[12] 0$/, 'one or two wake-ups (the herald, and f1 if it was not), none empty');
# group g has the events appended here acknowledged; the others go
$node->safe_psql('postgres', q{
  SELECT count(*) FROM evlog_poll('g', 'waiter', 100);
  SELECT evlog_ack('g', 'waiter', evlog_head());
  SELECT evlog_drop_consumer_group(n) FROM unnest(ARRAY['ha', 'hb', 'hc', 'hf']) n;
});
$node->safe_psql('postgres', "SELECT evlog_leave('g', 'waiter')");

# an immediate stop with deliveries not acknowledged
$node->safe_psql('postgres', q{
  SET evlog.group_commit = on;
  SELECT count(evlog_append('s-' || (i % 200), 'load.f', jsonb_build_object('i', i)))
    FROM generate_series(1, 1000) i;
});
my $base = $node->safe_psql('postgres', "SELECT evlog_head() - 1000");
my $given = $node->safe_psql('postgres', "SELECT string_agg(seq::text, ',' ORDER BY seq) FROM evlog_poll('g', 'c', 300)");
my @given = split /,/, $given;
is(scalar(@given), 300, 'a member was given 300 events');
my $ack_to = $given[149];
is($node->safe_psql('postgres', "SELECT evlog_ack('g', 'c', $ack_to)"), '150', 'it acknowledged the first 150');
$node->stop('immediate');
$node->start;
my %acked = map { $_ => 1 } @given[ 0 .. 149 ];
my $again = $node->safe_psql('postgres',
	"SELECT string_agg(seq::text, ',' ORDER BY seq) FROM evlog_poll('g', 'c2', 5000)");
my @again = split /,/, $again;
is(scalar(grep { $acked{$_} } @again), 0, 'after recovery nothing acknowledged is given again');
is_deeply(\@again, [ grep { !$acked{$_} } $base + 1 .. $base + 1000 ],
	'and everything not acknowledged is, in seq order');
is($node->safe_psql('postgres', "SELECT evlog_ack('g', 'c2', evlog_head())"), '850', 'the rest acknowledged');
my ($rc, $stdout, $stderr) = $node->psql('postgres', "SELECT evlog_ack('g', 'c', $ack_to)");
like($stderr, qr/EV006|is fenced/, 'a member from before the crash is fenced (EV006)');

# offsets survive pg_dump and pg_restore
my $offsets = q{SELECT string_agg(r.group_name || ':' || o.partition || ':' || o.committed, ',' ORDER BY o.partition)
                  FROM evlog.consumer_offsets o JOIN evlog.consumer_group_registry r USING (group_id)};
my $before = $node->safe_psql('postgres', $offsets);
my $dump = $node->basedir . '/consumer.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
is($node->safe_psql('restored', $offsets), $before, 'committed offsets survive pg_dump and pg_restore');
is($node->safe_psql('restored', q{SELECT group_name || ' ' || partitions || ' ' || lease || ' ' || lag_events
                                     FROM evlog.consumer_groups}), 'g 16 00:00:02 0', 'the group too, with lag 0');
is($node->safe_psql('restored', "SELECT count(*) FROM evlog_poll('g', 'r', 100)"), '0',
	'a poll in the restored database has nothing to give');
$node->safe_psql('restored', "SELECT evlog_append('after', 'load.e', '{}')");
is($node->safe_psql('restored', "SELECT stream FROM evlog_poll('g', 'r', 100)"), 'after',
	'and gives what is appended there after the restore');
is($node->safe_psql('restored', "SELECT evlog_ack('g', 'r', evlog_head())"), '1', 'which is acknowledged');

# a poll that proves events durable itself (they were committed with
# synchronous_commit off) while the WAL inserted so far ends exactly at a
# page's end: it flushes to that end, not past the next page's header (which
# failed with "xlog flush request ... is not satisfied").  Non-transactional
# logical messages, sized from the overhead just measured, fill the page.
$node->safe_psql('postgres', q{SELECT evlog_create_consumer_group('pb', partitions => 1)});
my ($pb_rc, $pb_out, $pb_err) = $node->psql('postgres', q{
SET synchronous_commit = off;
DO $$
DECLARE l pg_lsn; f int; r int; landed int := 0; given bigint := 0;
BEGIN
  FOR attempt IN 1 .. 300 LOOP
    PERFORM evlog_append('boundary', 'load.b', '{}');
    COMMIT;
    l := pg_current_wal_insert_lsn();
    PERFORM pg_logical_emit_message(false, 'evlog-test', repeat('x', 300));
    f := (pg_current_wal_insert_lsn() - l)::int - 300;
    r := 8192 - ((pg_current_wal_insert_lsn() - '0/0'::pg_lsn) % 8192)::int;
    CONTINUE WHEN r - f < 300;
    PERFORM pg_logical_emit_message(false, 'evlog-test', repeat('x', r - f));
    CONTINUE WHEN (pg_current_wal_insert_lsn() - '0/0'::pg_lsn) % 8192 <> 24;
    given := given + (SELECT count(*) FROM evlog_poll('pb', 'm', 1000));
    landed := landed + 1;
    EXIT WHEN landed = 3;
  END LOOP;
  PERFORM set_config('evlog_test.landed', landed || ' ' || given, false);
END $$;
SELECT current_setting('evlog_test.landed');
});
is($pb_err, '', 'polls proving durability at a WAL page boundary raise no error');
like($pb_out, qr/^3 \d+$/, "the WAL was brought to a page's end 3 times, and each time a poll ran ($pb_out)");
is($pb_out =~ s/^3 //r, $node->safe_psql('postgres', q{SELECT count(*) FROM evlog.events WHERE stream = 'boundary'}),
	'and the polls were given every event appended before them');
$node->safe_psql('postgres', q{SELECT evlog_drop_consumer_group('pb')});

# two sessions polling as one member at once (a consumer started again
# while its old process still polls): both scan the same events, and what
# one recorded first the other drops from its result (keep_only in
# src/consumer.c); every event is given once, to one of them
$node->safe_psql('postgres', q{
  SELECT evlog_create_consumer_group('twin', partitions => 1);
  CREATE UNLOGGED TABLE twin_given (session int, seq bigint);
});
my $twin_base = $node->safe_psql('postgres', 'SELECT evlog_head()');
my @twin;
for my $i (1, 2)
{
	push @twin, IPC::Run::start([ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-c', qq{
DO \$\$
DECLARE top bigint;
BEGIN
  FOR r IN 1 .. 100000 LOOP
    WITH g AS (INSERT INTO twin_given SELECT $i, seq FROM evlog_poll('twin', 'same', 5, '20 ms') RETURNING seq)
    SELECT max(seq) INTO top FROM g;
    IF top IS NOT NULL THEN PERFORM evlog_ack('twin', 'same', top); END IF;
    COMMIT;
    EXIT WHEN (SELECT count(*) FROM twin_given) >= 3000;
  END LOOP;
END \$\$} ], '>', \my $o, '2>', \my $e);
}
$node->safe_psql('postgres', q{
  DO $$ BEGIN
    FOR i IN 1 .. 3000 LOOP PERFORM evlog_append('twin-' || i % 7, 'load.t', '{}'); COMMIT; END LOOP;
  END $$});
$_->finish for @twin;
is($node->safe_psql('postgres', qq{SELECT count(*) || ' ' || count(DISTINCT seq) || ' ' || min(seq) || ' ' || max(seq) || ' ' || count(DISTINCT session) FROM twin_given}),
	'3000 3000 ' . ($twin_base + 1) . ' ' . ($twin_base + 3000) . ' 2',
	'two sessions polling as one member: 3000 events given once each, to both sessions');
# group g, which takes every stream, starts again after them
$node->safe_psql('postgres', q{SELECT evlog_drop_consumer_group('twin'); DROP TABLE twin_given;
  SELECT evlog_seek('g', evlog_head())});

# the example's --linger-ms: after a batch smaller than --batch a member
# waits that long before it polls again, so its batches are at least that
# far apart (a lower bound, whatever this machine's speed), and nothing is
# lost.  40 events, one per commit, 20 ms apart, while one member lingers
# 300 ms
$node->safe_psql('postgres', q{SELECT evlog_create_consumer_group('linger', partitions => 1)});
my $linger_base = $node->safe_psql('postgres', 'SELECT evlog_head()');
my $linger_log = $node->basedir . '/linger.log';
unlink $linger_log;
my $linger = IPC::Run::start([ '/usr/bin/python3', consumer_script(), '--dsn', $node->connstr('postgres'),
	'--group', 'linger', '--member', 'l1', '--batch', '200', '--timeout', '3 seconds', '--linger-ms', '300',
	'--exit-when-idle', '--log', $linger_log ], '>', \my $lo, '2>', \my $le);
# the appends start once the member has joined (else it could take them all
# in its first batch); its polls wait 3 s, so that it does not find the
# group idle and leave before they start
$node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM evlog.consumer_members WHERE group_name = 'linger' AND member = 'l1'})
  or die "the lingering member did not join: $le";
$node->safe_psql('postgres', q{
  DO $$ BEGIN
    FOR i IN 1 .. 40 LOOP PERFORM evlog_append('linger-' || i % 3, 'load.l', '{}'); COMMIT; PERFORM pg_sleep(0.02); END LOOP;
  END $$});
$linger->finish;
-e $linger_log or die "no $linger_log: $le";
my ($linger_handled, undef, undef, $acked_at) = EvlogConsumers::parse_log($linger_log);
my %linger_seen;
$linger_seen{ $_->[0] }++ for @$linger_handled;
my @linger_seqs = sort { $a <=> $b } keys %linger_seen;
my $linger_repeats = grep { $linger_seen{$_} > 1 } @linger_seqs;
is("@linger_seqs[0, -1] " . scalar(@linger_seqs) . " $linger_repeats",
	($linger_base + 1) . ' ' . ($linger_base + 40) . ' 40 0', 'a lingering member handled the 40 events, once each');
my @gaps = map { $acked_at->[$_] - $acked_at->[ $_ - 1 ] } 1 .. $#$acked_at;
ok(@gaps >= 1 && !grep({ $_ < 0.299 } @gaps),
	'in ' . scalar(@$acked_at) . ' batches, at least 300 ms apart (gaps: ' . join(' ', map { sprintf '%.3f', $_ } @gaps) . ')');
$node->safe_psql('postgres', q{SELECT evlog_drop_consumer_group('linger'); SELECT evlog_seek('g', evlog_head())});

# shared memory sized by the settings, with a clear error when full
is($node->safe_psql('postgres', 'SHOW evlog.consumer_members'), '16', 'evlog.consumer_members is set from postgresql.conf');
$node->safe_psql('postgres', q{SELECT evlog_create_consumer_group('full', partitions => 1, start_after => 0)});
my ($jrc, $jout, $jerr) = $node->psql('postgres', q{SELECT count(*) FROM evlog_poll('full', 'p', 5000)});
is($jout, '1000', 'a poll takes no more deliveries than evlog.consumer_deliveries holds');
($jrc, $jout, $jerr) = $node->psql('postgres', q{SELECT count(*) FROM evlog_poll('full', 'p', 5000)});
like($jerr, qr/no room for more unacknowledged deliveries in shared memory.*evlog.consumer_deliveries/s,
	'the next one, with the pool full, gets 53400 naming evlog.consumer_deliveries');
$node->safe_psql('postgres', q{SELECT evlog_leave('full', 'p')});
($jrc, $jout, $jerr) = $node->psql('postgres', q{
  DO $$ BEGIN
    FOR i IN 1 .. 20 LOOP PERFORM count(*) FROM evlog_poll('g', 'j' || i, 0); END LOOP;
  END $$});
like($jerr, qr/no room for member "j\d+" of consumer group "g" in shared memory.*All 16 member slots are in use.*evlog.consumer_members/s,
	'a member beyond evlog.consumer_members gets 53400 naming the setting');
($jrc, $jout, $jerr) = $node->psql('postgres', q{SELECT count(*) FROM evlog_poll('g', 'j1', 10)});
is($jout, '0', 'a member already there still polls');

$node->stop;
done_testing();

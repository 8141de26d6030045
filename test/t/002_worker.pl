# The worker's life (P4, P5): it starts by itself in every database that
# has evlog, wakes at commit, survives handler errors and its own SIGKILL,
# reloads on SIGHUP, never blocks DROP DATABASE or DROP EXTENSION, never
# runs on a hot standby, and starts after promotion.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

my $node = evlog_node('primary', init => { allows_streaming => 1 }, extension => 0, conf => qq{
evlog.launcher_naptime = 1
evlog.worker_naptime = '60s'
restart_after_crash = on
});

# poll a query until it returns the expected value, within 60 s
sub poll
{
	my ($db, $query, $expected, $name) = @_;
	ok(poll_until($node, $db, $query, $expected), $name);
}

my $projection = q{
  CREATE TABLE tally (stream text PRIMARY KEY, n int NOT NULL, last_seq bigint NOT NULL);
  CREATE FUNCTION tally_fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    IF e.payload ? 'poison' THEN RAISE EXCEPTION 'poisoned event %', e.seq; END IF;
    INSERT INTO tally VALUES (e.stream, 1, e.seq)
    ON CONFLICT (stream) DO UPDATE SET n = tally.n + 1, last_seq = excluded.last_seq;
  END $$;
  SELECT evlog_register_projection('tally', 'tally_fold(evlog.events)', '{tally}');
};
# the read model equals a fresh fold of the log up to the checkpoint
my $drift = q{
  SELECT count(*) FROM (
    (SELECT stream, n, last_seq FROM tally
     EXCEPT SELECT stream, count(*)::int, max(seq) FROM evlog.events
            WHERE seq <= (SELECT checkpoint FROM evlog.projections WHERE name = 'tally') AND NOT payload ? 'poison'
            GROUP BY stream)
    UNION ALL
    (SELECT stream, count(*)::int, max(seq) FROM evlog.events
     WHERE seq <= (SELECT checkpoint FROM evlog.projections WHERE name = 'tally') AND NOT payload ? 'poison'
     GROUP BY stream
     EXCEPT SELECT stream, n, last_seq FROM tally)) d};

# the worker starts by itself after CREATE EXTENSION, in two databases
for my $db ('one', 'two')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION evlog');
	$node->safe_psql($db, $projection);
}
poll('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog worker' AND datname IN ('one', 'two')},
	'2', 'a worker runs in each database with evlog');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog worker' AND datname = 'postgres'}),
	'0', 'no worker where evlog is not installed');
is($node->safe_psql('one', q{SELECT application_name || '/' || wait_event_type FROM pg_stat_activity WHERE backend_type = 'evlog worker' AND datname = 'one'}),
	'evlog worker/Extension', 'the worker shows its name and waits on an Extension wait event');

# a burst of appends: lag returns to 0, woken at commit (the nap is 60 s)
my $start = time;
$node->safe_psql('one', q{SELECT count(evlog_append('s-' || i % 10, 'x.y', jsonb_build_object('i', i))) FROM generate_series(1, 2000) i});
poll('one', q{SELECT lag_events FROM evlog.projection_status WHERE name = 'tally'}, '0', 'lag returns to 0 after a burst');
my $burst = time - $start;
cmp_ok($burst, '<', 30, 'the burst was folded without waiting for the fallback nap');
is($node->safe_psql('one', $drift), '0', 'the read model equals a fresh fold');
note(sprintf('burst of 2000 appends folded %.3f s after the first append', $burst));

# end-to-end lag of single appends: commit to visible in the read model
my @lags;
for my $i (1 .. 20)
{
	my $t0 = time;
	my $seq = $node->safe_psql('one', qq{SELECT evlog_append('lag', 'x.y', '{}')});
	$node->poll_query_until('one', qq{SELECT checkpoint >= $seq FROM evlog.projections WHERE name = 'tally'}, 't');
	push @lags, time - $t0;
}
@lags = sort { $a <=> $b } @lags;
note(sprintf('append + fold visible, 20 single appends: median %.1f ms, max %.1f ms (includes psql start-up)',
	1000 * $lags[10], 1000 * $lags[-1]));

# handler errors: 'stop' stops that projection, 'skip' writes a dead letter; the worker survives
my $pid = $node->safe_psql('one', q{SELECT evlog.worker_pid()});
my $bad = $node->safe_psql('one', q{SELECT evlog_append('p', 'x.y', '{"poison": true}')});
$node->safe_psql('one', q{SELECT evlog_append('p', 'x.y', '{}')});
poll('one', q{SELECT state FROM evlog.projections WHERE name = 'tally'}, 'failed', "on_error 'stop': the projection fails");
is($node->safe_psql('one', q{SELECT checkpoint || ' ' || last_error_seq || ' ' || last_error FROM evlog.projections WHERE name = 'tally'}),
	($bad - 1) . " $bad poisoned event $bad", 'stopped before the failing event, with its seq and error');
$node->safe_psql('one', q{SELECT evlog_alter_projection('tally', on_error => 'skip'); SELECT evlog_resume('tally')});
poll('one', q{SELECT lag_events FROM evlog.projection_status WHERE name = 'tally'}, '0', "on_error 'skip': folding goes on");
is($node->safe_psql('one', q{SELECT seq FROM evlog.dead_letters}), $bad, 'the failing event is a dead letter');
is($node->safe_psql('one', q{SELECT evlog.worker_pid()}), $pid, 'the worker survived both');
is($node->safe_psql('one', $drift), '0', 'no drift after the errors');

# SIGHUP reloads settings
$node->safe_psql('postgres', q{ALTER SYSTEM SET evlog.batch_size = 50});
$node->reload;
poll('one', q{SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'evlog worker'}, 't', 'the worker runs after SIGHUP');
$node->safe_psql('one', q{SELECT count(evlog_append('s-' || i % 10, 'x.y', '{}')) FROM generate_series(1, 300) i});
poll('one', q{SELECT lag_events FROM evlog.projection_status WHERE name = 'tally'}, '0', 'folding goes on with the reloaded batch size');
is($node->safe_psql('one', q{SELECT evlog.worker_pid()}), $pid, 'the same worker, not restarted by SIGHUP');

# kill -9 of the worker: the cluster restarts, the worker comes back and resumes from its checkpoint
kill 'KILL', $pid;
poll('one', q{SELECT evlog.worker_pid() IS NOT NULL}, 't', 'the worker is back after SIGKILL');
isnt($node->safe_psql('one', q{SELECT evlog.worker_pid()}), $pid, 'a new worker process');
$node->safe_psql('one', q{SELECT count(evlog_append('s-' || i % 10, 'x.y', '{}')) FROM generate_series(1, 500) i});
poll('one', q{SELECT lag_events FROM evlog.projection_status WHERE name = 'tally'}, '0', 'lag returns to 0 after the crash');
is($node->safe_psql('one', $drift), '0', 'after the crash the read model equals a fresh fold (exactly once)');

# DROP EXTENSION and DROP DATABASE are not blocked by the worker
$node->safe_psql('two', q{SELECT evlog_append('s', 'x.y', '{}')});
my ($dropped) = $node->psql('two', q{DROP EXTENSION evlog CASCADE});
isnt($dropped, 0, 'DROP EXTENSION is refused while the log holds events');
my $t0 = time;
$node->safe_psql('two', q{SET evlog.allow_drop = on; DROP EXTENSION evlog CASCADE});
cmp_ok(time - $t0, '<', 30, 'DROP EXTENSION went through while a worker was connected');
poll('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog worker' AND datname = 'two'}, '0',
	'the worker leaves a database whose extension was dropped');
cmp_ok(time - $t0, '<', 30, 'at once, not after its 60 s nap');
$node->safe_psql('two', q{CREATE EXTENSION evlog});
poll('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog worker' AND datname = 'two'}, '1',
	'and comes back with CREATE EXTENSION');
$t0 = time;
$node->safe_psql('postgres', q{DROP DATABASE two});
cmp_ok(time - $t0, '<', 30, 'DROP DATABASE went through while a worker was connected');

# a streaming standby: the log replicates, reads work, no worker; after promotion the worker starts
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
my $head = $node->safe_psql('one', q{SELECT evlog_append('standby', 'x.y', '{}')});
$node->wait_for_catchup($standby);
is($standby->safe_psql('one', q{SELECT evlog_head()}), $head, 'the log replicates to the standby');
is($standby->safe_psql('one', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'evlog%'}), '0',
	'no launcher and no worker run on a hot standby');
is($standby->safe_psql('one', q{SELECT worker FROM evlog.projection_status}), 'not running', 'status says so');
$node->stop;
$standby->promote;
poll_standby();
sub poll_standby
{
	ok($standby->poll_query_until('one', q{SELECT evlog.worker_pid() IS NOT NULL}, 't'), 'the worker starts after promotion');
}
$standby->safe_psql('one', q{SELECT evlog_append('promoted', 'x.y', '{}')});
ok($standby->poll_query_until('one', q{SELECT lag_events FROM evlog.projection_status WHERE name = 'tally'}, '0'),
	'the promoted server folds');
is($standby->safe_psql('one', $drift), '0', 'no drift on the promoted server');

$standby->stop;
done_testing();

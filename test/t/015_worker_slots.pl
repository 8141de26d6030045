# Worker slots (README "Sizing max_worker_processes"): with more databases
# than background worker slots, evlog.projection_status says which worker
# could not start, the server log names max_worker_processes once per
# episode, and the launcher starts the missing worker as soon as a slot
# frees up (it retries every second; its naptime here is an hour).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

# four slots: the launcher, the workers of databases a and b, and one
# projection worker; nothing else of PostgreSQL's takes one
my $node = evlog_node('slots', extension => 0, conf => qq{
max_worker_processes = 4
max_logical_replication_workers = 0
max_parallel_workers = 0
evlog.launcher_naptime = 3600
evlog.projection_worker_idle_timeout = '1h'
});

my $projection = q{
  CREATE TABLE tally (stream text PRIMARY KEY, n int NOT NULL);
  CREATE FUNCTION tally_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO tally VALUES (e.stream, 1) ON CONFLICT (stream) DO UPDATE SET n = tally.n + 1 $$;
  SELECT evlog_register_projection('tally', 'tally_fold(evlog.events)', '{tally}');
};
my $append = q{SELECT count(evlog_append('s-' || i % 3, 'x.y', '{}')) FROM generate_series(1, 50) i};
my $status = q{SELECT worker || ' lag ' || lag_events FROM evlog.projection_status WHERE name = 'tally'};

sub poll
{
	my ($db, $query, $expected, $name) = @_;
	ok(poll_until($node, $db, $query, $expected), $name)
	  or diag("$name: got " . $node->safe_psql($db, $query));
}

for my $db ('a', 'b')
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION evlog');
	$node->safe_psql($db, $projection);
}
poll('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog worker' AND datname IN ('a', 'b')},
	'2', 'databases a and b have their workers');

# a's projection gets the last slot for a projection worker of its own
$node->safe_psql('a', $append);
poll('a', $status, 'running lag 0', 'a: folded by its projection worker');
poll('a', q{SELECT evlog.projection_worker_pid('tally') IS NOT NULL}, 't', 'a: the projection worker runs');

# b's projection finds no slot: its database's worker folds it, and says so
$node->safe_psql('b', $append);
poll('b', $status, 'database worker (max_worker_processes) lag 0',
	'b: folded by the database worker, for want of a slot');

# database c: no slot for its worker, so nothing folds it; the view says so
$node->safe_psql('postgres', 'CREATE DATABASE c');
my $c_oid = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'c'});
$node->safe_psql('c', 'CREATE EXTENSION evlog');
$node->safe_psql('c', $projection);
$node->safe_psql('c', $append);
poll('c', $status, 'no worker (max_worker_processes) lag 50', 'c: no worker, and the view says why');

my $message = qr/evlog launcher could not start a worker for database $c_oid: no background worker slot is free/;
ok(poll_until($node, 'postgres', q{SELECT 1}, '1') && slurp_file($node->logfile) =~ $message,
	'the server log says that database c has no worker');
like(slurp_file($node->logfile), qr/All max_worker_processes \(4\) slots are taken/,
	'the server log names max_worker_processes');

# the episode lasts several retries (one a second) and is logged once
my $since = $node->safe_psql('c', 'SELECT clock_timestamp()');
poll('c', "SELECT clock_timestamp() > '$since'::timestamptz + interval '3 seconds'", 't', 'three retries later');
is($node->safe_psql('c', $status), 'no worker (max_worker_processes) lag 50', 'c: still no worker');
my @lines = (slurp_file($node->logfile) =~ /$message/g);
is(scalar(@lines), 1, 'logged once per episode, not at every retry');

# a slot frees up (a's projection is paused: its worker leaves); the
# launcher starts c's worker within seconds, without waiting for its naptime
$node->safe_psql('a', q{SELECT evlog_pause('tally')});
poll('c', q{SELECT lag_events FROM evlog.projection_status WHERE name = 'tally'}, '0',
	'c: its worker started once a slot freed up, and folded the projection');
isnt($node->safe_psql('c', $status), 'no worker (max_worker_processes) lag 0', 'c: the view no longer says no worker');
is($node->safe_psql('c', q{SELECT evlog.no_worker_slot(NULL)}), 'f', 'c: the episode is over');
is($node->safe_psql('c', q{SELECT sum(n) FROM tally}), '50', 'c: every event folded');
@lines = (slurp_file($node->logfile) =~ /$message/g);
is(scalar(@lines), 1, 'still logged once');

$node->stop;
done_testing();

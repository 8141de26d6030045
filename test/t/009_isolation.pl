# Isolation of projections (README, "The worker"): each async projection
# is folded by a projection worker of its own, so that one whose handler
# hangs holds up neither the other projections nor appends; a projection's
# worker leaves when it is paused, unregistered, made sync or idle, and with
# DROP DATABASE; when max_worker_processes has no free slot, the database's
# worker folds the projection itself and says so in the server log.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

# a started node with evlog preloaded, the workers' naptimes and the given
# settings (each test creates its databases and the extension in them)
sub new_node
{
	my ($name, $conf) = @_;
	return evlog_node($name, extension => 0, conf => qq{
evlog.launcher_naptime = 1
evlog.worker_naptime = '60s'
$conf});
}

my $node = new_node('isolation', "max_worker_processes = 16\nevlog.batch_size = 100\n");

# poll QUERY in DB until it returns EXPECTED, within 180 s
sub poll
{
	my ($db, $query, $expected, $name) = @_;
	ok(poll_until($node, $db, $query, $expected), $name);
}

# the projection workers of a database, by the projection they fold
my $workers = q{SELECT coalesce(string_agg(query, ',' ORDER BY query), '') FROM pg_stat_activity
                WHERE backend_type = 'evlog projection worker' AND datname = current_database()};

# 'slow' hangs on an event with a "hang" key as long as hold.on is true;
# 'fast' counts events
my $setup = q{
  CREATE EXTENSION evlog;
  CREATE TABLE hold (on_ boolean NOT NULL);
  INSERT INTO hold VALUES (false);
  GRANT SELECT ON hold TO PUBLIC;
  CREATE TABLE slow_seen (seq bigint PRIMARY KEY);
  CREATE TABLE fast_seen (seq bigint PRIMARY KEY);
  CREATE FUNCTION slow_fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    IF e.payload ? 'hang' THEN
      WHILE (SELECT on_ FROM public.hold) LOOP PERFORM pg_sleep(0.05); END LOOP;
    END IF;
    INSERT INTO public.slow_seen VALUES (e.seq);
  END $$;
  CREATE FUNCTION fast_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO public.fast_seen VALUES (e.seq) $$;
  SELECT evlog_register_projection('fast', 'fast_fold(evlog.events)', '{fast_seen}');
  SELECT evlog_register_projection('slow', 'slow_fold(evlog.events)', '{slow_seen}');
};
$node->safe_psql('postgres', 'CREATE DATABASE one');
$node->safe_psql('one', $setup);

# an append gives each projection a worker of its own
$node->safe_psql('one', q{SELECT evlog_append('s', 'x.y', '{}')});
poll('one', $workers, 'fast,slow', 'each async projection has a projection worker');
poll('one', q{SELECT string_agg(checkpoint::text, ',' ORDER BY name) FROM evlog.projections}, '1,1', 'both fold');
poll('one', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog projection worker'
               AND application_name = 'evlog projection worker' AND wait_event = 'Extension'},
	'2', 'the projection workers show their name and wait on an Extension wait event');
is($node->safe_psql('one', q{SELECT string_agg(name || ':' || (worker_pid = evlog.projection_worker_pid(name)
                                 AND worker_pid = (SELECT pid FROM pg_stat_activity WHERE query = name
                                                   AND backend_type = 'evlog projection worker')), ',' ORDER BY name)
                               FROM evlog.projection_status}),
	'fast:true,slow:true', "projection_status.worker_pid is the projection's worker");
my $dispatcher = $node->safe_psql('one', q{SELECT evlog.worker_pid()});
is($node->safe_psql('one', qq{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog worker' AND pid = $dispatcher}),
	'1', 'evlog.worker_pid() is the database worker, which folds nothing itself');

# 'slow' hangs on an event: 'fast' goes on, and so do appends
$node->safe_psql('one', q{UPDATE hold SET on_ = true});
my $hang = $node->safe_psql('one', q{SELECT evlog_append('s', 'x.y', '{"hang": true}')});
poll('one', q{SELECT wait_event FROM pg_stat_activity WHERE backend_type = 'evlog projection worker' AND query = 'slow'},
	'PgSleep', "slow's handler hangs");
my $slowest = 0;
my $t0 = time;
for my $i (1 .. 20)
{
	my $t = time;
	$node->safe_psql('one', qq{SELECT evlog_append('s', 'x.y', '{"i": $i}')});
	$slowest = time - $t if time - $t > $slowest;
}
cmp_ok($slowest, '<', 5, 'appends return while a handler hangs');
$node->safe_psql('one', q{SELECT count(evlog_append('t-' || i, 'x.y', '{}')) FROM generate_series(1, 1000) i});
my $head = $node->safe_psql('one', q{SELECT evlog_head()});
poll('one', qq{SELECT checkpoint FROM evlog.projections WHERE name = 'fast'}, $head, "'fast' reaches the head");
my $caught_up = time - $t0;
cmp_ok($caught_up, '<', 20, "in bounded time (10 batches), not after the hung handler");
note(sprintf("'fast' folded 1020 events in %.2f s while 'slow' hung", $caught_up));
is($node->safe_psql('one', q{SELECT checkpoint FROM evlog.projections WHERE name = 'slow'}), $hang - 1,
	"'slow' is still stuck before the hanging event");
is($node->safe_psql('one', q{SELECT wait_event FROM pg_stat_activity WHERE backend_type = 'evlog projection worker' AND query = 'slow'}),
	'PgSleep', 'still in its handler');
is($node->safe_psql('one', q{SELECT count(*) FROM fast_seen}), $head, "'fast' saw every event once");

# the hang ends: 'slow' catches up
$node->safe_psql('one', q{UPDATE hold SET on_ = false});
poll('one', qq{SELECT checkpoint FROM evlog.projections WHERE name = 'slow'}, $head, "'slow' reaches the head after its hang");
is($node->safe_psql('one', q{SELECT count(*) FROM slow_seen}), $head, "'slow' saw every event once");

# paused, unregistered, made sync: the projection's worker leaves
$node->safe_psql('one', q{SELECT evlog_pause('fast')});
poll('one', $workers, 'slow', "pausing 'fast' ends its worker");
$node->safe_psql('one', q{SELECT evlog_append('s', 'x.y', '{}')});
$head = $node->safe_psql('one', q{SELECT evlog_head()});
poll('one', qq{SELECT checkpoint FROM evlog.projections WHERE name = 'slow'}, $head, "'slow' folds on");
is($node->safe_psql('one', $workers), 'slow', "no worker for the paused 'fast'");
$node->safe_psql('one', q{SELECT evlog_resume('fast')});
poll('one', qq{SELECT checkpoint FROM evlog.projections WHERE name = 'fast'}, $head, "resumed, 'fast' catches up");
poll('one', $workers, 'fast,slow', 'with a worker of its own again');
$node->safe_psql('one', q{SELECT evlog_alter_projection('fast', mode => 'sync')});
poll('one', $workers, 'slow', "made sync, 'fast' has no worker");
$node->safe_psql('one', q{SELECT evlog_unregister_projection('slow')});
poll('one', $workers, '', "unregistering 'slow' ends its worker");
$node->safe_psql('one', q{SELECT evlog_alter_projection('fast', mode => 'async')});

# a worker that no commit wakes leaves; the next append brings one back
$node->safe_psql('postgres', q{ALTER SYSTEM SET evlog.projection_worker_idle_timeout = '1s'});
$node->reload;
$node->safe_psql('one', q{SELECT evlog_append('s', 'x.y', '{}')});
$head = $node->safe_psql('one', q{SELECT evlog_head()});
poll('one', qq{SELECT checkpoint FROM evlog.projections WHERE name = 'fast'}, $head, "'fast' folds");
poll('one', $workers, '', 'an idle projection worker leaves');
$node->safe_psql('one', q{SELECT evlog_append('s', 'x.y', '{}')});
$head = $node->safe_psql('one', q{SELECT evlog_head()});
poll('one', qq{SELECT checkpoint FROM evlog.projections WHERE name = 'fast'}, $head, 'the next append is folded by a new worker');
$node->safe_psql('postgres', q{ALTER SYSTEM RESET evlog.projection_worker_idle_timeout});
$node->reload;

# DROP DATABASE is not blocked by a projection worker
$node->safe_psql('postgres', 'CREATE DATABASE two');
$node->safe_psql('two', $setup);
$node->safe_psql('two', q{SELECT evlog_append('s', 'x.y', '{}')});
poll('two', $workers, 'fast,slow', 'projection workers run in a second database');
$t0 = time;
$node->safe_psql('postgres', 'DROP DATABASE two');
cmp_ok(time - $t0, '<', 30, 'DROP DATABASE went through while projection workers were connected');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'evlog%worker' AND datname = 'two'}),
	'0', 'they are gone');
$node->stop;

# max_worker_processes too small: the logical replication launcher, evlog's
# launcher, the database's worker and one projection worker fit; the database's worker folds the other projection
# itself and says so in the server log
my $small = new_node('small', "max_worker_processes = 4\nmax_parallel_workers_per_gather = 0\n");
$small->safe_psql('postgres', $setup);
my $log_offset = -s $small->logfile;
$small->safe_psql('postgres', q{SELECT count(evlog_append('s', 'x.y', '{}')) FROM generate_series(1, 300)});
ok(poll_until($small, 'postgres', q{SELECT string_agg(checkpoint::text, ',' ORDER BY name) FROM evlog.projections}, '300,300'),
	'with one projection worker for two projections, both fold');
is($small->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog projection worker'}),
	'1', 'one projection worker runs');
ok($small->wait_for_log(qr/projection "(fast|slow)" gets no worker of its own.*\n.*max_worker_processes = 4/, $log_offset),
	'the log says the database worker folds it, naming max_worker_processes');
$small->stop;

# evlog.max_projection_workers = 0: the database's worker folds every projection
my $single = new_node('single', "evlog.max_projection_workers = 0\n");
$single->safe_psql('postgres', $setup);
$single->safe_psql('postgres', q{SELECT count(evlog_append('s', 'x.y', '{}')) FROM generate_series(1, 300)});
ok(poll_until($single, 'postgres', q{SELECT string_agg(checkpoint::text, ',' ORDER BY name) FROM evlog.projections}, '300,300'),
	'evlog.max_projection_workers = 0: both fold');
is($single->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog projection worker'}),
	'0', 'without projection workers');
is($single->safe_psql('postgres', q{SELECT count(*) FROM evlog.projection_status WHERE worker_pid = evlog.worker_pid()}),
	'2', "projection_status.worker_pid is the database's worker");
$single->stop;

done_testing();

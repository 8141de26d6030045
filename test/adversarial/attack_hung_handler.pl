# Attack class 5: one owner's hung handler stalls everyone (P9).
#
# mallory's async handler runs pg_sleep(3600) on an event whose payload has
# the key "hang". (a) Another owner's async projection in the same database
# still reaches the head within 20 s while mallory's handler hangs. (b) With
# timeout => interval '2 seconds' (evlog_register_projection and
# evlog_alter_projection; default 1 minute) the call is cancelled after
# about 2 s and treated as a handler error: under on_error 'stop' the
# projection fails at that event with an error saying "timed out"; under
# 'skip' the event becomes a dead letter saying so and folding goes on.
# (c) evlog_pause by mallory while her handler hangs does not hold appends
# off: another session's append completes within 2 s. Each database's log
# stays whole.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogAdversary qw(adversary_node grant_execute_sql log_is_whole);
use Time::HiRes qw(time usleep);

my $node = adversary_node('hung', qq{
evlog.launcher_naptime = 1
evlog.worker_naptime = '60s'
});
$node->safe_psql('postgres', q{
  CREATE ROLE alice LOGIN;
});

# setup_db(DB): evlog, grants, mallory's hanging handler and alice's tally
sub setup_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, q{
	  CREATE EXTENSION evlog;
	  GRANT SELECT ON evlog.events TO mallory, alice;
	  } . grant_execute_sql([qw(evlog_append evlog_register_projection evlog_alter_projection)], 'mallory, alice') . q{
	  CREATE SCHEMA attacker AUTHORIZATION mallory;
	  CREATE SCHEMA alice AUTHORIZATION alice;
	});
	$node->safe_psql($db, q{
	  CREATE TABLE attacker.seen (seq bigint NOT NULL);
	  CREATE FUNCTION attacker.hang(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
	  BEGIN
	    IF e.payload ? 'hang' THEN PERFORM pg_catalog.pg_sleep(3600); END IF;
	    INSERT INTO attacker.seen VALUES (e.seq);
	  END $$;
	}, extra_params => [ '-U', 'mallory' ]);
	$node->safe_psql($db, q{
	  CREATE TABLE alice.tally (seq bigint NOT NULL);
	  CREATE FUNCTION alice.fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
	  BEGIN INSERT INTO alice.tally VALUES (e.seq); END $$;
	}, extra_params => [ '-U', 'alice' ]);
}

# poll_within(DB, QUERY, EXPECTED, SECONDS): 1 once QUERY returns EXPECTED, 0 after SECONDS
sub poll_within
{
	my ($db, $query, $expected, $seconds) = @_;
	my $deadline = time + $seconds;
	while (time < $deadline)
	{
		my ($rc, $out) = $node->psql($db, $query);
		return 1 if $rc == 0 && $out eq $expected;
		usleep(100_000);
	}
	return 0;
}

# hanging(DB): wait (bounded) until a backend of DB sleeps in mallory's handler
sub hanging
{
	my ($db, $name) = @_;
	ok($node->poll_query_until($db,
		qq{SELECT count(*) > 0 FROM pg_stat_activity WHERE datname = '$db' AND wait_event = 'PgSleep'}),
		"$name: mallory's handler hangs");
}

# ---------------------------------------------------------------------------
# (a) another owner's projection goes on while mallory's handler hangs
setup_db('iso');
$node->safe_psql('iso', q{SELECT evlog_register_projection('mallory_hung', 'attacker.hang(evlog.events)', '{attacker.seen}')},
	extra_params => [ '-U', 'mallory' ]);
$node->safe_psql('iso', q{SELECT evlog_register_projection('alice_tally', 'alice.fold(evlog.events)', '{alice.tally}')},
	extra_params => [ '-U', 'alice' ]);
$node->safe_psql('iso', q{SELECT evlog_append('h', 'x.y', '{"hang": true}')});
hanging('iso', '(a)');
my $t0 = time;
my $head = $node->safe_psql('iso', q{SELECT max(evlog_append('s', 'x.y', '{}')) FROM generate_series(1, 5)});
ok(poll_within('iso', q{SELECT checkpoint FROM evlog.projections WHERE name = 'alice_tally'}, $head, 20),
	"(a) alice's async projection reaches the head within 20 s while mallory's handler hangs");
note(sprintf('(a) alice\'s projection: %.1f s to the head', time - $t0));
is($node->safe_psql('iso', q{SELECT string_agg(seq::text, ',' ORDER BY seq) FROM alice.tally}), '1,2,3,4,5,6',
	"(a) alice's projection folded every event");
log_is_whole($node, 'iso', '(a)');

# ---------------------------------------------------------------------------
# (b) a per-projection timeout
setup_db('tmo');
like($node->safe_psql('tmo', q{SELECT string_agg(pg_get_function_arguments(oid), ' / ') FROM pg_proc WHERE proname = 'evlog_register_projection'}),
	qr/timeout interval DEFAULT '00:01:00'::interval/,
	'(b) evlog_register_projection has timeout interval, default 1 minute');
like($node->safe_psql('tmo', q{SELECT string_agg(pg_get_function_arguments(oid), ' / ') FROM pg_proc WHERE proname = 'evlog_alter_projection'}),
	qr/timeout interval/, '(b) evlog_alter_projection has timeout interval');
my ($rc, $out, $err) = $node->psql('tmo',
	q{SELECT evlog_register_projection('mallory_slow', 'attacker.hang(evlog.events)', '{attacker.seen}',
	                                   on_error => 'stop', timeout => interval '2 seconds')},
	extra_params => [ '-U', 'mallory' ]);
my @dependent = (
	"(b) on_error 'stop': the projection fails at the hanging event",
	"(b) on_error 'stop': not before the timeout",
	"(b) on_error 'stop': last_error says the handler timed out",
	"(b) evlog_alter_projection(timeout =>, on_error => 'skip') and evlog_resume succeed",
	"(b) on_error 'skip': folding goes on to the head",
	"(b) on_error 'skip': the hanging event is a dead letter saying it timed out",
	"(b) on_error 'skip': the events after it were folded");
if (!is($rc, 0, "(b) mallory registers a projection with timeout => interval '2 seconds'"))
{
	diag($err);
	fail($_) for @dependent;
}
else
{
	$t0 = time;
	my $hang = $node->safe_psql('tmo', q{SELECT evlog_append('h', 'x.y', '{"hang": true}')});
	my $after = $node->safe_psql('tmo', q{SELECT evlog_append('s', 'x.y', '{}')});
	ok(poll_within('tmo', q{SELECT state || ' ' || last_error_seq FROM evlog.projections WHERE name = 'mallory_slow'},
		"failed $hang", 20), $dependent[0]);
	cmp_ok(time - $t0, '>=', 1.5, $dependent[1]);
	like($node->safe_psql('tmo', q{SELECT last_error FROM evlog.projections WHERE name = 'mallory_slow'}),
		qr/timed out/, $dependent[2]);
	($rc, $out, $err) = $node->psql('tmo', q{
	  SELECT evlog_alter_projection('mallory_slow', on_error => 'skip', timeout => interval '2 seconds');
	  SELECT evlog_resume('mallory_slow');
	}, extra_params => [ '-U', 'mallory' ]);
	is($rc, 0, $dependent[3]) or diag($err);
	ok(poll_within('tmo', q{SELECT checkpoint FROM evlog.projections WHERE name = 'mallory_slow'}, $after, 20),
		$dependent[4]);
	like($node->safe_psql('tmo', qq{SELECT seq || ' ' || error FROM evlog.dead_letters WHERE projection = 'mallory_slow'}),
		qr/^$hang .*timed out/, $dependent[5]);
	is($node->safe_psql('tmo', q{SELECT string_agg(seq::text, ',' ORDER BY seq) FROM attacker.seen}), $after, $dependent[6]);
}
log_is_whole($node, 'tmo', '(b)');

# ---------------------------------------------------------------------------
# (c) pausing the hung projection does not hold appends off
setup_db('pau');
$node->safe_psql('pau', q{SELECT evlog_register_projection('mallory_hung', 'attacker.hang(evlog.events)', '{attacker.seen}')},
	extra_params => [ '-U', 'mallory' ]);
$node->safe_psql('pau', q{SELECT evlog_append('h', 'x.y', '{"hang": true}')});
hanging('pau', '(c)');
my $pauser = $node->background_psql('pau', extra_params => [ '-U', 'mallory' ], on_error_stop => 0);
my $pause_pid = $pauser->query_safe('SELECT pg_backend_pid()');
$pauser->{stdin} .= "SELECT evlog_pause('mallory_hung');\n";
$pauser->{run}->pump_nb;
ok(poll_within('pau', qq{SELECT state = 'idle' OR wait_event_type IS NOT NULL FROM pg_stat_activity WHERE pid = $pause_pid}, 't', 10),
	'(c) evlog_pause by mallory is waiting (or done)');
$t0 = time;
($rc, $out, $err) = $node->psql('pau', q{SET statement_timeout = '5s'; SELECT evlog_append('s', 'x.y', '{}')},
	extra_params => [ '-U', 'alice' ]);
my $took = time - $t0;
is($rc, 0, '(c) an append by alice completes while the pause waits') or diag($err);
cmp_ok($took, '<', 2, '(c) within 2 s');
note(sprintf('(c) the append took %.2f s', $took));
$node->safe_psql('pau', "SELECT pg_cancel_backend($pause_pid)");
ok(poll_within('pau', qq{SELECT state FROM pg_stat_activity WHERE pid = $pause_pid}, 'idle', 10),
	'(c) the pause is over (done or cancelled)');
$pauser->quit;
log_is_whole($node, 'pau', '(c)');

$node->stop;
done_testing();

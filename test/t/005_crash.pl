# Crashes under load (issue 7): 8 clients append (half of them with
# evlog.group_commit on), each logging every append the server acknowledged,
# while an async projection folds; a client backend and the worker are
# killed with SIGKILL and the postmaster is stopped with -m immediate.
# After each restart: every acknowledged append is present exactly once with
# the seq it was given, G1, G3, G6, G7 hold, checkpoints are at most the
# head, and after catch-up evlog_verify finds no drift.
# EVLOG_CRASH_CYCLES=N runs N cycles (default 3).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

my $cycles = $ENV{EVLOG_CRASH_CYCLES} // 3;
my $clients = 8;
my $per_client = 3000;

my $node = evlog_node('crash', conf => qq{
restart_after_crash = on
max_connections = 40
});
$node->safe_psql('postgres', q{
  CREATE TABLE tally (stream text PRIMARY KEY, n int NOT NULL, last_seq bigint NOT NULL);
  CREATE FUNCTION tally_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO tally VALUES (e.stream, 1, e.seq)
    ON CONFLICT (stream) DO UPDATE SET n = tally.n + 1, last_seq = excluded.last_seq $$;
  SELECT evlog_register_projection('tally', 'tally_fold(evlog.events)', '{tally}');
});

my %acked;    # key => seq, over all cycles
for my $cycle (1 .. $cycles)
{
	# each client runs a psql script of appends and echoes each acknowledged one
	my @runs;
	for my $c (1 .. $clients)
	{
		my $script = $node->basedir . "/client_${cycle}_$c.sql";
		open my $fh, '>', $script or die $!;
		# even clients flush after releasing the sequencer (evlog.group_commit)
		print $fh "SET evlog.group_commit = on;\n" if $c % 2 == 0;
		for my $i (1 .. $per_client)
		{
			my $key = "k$cycle-$c-$i";
			print $fh "SELECT evlog_append('s-" . ($i % 37) . "', 'load.appended', '{\"c\": $c, \"i\": $i}', '{}', '$key') AS seq \\gset\n";
			print $fh "\\echo ACK $key :seq\n";
		}
		close $fh;
		my $out = '';
		my $err = '';
		push @runs, [ IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'), '-f', $script ],
			'>', \$out, '2>', \$err), \$out ];
	}
	poll_until($node, 'postgres', 'SELECT evlog_head() > ' . (200 + scalar(keys %acked)), 't');

	# SIGKILL a client's backend: the postmaster restarts every process
	my $victim = $node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE query LIKE '%evlog_append%' AND pid <> pg_backend_pid() LIMIT 1});
	kill 'KILL', $victim if $victim;
	ok(poll_until($node, 'postgres', 'SELECT 1', '1'), "cycle $cycle: the server is back after SIGKILL of a backend");
	ok(poll_until($node, 'postgres', 'SELECT evlog.worker_pid() IS NOT NULL', 't'), "cycle $cycle: the worker is back");

	# the worker too, then the postmaster with -m immediate
	my $worker = $node->safe_psql('postgres', 'SELECT evlog.worker_pid()');
	kill 'KILL', $worker;
	poll_until($node, 'postgres', 'SELECT 1', '1');
	$node->stop('immediate');
	$node->start;
	for my $run (@runs)
	{
		my ($h, $out) = @$run;
		eval { $h->finish };
		$acked{$1} = $2 while $$out =~ /^ACK (\S+) (\d+)$/mg;
	}

	my $lost = $node->safe_psql('postgres', 'SELECT count(*) FROM (VALUES ' .
		join(', ', map { "('$_', $acked{$_})" } sort keys %acked) .
		q{) a(key, seq) WHERE NOT EXISTS (SELECT FROM evlog.events e WHERE e.idempotency_key = a.key AND e.seq = a.seq)});
	is($lost, '0', "cycle $cycle: all " . scalar(keys %acked) . ' acknowledged appends are present, with their seq');
	is($node->safe_psql('postgres', q{SELECT count(*) - count(DISTINCT idempotency_key) FROM evlog.events}), '0',
		"cycle $cycle: no append is there twice");
	is($node->safe_psql('postgres', q{
	  SELECT (count(*) = max(seq))::text
	         || (SELECT count(*) FROM (SELECT stream_version <> row_number() OVER (PARTITION BY stream ORDER BY seq) AS bad
	                                   FROM evlog.events) v WHERE bad)
	         || (SELECT count(*) FROM (SELECT recorded_at < lag(recorded_at) OVER (ORDER BY seq) AS back FROM evlog.events) r WHERE back)
	         || (SELECT coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain())
	  FROM evlog.events}), 'true00intact', "cycle $cycle: G1, G3, G6 and G7 hold");
	is($node->safe_psql('postgres', q{SELECT bool_and(checkpoint <= evlog_head()) FROM evlog.projections}), 't',
		"cycle $cycle: checkpoints are at most the head");
	ok(poll_until($node, 'postgres', q{SELECT lag_events FROM evlog.projection_status}, '0'),
		"cycle $cycle: the projection catches up");
	is($node->safe_psql('postgres', q{SELECT count(*) FROM evlog_verify('tally')}), '0', "cycle $cycle: no drift");
}
note('acknowledged appends over all cycles: ' . scalar(keys %acked));

$node->stop;
done_testing();

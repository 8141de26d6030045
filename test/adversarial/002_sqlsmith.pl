# A bounded fuzz run (README "Adversarial tests"): Debian's sqlsmith sends
# random queries, with a fixed seed, as mallory (CONNECT, SELECT on
# evlog.events, nothing else) to a database with evlog, events, a sync and an
# async projection, event types and an upcaster.  Pass: sqlsmith ran, no
# server process crashed (the server log says none was terminated), and the
# log is whole afterwards.  A control first kills a backend with SIGKILL and
# checks that the crash check sees it.
#
# The run stops after EVLOG_SQLSMITH_QUERIES queries (default 4000) or
# EVLOG_SQLSMITH_SECONDS seconds (default 80), whichever comes first; each
# query is cancelled after 1 s.  sqlsmith's output stays in the node's
# directory; on a failure the test prints its error summary and the query a
# crashed process was running, which it also saves as
# sqlsmith_failing_query.sql beside the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);
use FindBin;
use lib $FindBin::Bin;
use EvlogAdversary;

my $queries = $ENV{EVLOG_SQLSMITH_QUERIES} // 4000;
my $seconds = $ENV{EVLOG_SQLSMITH_SECONDS} // 80;
my ($sqlsmith) = grep { -x } map { "$_/sqlsmith" } split /:/, $ENV{PATH};
$sqlsmith or BAIL_OUT('sqlsmith is not installed (make deps installs it)');

# statements and errors are sqlsmith's daily bread: keep them out of the
# server log, which still gets every crash (LOG) and the query the crashed
# process was running
my $node = adversary_node('sqlsmith', q{
log_statement = none
log_min_messages = log
log_min_error_statement = panic
});
adversary_db($node, 'fuzz');
$node->safe_psql('fuzz', "GRANT SELECT ON evlog.events TO $EvlogAdversary::MALLORY");
my $head = $node->safe_psql('fuzz', 'SELECT evlog_head()');

# control: a backend that dies by a signal is seen, so the check can fail
my $victim = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('fuzz'), '-U', $EvlogAdversary::MALLORY,
	  '-c', "SELECT pg_sleep($PostgreSQL::Test::Utils::timeout_default) AS victim" ],
	'>', \my $victim_out, '2>', \my $victim_err);
ok(poll_until($node, 'fuzz', q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%AS victim' AND pid <> pg_backend_pid()}, '1'),
	'control: the victim backend runs');
my $pid = $node->safe_psql('fuzz', q{SELECT pid FROM pg_stat_activity WHERE query LIKE '%AS victim' AND pid <> pg_backend_pid()});
my $control = crash_watch($node);
kill 'KILL', $pid;
my $seen = 0;
for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default)
{
	last if ($seen = () = crashes_since($node, $control));
	usleep(100_000);
}
ok($seen, 'control: a backend killed by SIGKILL is seen as a crash');
$victim->finish;
wait_accepting($node) or BAIL_OUT('the server did not come back after the control');

my $watch = crash_watch($node);

my $conninfo = sprintf("host=%s port=%d dbname=fuzz user=%s options='-c statement_timeout=1s'",
	$node->host, $node->port, $EvlogAdversary::MALLORY);
my ($out, $err) = ($node->basedir . '/sqlsmith.out', $node->basedir . '/sqlsmith.err');
my @cmd = ($sqlsmith, "--target=$conninfo", '--seed=1', "--max-queries=$queries",
	'--exclude-catalog', '--verbose');
my $started = time;
my $exit_ok;
my $finished = eval {
	$exit_ok = IPC::Run::run(\@cmd, '<', \undef, '>', $out, '2>', $err, IPC::Run::timeout($seconds));
	1;
};
my $elapsed = time - $started;

# sqlsmith's progress line holds one character per query sent
my $progress = join '', grep { /^[.eStC]+$/ } split /\n/, slurp_file($err);
my $sent = length $progress;
note(sprintf('sqlsmith: %d queries in %.0f s (%s)', $sent, $elapsed,
	!$finished ? "stopped at the $seconds s bound" : $exit_ok ? 'all of them' : 'it failed'));
ok($sent >= 500, "sqlsmith ran ($sent queries)")
  or diag(slurp_file($err));

my $ok = no_crash_since($node, $watch, 'sqlsmith as mallory');
if (!$ok)
{
	my $log = slurp_file($node->logfile, $watch->{offset});
	my @failing = $log =~ /Failed process was running: (.*)$/mg;
	open my $fh, '>', "$PostgreSQL::Test::Utils::log_path/sqlsmith_failing_query.sql" or die $!;
	print $fh map { "$_;\n" } @failing;
	close $fh;
	my $summary = slurp_file($err);
	$summary =~ s/^[.eStC]+\n//mg;
	diag("sqlsmith: $summary");
}
log_is_whole($node, 'fuzz', 'after sqlsmith');
is($node->safe_psql('fuzz', 'SELECT evlog_head()'), $head, 'mallory appended nothing');

$node->stop;
done_testing();

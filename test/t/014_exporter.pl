# Prometheus (README "Statistics and monitoring"): the real
# prometheus-postgres-exporter, run with monitoring/postgres_exporter.yaml
# against a test instance on 127.0.0.1, serves evlog's metrics with their
# labels and the values of a known workload.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use HTTP::Tiny;
use IO::Socket::INET;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

my $exporter = '/usr/bin/prometheus-postgres-exporter';
plan skip_all => "$exporter is not installed" unless -x $exporter;
my $queries = ($ENV{EVLOG_SRC} // "$FindBin::Bin/../..") . '/monitoring/postgres_exporter.yaml';

my $node = evlog_node('exporter', db => 'mon', conf => qq{
listen_addresses = '127.0.0.1'
});

# the known workload, in database mon
$node->safe_psql('mon', q{
  CREATE TABLE seen (seq bigint PRIMARY KEY);
  CREATE FUNCTION fold_seen(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    IF e.payload ? 'fail' THEN RAISE EXCEPTION 'refused %', e.seq; END IF;
    INSERT INTO seen VALUES (e.seq) ON CONFLICT DO NOTHING;
  END $$;
  SELECT evlog_register_projection('skipper', 'fold_seen(evlog.events)', '{seen}', on_error => 'skip');
  SELECT evlog_register_projection('behind', 'fold_seen(evlog.events)', '{}');
  SELECT evlog_pause('behind');
  SELECT evlog_stats_reset();
});
$node->safe_psql('mon', q{SELECT evlog_append('s-' || i, 'thing.made', CASE WHEN i IN (2, 4) THEN '{"fail": 1}' ELSE '{}' END::jsonb, idempotency_key => 'k-' || i) FROM generate_series(1, 6) i});
$node->safe_psql('mon', q{SELECT evlog_append('s-1', 'thing.made', '{}', idempotency_key => 'k-1')});
$node->psql('mon', q{SELECT evlog_append('s-1', 'thing.made', '{}', expected_version => 9)});

# a wait for the sequencer: one session holds it while another appends
my $holder = $node->background_psql('mon');
$holder->query_safe(q{BEGIN; SELECT evlog_append('s-9', 'thing.made', '{}')});
my $waiter = $node->background_psql('mon');
$waiter->query_until(qr/waiting/, q{\echo waiting
SELECT evlog_append('s-9', 'thing.made', '{}');
});
ok(poll_until($node, 'mon', q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 25974 AND NOT granted}, '1'),
	'an appender waits for the sequencer');
$holder->query_safe('COMMIT');
$holder->quit;
$waiter->quit;
ok(poll_until($node, 'mon', q{SELECT checkpoint FROM evlog.projections WHERE name = 'skipper'}, '8'),
	'the worker folded the log');
ok(poll_until($node, 'mon', q{SELECT folds || '/' || dead_letters FROM evlog.stats}, '6/2'),
	'the worker counted its folds and dead letters');
my $wait_ms = $node->safe_psql('mon', 'SELECT sequencer_wait_ms FROM evlog.stats');
cmp_ok($wait_ms, '>', 0, 'evlog.stats counted the wait');

# consumer groups: a group that starts at the beginning of the log and has
# committed nothing lags by the head
$node->safe_psql('mon', q{SELECT evlog_create_consumer_group('billing', start_after => 0)});

# the exporter, on a free port of 127.0.0.1
my $port;
for (1 .. 50)
{
	my $try = 20000 + int(rand(20000));
	my $sock = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $try, Proto => 'tcp', ReuseAddr => 0);
	if ($sock) { close($sock); $port = $try; last; }
}
ok(defined $port, 'a free port');
my $dsn = sprintf('postgresql://%s@127.0.0.1:%d/mon?sslmode=disable', 'postgres', $node->port);
my $log = $node->basedir . '/exporter.log';
my $pid = fork();
die "fork: $!" unless defined $pid;
if ($pid == 0)
{
	$ENV{DATA_SOURCE_NAME} = $dsn;
	open(STDOUT, '>>', $log);
	open(STDERR, '>>', $log);
	exec($exporter, "--web.listen-address=127.0.0.1:$port", "--extend.query-path=$queries",
		'--disable-default-metrics', '--disable-settings-metrics', '--log.level=warn')
	  or die "exec: $!";
}

my $http = HTTP::Tiny->new(timeout => 10);
my $body = '';
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
while (time < $deadline)
{
	my $res = $http->get("http://127.0.0.1:$port/metrics");
	if ($res->{success} && $res->{content} =~ /^evlog_head/m)
	{
		$body = $res->{content};
		last;
	}
	usleep(200_000);
}
kill 'TERM', $pid;
waitpid($pid, 0);
ok($body ne '', 'the exporter serves /metrics') or diag(slurp_file($log));

# value(NAME, LABELS): the sample of metric NAME whose labels are exactly
# LABELS (a hash), or undef
sub value
{
	my ($name, $labels) = @_;
	for my $line (split /\n/, $body)
	{
		next unless $line =~ /^(\w+)\{([^}]*)\} (\S+)$/ && $1 eq $name;
		my ($l, $v) = ($2, $3);
		my %got = $l =~ /(\w+)="([^"]*)"/g;
		delete $got{server};
		next unless join(',', map { "$_=$got{$_}" } sort keys %got) eq
		  join(',', map { "$_=$labels->{$_}" } sort keys %$labels);
		return $v;
	}
	return undef;
}

my %db = (datname => 'mon');
is(value('evlog_head', \%db), '8', 'evlog_head');
is(value('evlog_appends_total', \%db), '8', 'evlog_appends_total');
is(value('evlog_retries_total', \%db), '1', 'evlog_retries_total');
is(value('evlog_version_conflicts_total', \%db), '1', 'evlog_version_conflicts_total');
is(value('evlog_folds_total', \%db), '6', 'evlog_folds_total');
is(value('evlog_dead_letters_total', \%db), '2', 'evlog_dead_letters_total');
my $wait = value('evlog_sequencer_wait_seconds_total', \%db);
ok(defined $wait && abs($wait - $wait_ms / 1000) < 1e-9, "evlog_sequencer_wait_seconds_total is the wait in seconds ($wait)");
like($body, qr/^# TYPE evlog_appends_total counter$/m, 'evlog_appends_total is a counter');
is(value('evlog_projection_lag_events', { %db, projection => 'skipper' }), '0', 'evlog_projection_lag_events of a caught-up projection');
is(value('evlog_projection_lag_events', { %db, projection => 'behind' }), '8', 'evlog_projection_lag_events of a paused projection');
is(value('evlog_projection_lag_seconds', { %db, projection => 'skipper' }), '0', 'evlog_projection_lag_seconds is 0 when caught up');
my $lag = value('evlog_projection_lag_seconds', { %db, projection => 'behind' });
ok(defined $lag && $lag > 0 && $lag < 600, "evlog_projection_lag_seconds of the paused projection ($lag)");
is(value('evlog_dead_letters', { %db, projection => 'skipper' }), '2', 'evlog_dead_letters of the skipping projection');
is(value('evlog_dead_letters', { %db, projection => 'behind' }), '0', 'evlog_dead_letters of the other');

is(value('evlog_consumer_group_lag_events', { %db, group_name => 'billing' }), '8',
	'evlog_consumer_group_lag_events of a group that has committed nothing');

$node->stop;
done_testing();

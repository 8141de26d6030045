# P7 under load: evlog_rebuild while the worker runs and appends continue
# from pgbench; afterwards lag returns to 0 and evlog_verify finds no drift,
# for an async and a sync projection.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;

my $node = evlog_node('main', db => 'app', conf => "max_connections = 30");
$node->safe_psql('app', q{
  CREATE TABLE acct (stream text PRIMARY KEY, n int NOT NULL, total bigint NOT NULL, last_seq bigint NOT NULL);
  CREATE TABLE acct_sync (LIKE acct INCLUDING ALL);
  CREATE FUNCTION fold_acct(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO acct VALUES (e.stream, 1, (e.payload->>'amount')::int, e.seq)
    ON CONFLICT (stream) DO UPDATE SET n = acct.n + 1, total = acct.total + excluded.total,
                                       last_seq = excluded.last_seq $$;
  CREATE FUNCTION fold_acct_sync(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO acct_sync VALUES (e.stream, 1, (e.payload->>'amount')::int, e.seq)
    ON CONFLICT (stream) DO UPDATE SET n = acct_sync.n + 1, total = acct_sync.total + excluded.total,
                                       last_seq = excluded.last_seq $$;
  SELECT count(evlog_append('acct-' || i % 50, 'money.moved', jsonb_build_object('amount', i % 97))) FROM generate_series(1, 20000) i;
  SELECT evlog_register_projection('acct', 'fold_acct(evlog.events)', '{acct}');
  SELECT evlog_register_projection('acct_sync', 'fold_acct_sync(evlog.events)', '{acct_sync}', mode => 'sync');
});
ok($node->poll_query_until('app', q{SELECT lag_events FROM evlog.projection_status WHERE name = 'acct'}, '0'),
	'the worker folded the log');

my $script = $node->basedir . '/append.pgbench';
open my $fh, '>', $script or die $!;
print $fh q{\set s random(1, 60)
SELECT evlog_append('acct-' || :s, 'money.moved', jsonb_build_object('amount', :s));
};
close $fh;

for my $name ('acct', 'acct_sync')
{
	my $head_before = $node->safe_psql('app', 'SELECT evlog_head()');
	my ($out, $err) = ('', '');
	my $bench = IPC::Run::start(
		[ 'pgbench', '-n', '-c', '4', '-j', '2', '-T', '4', '-f', $script, '-h', $node->host, '-p', $node->port, 'app' ],
		'>', \$out, '2>', \$err);
	# let the appends get going, then rebuild twice while they run
	$node->poll_query_until('app', "SELECT evlog_head() > $head_before + 200", 't');
	my $replayed = $node->safe_psql('app', "SELECT evlog_rebuild('$name')");
	cmp_ok($replayed, '>=', 20000, "$name: rebuild replayed the whole log while appends ran");
	$node->safe_psql('app', "SELECT evlog_rebuild('$name')");
	is($node->safe_psql('app', "SELECT count(*) FROM evlog_verify('$name')"), '0', "$name: evlog_verify while appends run");
	$bench->finish;
	is($?, 0, "$name: pgbench appended without errors during the rebuilds");
	like($out, qr/number of failed transactions: 0/, "$name: no append failed");
	cmp_ok($node->safe_psql('app', 'SELECT evlog_head()'), '>', $head_before + 200, "$name: appends went on");
	ok($node->poll_query_until('app', "SELECT lag_events FROM evlog.projection_status WHERE name = '$name'", '0'),
		"$name: lag returns to 0");
	is($node->safe_psql('app', "SELECT count(*) FROM evlog_verify('$name')"), '0', "$name: evlog_verify finds no drift");
	my $tbl = $name;
	is($node->safe_psql('app', qq{
	  SELECT count(*) FROM (
	    (SELECT stream, n, total, last_seq FROM $tbl
	     EXCEPT SELECT stream, count(*)::int, sum((payload->>'amount')::int), max(seq) FROM evlog.events GROUP BY stream)
	    UNION ALL
	    (SELECT stream, count(*)::int, sum((payload->>'amount')::int), max(seq) FROM evlog.events GROUP BY stream
	     EXCEPT SELECT stream, n, total, last_seq FROM $tbl)) d}), '0', "$name: the read model equals a fresh fold of the log");
}

$node->stop;
done_testing();

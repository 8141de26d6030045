# evlog.group_commit: an appending transaction commits without flushing,
# releases the sequencer, and flushes before the client hears of the commit.
# The WAL writer is stopped (SIGSTOP) while the flush is checked, so that only
# the committing backend can have flushed: each check reads the WAL insert
# position before COMMIT and asks whether WAL is flushed past it afterwards.
# Then G1 and G3 under 8 concurrent group-committing clients.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;

my $node = evlog_node('group', conf => qq{
autovacuum = off
checkpoint_timeout = '1h'
});
$node->safe_psql('postgres', 'CREATE TABLE plain (id bigint)');

# flushed_after SETTINGS WRITE: run WRITE in a transaction after SETTINGS;
# 't' when WAL is flushed past the insert position read just before COMMIT
sub flushed_after
{
	my ($settings, $write) = @_;
	return $node->safe_psql('postgres', qq{
$settings
BEGIN;
$write \\gset
SELECT pg_current_wal_insert_lsn() AS before \\gset
COMMIT;
SELECT pg_current_wal_flush_lsn() > :'before';
});
}

my $walwriter = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'walwriter'});
ok($walwriter =~ /^\d+$/, 'the WAL writer is found');
kill 'STOP', $walwriter;

my $append = q{SELECT evlog_append('g', 'x.appended', '{}') AS seq};
is(flushed_after('SET synchronous_commit = off;', 'INSERT INTO plain VALUES (1) RETURNING id'), 'f',
	'control: an asynchronous commit is not flushed by anybody else');
is(flushed_after('SET evlog.group_commit = on;', $append), 't',
	'group commit: the append is flushed before COMMIT returns');
is(flushed_after('SET evlog.group_commit = on;', 'INSERT INTO plain VALUES (2) RETURNING id'), 't',
	'group commit: a transaction that did not append commits synchronously');
is(flushed_after("SET evlog.group_commit = on;\nSELECT evlog_append('g', 'x.appended', '{}') \\gset",
		'INSERT INTO plain VALUES (3) RETURNING id'), 't',
	'group commit: the next transaction of the session commits synchronously again');
is(flushed_after("SET evlog.group_commit = on;\nSET synchronous_commit = off;", $append), 'f',
	'group commit leaves synchronous_commit = off alone');
is(flushed_after('SET synchronous_commit = on;', $append), 't',
	'without group commit the append is flushed as usual');

kill 'CONT', $walwriter;

# 8 clients, 250 appends each, all group-committing, over 20 streams
my @clients;
for my $c (1 .. 8)
{
	my $sql = "SET evlog.group_commit = on;\n";
	$sql .= "SELECT evlog_append('s-" . ($_ % 20) . "', 'x.appended', '{\"c\": $c}', '{}', 'k-$c-$_');\n"
	  for 1 .. 250;
	my $script = $node->basedir . "/client_$c.sql";
	open my $fh, '>', $script or die $!;
	print $fh $sql;
	close $fh;
	push @clients, IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-o', '/dev/null',
		'-d', $node->connstr('postgres'), '-f', $script ]);
}
my $all_ok = 1;
$all_ok &&= $_->finish for @clients;
ok($all_ok, '8 clients appended 250 events each with group commit');
is($node->safe_psql('postgres', q{
  SELECT count(*) FILTER (WHERE stream LIKE 's-%'), max(seq) = count(*),
         (SELECT count(*) FROM (SELECT stream_version <> row_number() OVER (PARTITION BY stream ORDER BY seq) AS bad
                                FROM evlog.events) v WHERE bad),
         (SELECT coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain())
  FROM evlog.events}), '2000|t|0|intact', 'G1, G3 and G7 hold under concurrent group commits');

$node->stop;
done_testing();

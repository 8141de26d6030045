# A COPY into evlog.append_queue goes through the ProcessUtility hooks
# installed before evlog's: pg_stat_statements counts it, with its rows,
# whichever of the two libraries shared_preload_libraries lists first.
# Listed after pg_stat_statements, evlog passes the COPY down the chain (the
# view's trigger appends, once per row); listed before it, evlog's hook is
# the innermost and appends on its own path (no trigger call).  The trigger
# calls, counted by track_functions, tell the two paths apart.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use EvlogNode;
use EvlogPoll;

my $node = evlog_node('pgss', preload => 'pg_stat_statements,evlog', conf => qq{
track_functions = 'all'
autovacuum = off
});
$node->safe_psql('postgres', 'CREATE EXTENSION pg_stat_statements');

my $copy = "COPY evlog.append_queue (stream, type, payload) FROM STDIN;\n"
  . "s-1\tx.copied\t{\"n\": 1}\ns-1\tx.copied\t{\"n\": 2}\ns-2\tx.copied\t{\"n\": 3}\n\\.\n";

# counted ROUND: the pg_stat_statements entry of the COPY, "calls|rows"
sub counted
{
	return $node->safe_psql('postgres', q{
SELECT calls || '|' || rows FROM pg_stat_statements
 WHERE query LIKE 'COPY evlog.append_queue%'});
}

# trigger_calls: the calls of the view's trigger function, once the
# statistics of the sessions that ended have reached the server
sub trigger_calls_are
{
	my ($n) = @_;
	return poll_until($node, 'postgres', q{
SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions
 WHERE schemaname = 'evlog' AND funcname = 'append_queue_insert'}, $n);
}

# 1. evlog listed after pg_stat_statements: its hook is the outer one
$node->safe_psql('postgres', $copy);
is(counted(), '1|3', 'evlog after pg_stat_statements: the COPY is counted once, with its 3 rows');
is($node->safe_psql('postgres', q{SELECT string_agg(seq || ':' || stream || ':' || (payload->>'n'), ',' ORDER BY seq) FROM evlog.events}),
	'1:s-1:1,2:s-1:2,3:s-2:3', 'the COPY appended its 3 rows in order');
ok(trigger_calls_are(3), 'down the chain, the view trigger appended each row');

# 2. evlog listed first: its hook is the innermost, under pg_stat_statements
$node->safe_psql('postgres', q{SELECT pg_stat_statements_reset(); SELECT pg_stat_reset();});
$node->append_conf('postgresql.conf',
	"shared_preload_libraries = 'evlog,pg_stat_statements'\n");
$node->restart;
# the COPY and a marker append in one session: their statistics arrive
# together, so once the marker's call is counted the trigger's would be
$node->safe_psql('postgres', $copy . "SELECT evlog_append('marker', 'x.marker', '{}');\n");
is(counted(), '1|3', 'evlog before pg_stat_statements: the COPY is counted once, with its 3 rows');
is($node->safe_psql('postgres', q{SELECT count(*) || ':' || max(seq) FROM evlog.events WHERE type = 'x.copied'}),
	'6:6', 'the COPY appended 3 more rows');
ok(poll_until($node, 'postgres', q{SELECT count(*) FROM pg_stat_user_functions
 WHERE funcname = 'evlog_append' AND calls = 1}, '1'), "the session's statistics arrived");
is($node->safe_psql('postgres', q{SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions
 WHERE schemaname = 'evlog' AND funcname = 'append_queue_insert'}), '0',
	'innermost, evlog appended the COPY on its own path (no trigger call)');

$node->stop;
done_testing();

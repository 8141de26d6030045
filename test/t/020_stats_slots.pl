# Statistics slots (README "Statistics"): evlog.stats_databases databases
# have counters. With it at 2, a third database counts nothing, has no row in
# evlog.stats and the server log says so; DROP DATABASE of one of the first
# two frees its place, which the third then takes, while the other keeps its
# counts.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;

my $node = evlog_node('stats_slots', extension => 0, conf => qq{
evlog.stats_databases = 2
});

for my $db (qw(a b c))
{
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION evlog');
}
my $c_oid = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'c'});
my $appends = q{SELECT coalesce((SELECT appends::text FROM evlog.stats), 'no row')};

# append N events in DB (a connection of its own, so a fresh slot lookup)
sub append
{
	my ($db, $n) = @_;
	$node->safe_psql($db, "SELECT count(evlog_append('s', 'x.y', '{}')) FROM generate_series(1, $n)");
	return;
}

append('a', 3);
append('b', 2);
is($node->safe_psql('a', $appends), '3', 'a: 3 appends counted');
is($node->safe_psql('b', $appends), '2', 'b: 2 appends counted');

my $offset = -s $node->logfile;
append('c', 1);
is($node->safe_psql('c', $appends), 'no row', 'c: no place left, no row');
ok($node->wait_for_log(qr/evlog keeps no statistics for database $c_oid/, $offset),
	'the server log says c has no statistics');

$node->safe_psql('postgres', 'DROP DATABASE a WITH (FORCE)');
append('c', 4);
is($node->safe_psql('c', $appends), '4', 'c: after DROP DATABASE a, its appends are counted');
is($node->safe_psql('b', $appends), '2', 'b: its counts stay');

$node->stop;
done_testing();

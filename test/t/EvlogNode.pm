# The server most TAP tests start: a PostgreSQL::Test::Cluster node with evlog
# in shared_preload_libraries, started, with evlog installed in one database.
package EvlogNode;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Cluster;

our @EXPORT = qw(evlog_node);

# evlog_node(NAME, %opts): a new node NAME, initialised, configured, started
# and with CREATE EXTENSION evlog run, returned. Options:
#   init      => { ... }  the options of init (allows_streaming => 'logical')
#   preload   => '...'    shared_preload_libraries (default 'evlog')
#   conf      => '...'    more postgresql.conf lines, appended after it (and
#                         ended with a newline, for later append_conf calls)
#   db        => '...'    the database for the extension (default postgres;
#                         another is created first)
#   extension => 0        do not create the extension (nor the database)
#   start     => 0        do not start the node (implies extension => 0)
sub evlog_node
{
	my ($name, %opts) = @_;
	my $preload = $opts{preload} // 'evlog';
	my $conf = $opts{conf} // '';
	my $db = $opts{db} // 'postgres';
	my $node = PostgreSQL::Test::Cluster->new($name);

	$conf .= "\n" unless $conf eq '' || $conf =~ /\n\z/;
	$node->init(%{ $opts{init} // {} });
	$node->append_conf('postgresql.conf', "shared_preload_libraries = '$preload'\n$conf");
	return $node if defined $opts{start} && !$opts{start};
	$node->start;
	return $node if defined $opts{extension} && !$opts{extension};
	$node->safe_psql('postgres', "CREATE DATABASE $db") if $db ne 'postgres';
	$node->safe_psql($db, 'CREATE EXTENSION evlog');
	return $node;
}

1;

# Consumer groups through Debian's pgbouncer in transaction pooling mode
# (README "Consumer groups"): every call is one statement with no session
# state, so the consumers of 011_consumer.pl work unchanged through a pool
# that gives each transaction whichever server connection is free.  The test
# starts its own pgbouncer on a private Unix socket and port, runs the three
# consumers (one killed mid-batch) through it over 20,000 events in 200
# streams, and checks the same things (EvlogConsumers.pm), plus that the
# calls did go through pgbouncer's transaction pool.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib $FindBin::Bin;
use EvlogConsumers;

my $pgbouncer = '/usr/sbin/pgbouncer';
plan skip_all => "$pgbouncer is not installed (test/deps.sh installs it)" unless -x $pgbouncer;

my $node = PostgreSQL::Test::Cluster->new('bouncer');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'evlog'
max_connections = 40
evlog.notify = off
});
$node->start;
$node->safe_psql('postgres', q{
  CREATE EXTENSION evlog;
  SELECT evlog_create_consumer_group('g', partitions => 16, start_after => 0, lease => '2 seconds');
  SELECT count(evlog_append('s-' || (i % 200), 'load.e', jsonb_build_object('i', i)))
    FROM generate_series(1, 20000) i;
});

# pgbouncer: transaction pooling, a private socket directory and port, no TCP
my $dir = $node->basedir . '/pgbouncer';
mkdir $dir or die "mkdir $dir: $!";
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $user = $node->safe_psql('postgres', 'SELECT current_user');
open my $ini, '>', "$dir/pgbouncer.ini" or die $!;
print $ini qq{[databases]
postgres = host=@{[ $node->host ]} port=@{[ $node->port ]} dbname=postgres user=$user

[pgbouncer]
listen_addr =
listen_port = $port
unix_socket_dir = $dir
auth_type = any
admin_users = $user
pool_mode = transaction
default_pool_size = 4
max_client_conn = 50
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
};
close $ini;
my ($bout, $berr) = ('', '');
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ], '>', \$bout, '2>', \$berr);
my $ready = 0;
for (1 .. 100)
{
	last if ($ready = -S "$dir/.s.PGSQL.$port");
	select(undef, undef, undef, 0.1);
}
ok($ready, 'pgbouncer listens on its private socket') or diag($berr);

my $dsn = "host=$dir port=$port dbname=postgres user=$user";
is(`psql -XAtq -d '$dsn' -c 'SELECT evlog_head()'`, "20000\n", 'the log, through pgbouncer');

run_consumers($node, 'postgres', $dsn, 'g', 20000, 'pgbouncer');

# the calls went through the transaction pool: many transactions over at
# most default_pool_size server connections
my $stats = `psql -XAtq -F ' ' -d 'host=$dir port=$port dbname=pgbouncer user=$user' -c 'SHOW STATS'`;
my ($xacts) = $stats =~ /^postgres (\d+) /m;
cmp_ok($xacts // 0, '>', 200, "pgbouncer pooled the consumers' transactions (" . ($xacts // 0) . ')');
my $pools = `psql -XAtq -F ' ' -d 'host=$dir port=$port dbname=pgbouncer user=$user' -c 'SHOW CONFIG'`;
like($pools, qr/^pool_mode transaction/m, 'in transaction pooling mode');

$bouncer->signal('INT');
eval { $bouncer->finish };
$node->stop;
done_testing();

# Change data capture (README "Followers and change data capture"): every
# committed event appears once, in seq order, in logical decoding, through
# the three append paths at once (evlog_append from 4 pgbench clients,
# evlog_append_batch with a retried key, COPY into evlog.append_queue), also
# with aborted appends in between. wal2json is read by pg_recvlogical, which
# is stopped in the middle and started again from its slot; pgoutput is read
# through the SQL interface in two calls, its insert messages parsed for the
# seq. Both give seqs 1..N exactly, and wal2json the events' columns.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

my $node = evlog_node('cdc', init => { allows_streaming => 'logical' }, start => 0, conf => qq{
max_connections = 40
});

# PostgreSQL loads an output plugin by name from its library directory
# (pg_config --pkglibdir); Debian's postgresql-15-wal2json puts it there
my $pkglibdir = $node->config_data('--pkglibdir');
plan skip_all => "wal2json is not installed in $pkglibdir (postgresql-15-wal2json)"
  unless -e "$pkglibdir/wal2json.so";
$node->start;
# some builds accept only the output plugins output_plugin_libraries lists
my $approved = $node->safe_psql('postgres', q{SELECT setting FROM pg_settings WHERE name = 'output_plugin_libraries'});
if ($approved ne '' && $approved !~ /\bwal2json\b/)
{
	$node->append_conf('postgresql.conf', "output_plugin_libraries = '$approved, wal2json'");
	$node->reload;
}

$node->safe_psql('postgres', q{
  CREATE EXTENSION evlog;
  CREATE PUBLICATION evlog_pub FOR TABLE evlog.events;
  SELECT pg_create_logical_replication_slot('pgo', 'pgoutput');
});
$node->command_ok([ 'pg_recvlogical', '-d', $node->connstr('postgres'), '-S', 'w2j', '-P', 'wal2json', '--create-slot' ],
	'pg_recvlogical created the wal2json slot');

my $out = $node->basedir . '/wal2json.out';
my $recv;
sub start_reader
{
	$recv = IPC::Run::start(
		[ 'pg_recvlogical', '-d', $node->connstr('postgres'), '-S', 'w2j', '--start', '-f', $out,
		  '-F', '1', '-s', '1', '-o', 'format-version=2', '-o', 'add-tables=evlog.events',
		  '-o', 'include-transaction=false' ],
		'>', '/dev/null', '2>', $node->basedir . '/recvlogical.err');
}

# wal2json_read WHAT: what pg_recvlogical wrote so far, read by the server
# (its JSON functions are faster than JSON::PP): for each insert line, in
# order, WHAT (an expression over the line's columns as jsonb c), one line each
sub wal2json_read
{
	my ($what) = @_;
	my $sql = <<"SQL";
SELECT coalesce(string_agg($what, E'\\n' ORDER BY n), '')
FROM regexp_split_to_table(pg_read_file('$out'), E'\\n') WITH ORDINALITY AS l(line, n),
     LATERAL (SELECT jsonb_object_agg(col->>'name', col->'value') AS c
              FROM jsonb_array_elements(line::jsonb->'columns') col) cols
WHERE line LIKE '{"action":"I"%'
SQL
	return $node->safe_psql('postgres', $sql);
}

# wait_read N: until pg_recvlogical wrote the insert of seq N
sub wait_read
{
	my ($n) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (time < $deadline && $recv->pumpable)
	{
		$recv->pump_nb;
		return 1 if -e $out && slurp_file($out) =~ /"name":"seq","type":"bigint","value":$n\}/;
		usleep(100_000);
	}
	return 0;
}

# pgoutput_seqs: the seqs of the insert messages pgoutput decodes, consumed
# from the slot. An insert message is 'I', the relation's OID (4 bytes), 'N',
# the number of columns (2 bytes), then per column a kind ('t': text), a
# length (4 bytes) and the text; seq is the first column.
sub pgoutput_seqs
{
	return $node->safe_psql('postgres', q{
	  SELECT coalesce(string_agg(convert_from(substring(data FROM 14 FOR
	           (get_byte(data, 9) << 24) | (get_byte(data, 10) << 16) | (get_byte(data, 11) << 8) | get_byte(data, 12)), 'UTF8'), ','), '')
	  FROM pg_logical_slot_get_binary_changes('pgo', NULL, NULL, 'proto_version', '1', 'publication_names', 'evlog_pub')
	  WHERE get_byte(data, 0) = ascii('I') AND get_byte(data, 8) = ascii('t')});
}

my $script = $node->basedir . '/append.pgbench';
open my $fh, '>', $script or die $!;
print $fh q{SELECT evlog_append('s-' || (random() * 50)::int, 'cdc.single', jsonb_build_object('c', :client_id));} . "\n";
close $fh;
my $csv = $node->basedir . '/events.csv';
open $fh, '>', $csv or die $!;
print $fh qq{s-@{[ $_ % 50 ]},cdc.copied,"{""i"": $_}"\n} for 1 .. 1000;
close $fh;

# round R: 1000 single appends from 4 clients, 1000 in two batches (the
# second repeats a key of the first, so the batch appends again after a
# rolled-back subtransaction), 1000 through COPY, at once; and an append
# that rolls back
sub round
{
	my ($r) = @_;
	my $conn = $node->connstr('postgres');
	my ($o, $e) = ('', '');
	my @load = (
		IPC::Run::start([ 'pgbench', '-n', '-c', '4', '-j', '2', '-t', '250', '-f', $script,
		                  '-h', $node->host, '-p', $node->port, 'postgres' ], '>', \$o, '2>', \$e),
		IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $conn,
		                  '-c', "SELECT evlog_append_batch(ARRAY(SELECT ROW('s-' || i % 50, 'cdc.batched', jsonb_build_object('i', i), '{}', 'k-$r-' || i, NULL, 1)::evlog.new_event FROM generate_series(1, 500) i))",
		                  '-c', "SELECT evlog_append_batch(ARRAY(SELECT ROW('s-' || i % 50, 'cdc.batched', jsonb_build_object('i', i), '{}', 'k-$r-' || i, NULL, 1)::evlog.new_event FROM generate_series(500, 999) i))",
		                  '-c', "BEGIN; SELECT evlog_append('s-1', 'cdc.rolled_back', '{}'); ROLLBACK;" ],
		                '>', \$o, '2>', \$e),
		IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $conn,
		                  '-c', "\\copy evlog.append_queue (stream, type, payload) FROM '$csv' CSV" ], '>', \$o, '2>', \$e));
	my $ok = 1;
	$ok &&= $_->finish for @load;
	ok($ok, "round $r: the three paths appended") or diag($e);
}

start_reader();
round(1);
is($node->safe_psql('postgres', 'SELECT evlog_head()'), '2999', 'round 1: 2999 events (one key repeated)');
ok(wait_read(2999), 'wal2json: the reader got seq 2999');
is(pgoutput_seqs(), join(',', 1 .. 2999), 'pgoutput: seqs 1..2999, each once, in order');

# stop the reader once it has confirmed all it wrote (a reader that stops
# before confirming gets the rest again: README), append, start it again
# from its slot
my $end = $node->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
ok(poll_until($node, 'postgres', qq{SELECT confirmed_flush_lsn >= '$end' FROM pg_replication_slots WHERE slot_name = 'w2j'}, 't'),
	'wal2json: the reader confirmed what it wrote');
$recv->signal('INT');
$recv->finish;
round(2);
start_reader();
ok(wait_read(5998), 'wal2json: the restarted reader got seq 5998');
$recv->signal('INT');
$recv->finish;

is(wal2json_read(q{c->>'seq'}), join("\n", 1 .. 5998), 'wal2json: seqs 1..5998, each once, in order, across the restart');
is(wal2json_read(q{concat_ws(':', c->>'seq', c->>'stream', c->>'stream_version', c->>'type', c->>'payload')}), $node->safe_psql('postgres', q{SELECT string_agg(concat_ws(':', seq, stream, stream_version, type, payload), E'\n' ORDER BY seq) FROM evlog.events}),
	"wal2json: each event's seq, stream, stream_version, type and payload");
is(pgoutput_seqs(), join(',', 3000 .. 5998), 'pgoutput: then seqs 3000..5998');
is($node->safe_psql('postgres', q{SELECT count(*) FROM evlog.events WHERE type = 'cdc.rolled_back'}), '0', 'the rolled-back appends are not in the log');

$node->stop;
done_testing();

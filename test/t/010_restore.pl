# Backups of a busy log restore (issue 18): four concurrent appenders, with a
# crash (-m immediate) between two rounds, leave the log's physical order
# different from seq order (asserted). pg_dump in custom and plain formats
# restores into new databases (also with pg_restore --jobs 2, and
# --data-only into a database created with the extension): the log, chain,
# registrations, checkpoints, dead letters and event types are identical, the
# next append is head + 1, the projection verifies without drift and the
# worker goes on, also with work_mem too small for the proof made as the rows
# load. A tampered dump (a payload changed, also at either end of a run of
# consecutive seqs, a row removed, two rows' seqs swapped) is refused naming
# the seq, and the log stays empty.
# Into an empty log the COPY loads in bulk (indexes built after the rows, no
# trigger call per row), and an append meanwhile waits for the restore, then
# continues it. A logical follower's initial copy of the busy log is admitted
# through the guard triggers, and then the apply worker's rows one by one.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

my $node = evlog_node('restore', init => { allows_streaming => 'logical' }, db => 'app', conf => qq{
max_connections = 40
max_worker_processes = 32
track_functions = 'all'
});

# the read model and its handler, which refuses events with a "bad" key
my $read_model = q{
  CREATE TABLE seen (stream text PRIMARY KEY, n int NOT NULL, last_seq bigint NOT NULL);
  CREATE FUNCTION seen_fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    IF e.payload ? 'bad' THEN
      RAISE EXCEPTION 'bad event %', e.seq;
    END IF;
    INSERT INTO seen VALUES (e.stream, 1, e.seq)
    ON CONFLICT (stream) DO UPDATE SET n = seen.n + 1, last_seq = excluded.last_seq;
  END $$;
};
$node->safe_psql('app', qq{
  SELECT evlog_define_event_type('thing.happened', 1, description => 'a thing happened');
  $read_model
  SELECT evlog_register_projection('seen', 'seen_fold(evlog.events)', '{seen}', on_error => 'skip');
});

# round ROUND: 4 clients append 250 events each at once; rows of about 600
# bytes, so that each backend's heap pages interleave with the others'
my $script = $node->basedir . '/append.pgbench';
open my $fh, '>', $script or die $!;
print $fh q{SELECT evlog_append('s-' || (random() * 40)::int, 'thing.happened', jsonb_build_object('c', :client_id, 'r', random(), 'pad', repeat('p', 500)), jsonb_build_object('round', :round), 'k-' || :round || '-' || :client_id || '-' || nextval('keys'));} . "\n";
close $fh;
$node->safe_psql('app', 'CREATE SEQUENCE keys');
sub round
{
	my ($round) = @_;
	$node->command_ok(
		[ 'pgbench', '-n', '-c', '4', '-j', '2', '-t', '250', '-D', "round=$round", '-f', $script,
		  '-h', $node->host, '-p', $node->port, 'app' ],
		"round $round: 4 clients appended");
}
round(1);

# a crash with an appending transaction open loses only that transaction
my $bg = $node->background_psql('app');
$bg->query_safe(q{BEGIN; SELECT evlog_append('crash', 'thing.lost', '{}');});
$node->stop('immediate');
$bg->quit;
$node->start;
round(2);

# events the projection skips (dead letters), of one stream whose name is too
# long for the restore's proof to keep it by name (over 64 bytes: its versions
# are checked through the index after the load), and one event big enough to
# be toasted
$node->safe_psql('app', q{
  SELECT evlog_append(repeat('bad-', 20), 'thing.happened', jsonb_build_object('bad', i)) FROM generate_series(1, 3) i;
  SELECT evlog_append('big', 'thing.happened',
                      jsonb_build_object('blob', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) i)));
});
ok(poll_until($node, 'app', q{SELECT lag_events FROM evlog.projection_status}, '0'), 'the projection caught up');

my $invariants = q{
  SELECT count(*), max(seq),
         (SELECT count(*) FROM (SELECT stream_version <> row_number() OVER (PARTITION BY stream ORDER BY seq) AS bad
                                FROM evlog.events) v WHERE bad),
         (SELECT count(*) FROM (SELECT recorded_at < lag(recorded_at) OVER (ORDER BY seq) AS bad
                                FROM evlog.events) v WHERE bad),
         (SELECT checked || '/' || coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain())
  FROM evlog.events};
is($node->safe_psql('app', $invariants), '2004|2004|0|0|2004/intact', 'the log is whole: 2004 events');
is($node->safe_psql('app', q{
  SELECT count(*) FILTER (WHERE seq < prev) > 100
  FROM (SELECT seq, lag(seq) OVER (ORDER BY ctid) AS prev FROM evlog.events) o}), 't',
  'precondition: the physical order of the log is not seq order');
is($node->safe_psql('app', q{SELECT count(*) FROM evlog.dead_letters}), '3', 'three dead letters');
my $toast = $node->safe_psql('app', q{SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'evlog.events'::regclass});
is($node->safe_psql('app', "SELECT count(DISTINCT chunk_id) FROM $toast"), '1', 'one payload is stored out of line (toasted)');

my %same = (
	'log' => q{SELECT md5(string_agg(e::text, ',' ORDER BY seq)) FROM evlog.events e},
	'registry and checkpoints' => q{SELECT name, handler, tables, event_types, mode, on_error, owner, state, checkpoint, upcast FROM evlog.projections},
	'dead letters' => q{SELECT projection, seq, error FROM evlog.dead_letters ORDER BY 1, 2},
	'event types' => q{SELECT type, type_version, "check", validator, description, definer, upcaster, events FROM evlog.event_types ORDER BY 1, 2},
	'read model' => q{SELECT md5(string_agg(s::text, ',' ORDER BY stream)) FROM seen s});
my %want = map { $_ => $node->safe_psql('app', $same{$_}) } keys %same;

# into an empty log, COPY loads the rows in bulk (restorecopy.c): each of the
# log's four indexes is built again after the rows (a new relfilenode) and
# valid, and evlog.guard() is not called per row
my $bulk_loaded = q{
  SELECT (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
          WHERE i.indrelid = 'evlog.events'::regclass AND i.indisvalid AND c.relfilenode <> c.oid),
         (SELECT coalesce(sum(calls), 0) FROM pg_stat_user_functions
          WHERE schemaname = 'evlog' AND funcname = 'guard')};

# check_restored DB, NAME: the restored database holds the same; appends and
# the worker go on
sub check_restored
{
	my ($db, $name) = @_;
	is($node->safe_psql($db, $invariants), '2004|2004|0|0|2004/intact', "$name: the log is whole");
	is($node->safe_psql($db, $bulk_loaded), '4|0', "$name: loaded in bulk, indexes built after the rows, no trigger call per row");
	for my $what (sort keys %same)
	{
		is($node->safe_psql($db, $same{$what}), $want{$what}, "$name: the same $what");
	}
	is($node->safe_psql($db, q{SELECT count(*) FROM evlog_verify('seen')}), '0', "$name: the projection verifies without drift");
	is($node->safe_psql($db, q{SELECT evlog_append('next', 'thing.happened', '{}')}), '2005', "$name: the next append gets head + 1");
	ok(poll_until($node, $db, q{SELECT evlog_wait('seen', 2005, '1 s')}, 't'), "$name: the worker folds it");
	is($node->safe_psql($db, q{SELECT n, last_seq FROM seen WHERE stream = 'next'}), '1|2005', "$name: into the read model");
	is($node->safe_psql($db, $invariants), '2005|2005|0|0|2005/intact', "$name: the log is still whole");
}

my $dump = $node->basedir . '/app.dump';
my $plain = $node->basedir . '/app.sql';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('app') ], 'pg_dump -Fc');
$node->command_ok([ 'pg_dump', '-f', $plain, '-d', $node->connstr('app') ], 'pg_dump, plain');

# the proof is made as the rows load, in memory (loadproof.c): nothing proven
# again afterwards but the long stream's two versions above 1
my $log_at = -s $node->logfile;
{
	local $ENV{PGOPTIONS} = '-c log_min_messages=debug1';
	$node->safe_psql('postgres', 'CREATE DATABASE r_custom');
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('r_custom'), $dump ], 'pg_restore');
}
like(slurp_file($node->logfile, $log_at), qr/evlog restore: 2004 rows loaded, \d+ streams kept, 2 stream versions checked after the load, \d+ bytes of proof state\n/,
	'pg_restore: proven as the rows loaded, 2 stream versions checked after the load');
check_restored('r_custom', 'pg_restore');

# with work_mem at its least (64 kB) the proof's state does not fit: the rows
# are proven again in seq order, and the restore is the same
$log_at = -s $node->logfile;
{
	local $ENV{PGOPTIONS} = '-c log_min_messages=debug1 -c work_mem=64kB';
	$node->safe_psql('postgres', 'CREATE DATABASE r_small');
	$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('r_small'), $dump ], 'pg_restore, work_mem 64 kB');
}
like(slurp_file($node->logfile, $log_at), qr/evlog restore: 2004 rows loaded, .*, proven again in seq order\n/,
	'pg_restore, work_mem 64 kB: proven again in seq order');
check_restored('r_small', 'pg_restore, work_mem 64 kB');

$node->safe_psql('postgres', 'CREATE DATABASE r_plain');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', $plain, '-d', $node->connstr('r_plain') ], 'psql -f of the plain dump');
check_restored('r_plain', 'plain dump');

$node->safe_psql('postgres', 'CREATE DATABASE r_jobs');
$node->command_ok([ 'pg_restore', '--exit-on-error', '--jobs', '2', '-d', $node->connstr('r_jobs'), $dump ], 'pg_restore --jobs 2');
check_restored('r_jobs', 'pg_restore --jobs 2');

# --data-only into a database created with the extension and the user's objects
$node->safe_psql('postgres', 'CREATE DATABASE r_data');
$node->safe_psql('r_data', qq{
  CREATE EXTENSION evlog;
  $read_model
  CREATE SEQUENCE keys;
});
$node->command_ok([ 'pg_restore', '--exit-on-error', '--data-only', '-d', $node->connstr('r_data'), $dump ], 'pg_restore --data-only');
check_restored('r_data', 'pg_restore --data-only');

# tampered plain dumps: the COPY of the log is refused, naming the seq, and
# the log stays empty
my $sql = slurp_file($plain);
$sql =~ /^(COPY evlog\.events .*?\n)(.*?)(^\\\.\n)/ms or die 'no COPY of the log in the dump';
my ($head, $rows, $tail) = ($1, $2, $3);
my ($pre, $post) = ($`, $');
my @rows = split /\n/, $rows;
my %at = map { (split /\t/, $rows[$_])[0] => $_ } 0 .. $#rows;
die 'the dump lacks seq 1000 or 1001' unless defined $at{1000} && defined $at{1001};

sub tampered
{
	my ($name, $detail, $edit, $options) = @_;
	local $ENV{PGOPTIONS} = $options if $options;
	my @copy = @rows;
	$edit->(\@copy);
	my $file = $node->basedir . "/tampered_$name.sql";
	open my $out, '>', $file or die $!;
	print $out $pre, $head, join("\n", @copy), "\n", $tail, $post;
	close $out;
	$node->safe_psql('postgres', "CREATE DATABASE t_$name");
	my ($ret, $stdout, $stderr) = $node->psql("t_$name", undef, extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', $file ]);
	isnt($ret, 0, "tampered ($name): the restore fails");
	like($stderr, qr/ERROR:  row inserted into evlog\.events does not continue the log\nDETAIL:  \Q$detail\E\n/,
		"tampered ($name): the error names the seq");
	is($node->safe_psql("t_$name", 'SELECT count(*) FROM evlog.events'), '0', "tampered ($name): the log stays empty");
}
tampered('payload', 'The digest of seq 1000 does not continue the hash chain from seq 999.', sub {
	my $r = shift;
	my @f = split /\t/, $r->[ $at{1000} ], -1;
	$f[5] =~ s/"c": \d/"c": 9/ or die 'no payload to change';
	$r->[ $at{1000} ] = join "\t", @f;
});
# a payload changed in the first row of a run of consecutive seqs in the
# dump, loaded before the row it follows (its link is checked when the two
# runs meet), and in one loaded after it
my ($before) = grep { $_ > 1 && $at{$_} < $at{$_ - 1} } sort { $a <=> $b } keys %at;
my ($after) = grep { $_ > 1 && $at{$_} > $at{$_ - 1} + 1 } sort { $a <=> $b } keys %at;
die 'no run loaded before the one it follows' unless $before && $after;
for my $case ([ 'run_before', $before ], [ 'run_after', $after ])
{
	my ($name, $seq) = @$case;
	tampered($name, "The digest of seq $seq does not continue the hash chain from seq @{[ $seq - 1 ]}.", sub {
		my $r = shift;
		my @f = split /\t/, $r->[ $at{$seq} ], -1;
		$f[5] =~ s/"r": 0\./"r": 1./ or die "no payload to change at seq $seq: $f[5]";
		$r->[ $at{$seq} ] = join "\t", @f;
	});
}
tampered('removed', 'Seq 1000 is missing: the next seq the log holds is 1001.', sub {
	my $r = shift;
	splice @$r, $at{1000}, 1;
});
for my $options (undef, '-c work_mem=64kB')
{
	tampered($options ? 'swapped_small' : 'swapped', 'The digest of seq 1000 does not continue the hash chain from seq 999.', sub {
		my $r = shift;
		$r->[ $at{1000} ] =~ s/^1000\t/1001\t/ or die;
		$r->[ $at{1001} ] =~ s/^1001\t/1000\t/ or die;
	}, $options);
}

# an append while a restore's COPY into the empty log is open waits for it
# (the log's ShareLock), then continues the restored log
$node->safe_psql('postgres', 'CREATE DATABASE r_wait');
$node->safe_psql('r_wait', 'CREATE EXTENSION evlog');
my $restorer = $node->background_psql('r_wait');
# the first ten events, a log of their own, in the dump's order (a statement
# follows the data: psql stops at a lone ";" right after a COPY)
my $first_ten = join '', map { "$_\n" } grep { /^(\d+)\t/ && $1 <= 10 } @rows;
$restorer->query_safe("BEGIN;\n$head$first_ten${tail}SELECT 1");
my $appender = $node->background_psql('r_wait');
$appender->query_until(qr/appending/, qq{\\echo appending\nSELECT evlog_append('waited', 'thing.happened', '{}');\n});
ok(poll_until($node, 'r_wait', q{
  SELECT count(*) FROM pg_stat_activity
  WHERE datname = 'r_wait' AND wait_event_type = 'Lock' AND query LIKE '%evlog_append%'}, '1'),
  'an append waits for the open restore');
$restorer->query_safe('COMMIT');
$restorer->quit;
$appender->quit;
is($node->safe_psql('r_wait', q{SELECT seq FROM evlog.events WHERE stream = 'waited'}), '11',
	'the append then gets head + 1 of the restored log');
is($node->safe_psql('r_wait', $invariants), '11|11|0|0|11/intact', 'and the log is whole');

# a logical follower: the initial copy of the busy log, then the apply
# worker's rows one at a time; its log is the primary's
$node->safe_psql('app', q{
  CREATE PUBLICATION evlog_pub FOR TABLE evlog.events;
  SELECT pg_create_logical_replication_slot('follower', 'pgoutput');
});
$node->safe_psql('postgres', 'CREATE DATABASE follower');
$node->safe_psql('follower', 'CREATE EXTENSION evlog');
(my $connstr = $node->connstr('app')) =~ s/'/''/g;
$node->safe_psql('follower', qq{
  CREATE SUBSCRIPTION follower CONNECTION '$connstr' PUBLICATION evlog_pub
  WITH (create_slot = false, slot_name = 'follower');
});
ok(poll_until($node, 'follower', q{SELECT count(*) FROM evlog.events}, '2004'), 'follower: the initial copy arrived');
$node->safe_psql('app', q{
  SELECT evlog_append('after-' || i, 'thing.happened', jsonb_build_object('i', i)) FROM generate_series(1, 5) i;
  SELECT evlog_append('after-one', 'thing.happened', '{}');
});
ok(poll_until($node, 'follower', q{SELECT max(seq) FROM evlog.events}, '2010'), 'follower: the appends arrived');
is($node->safe_psql('follower', $invariants), '2010|2010|0|0|2010/intact', 'follower: the log is whole');
is($node->safe_psql('follower', $same{log}), $node->safe_psql('app', $same{log}), "follower: the primary's log");
$node->safe_psql('follower', 'DROP SUBSCRIPTION follower');

$node->stop;
done_testing();

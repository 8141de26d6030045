# Followers (README "Followers and change data capture"): a primary and two
# followers, each folding a projection of its own. 20,000 events come through
# the three append paths (evlog_append from 4 pgbench clients,
# evlog_append_batch, COPY into evlog.append_queue) at once while both
# follow; one follower is stopped in the middle and restarted. Then: the
# three logs are the same (seqs and digests), both chains verify, both
# projections equal a fold of the log and verify without drift, appends on a
# follower fail with EV007 on every path, a superuser's forged row is
# refused, and a follower whose log forked refuses the primary's next event
# naming both seqs, and recovers as the README says.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

my $conf = qq{
max_connections = 40
max_worker_processes = 24
max_logical_replication_workers = 6
};
my $primary = evlog_node('primary', init => { allows_streaming => 'logical' }, conf => $conf);
my @followers = map { evlog_node($_, conf => $conf) } qw(follower1 follower2);
my ($f1, $f2) = @followers;

$primary->safe_psql('postgres', 'CREATE PUBLICATION evlog_pub FOR TABLE evlog.events');

# follower 1 folds the number of events per stream, follower 2 the sum of
# payload.i per type: each its own projection; follower 1's is sync, which
# on a follower the worker folds
$f1->safe_psql('postgres', q{
  CREATE TABLE per_stream (stream text PRIMARY KEY, n bigint NOT NULL, last_seq bigint NOT NULL);
  CREATE FUNCTION per_stream_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO per_stream VALUES (e.stream, 1, e.seq)
    ON CONFLICT (stream) DO UPDATE SET n = per_stream.n + 1, last_seq = excluded.last_seq $$;
  SELECT evlog_register_projection('per_stream', 'per_stream_fold(evlog.events)', '{per_stream}', mode => 'sync');
});
$f2->safe_psql('postgres', q{
  CREATE TABLE per_type (type text PRIMARY KEY, n bigint NOT NULL, total bigint NOT NULL);
  CREATE FUNCTION per_type_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO per_type VALUES (e.type, 1, (e.payload->>'i')::bigint)
    ON CONFLICT (type) DO UPDATE SET n = per_type.n + 1, total = per_type.total + excluded.total $$;
  SELECT evlog_register_projection('per_type', 'per_type_fold(evlog.events)', '{per_type}');
});

# the three append paths, each in a process of its own
my $script = $primary->basedir . '/append.pgbench';
open my $fh, '>', $script or die $!;
print $fh q{SELECT evlog_append('acct-' || (random() * 199)::int, 'money.moved', jsonb_build_object('i', :client_id + 1));} . "\n";
close $fh;
my $csv = $primary->basedir . '/events.csv';
open $fh, '>', $csv or die $!;
print $fh qq{acct-@{[ $_ % 200 ]},money.copied,"{""i"": $_}"\n} for 1 .. 1000;
close $fh;
my $copy_sql = $primary->basedir . '/copy.sql';
open $fh, '>', $copy_sql or die $!;
print $fh "\\copy evlog.append_queue (stream, type, payload) FROM '$csv' CSV\n" for 1 .. 6;
close $fh;
my $batch_sql = q{DO $$
BEGIN
  FOR b IN 1 .. 6 LOOP
    PERFORM evlog_append_batch(ARRAY(
      SELECT ROW('acct-' || i % 200, 'money.batched', jsonb_build_object('i', i), '{}', NULL, NULL, 1)::evlog.new_event
      FROM generate_series(1, 1000) i));
    COMMIT;
  END LOOP;
END $$};
my @pgbench = ('pgbench', '-n', '-c', '4', '-j', '2', '-f', $script, '-h', $primary->host, '-p', $primary->port);

# 2,000 events before the followers subscribe: their initial copy
$primary->command_ok([ @pgbench, '-t', '500', 'postgres' ], 'the first 2,000 events, from 4 clients');
my $primary_conn = $primary->connstr('postgres');
(my $sub_conn = $primary_conn) =~ s/'/''/g;
$followers[$_ - 1]->safe_psql('postgres', "CREATE SUBSCRIPTION evlog_sub_$_ CONNECTION '$sub_conn' PUBLICATION evlog_pub")
  for 1, 2;

# 18,000 more through the three paths at once while both follow
my ($out, $err) = ('', '');
my @load = (
	IPC::Run::start([ @pgbench, '-t', '1500', 'postgres' ], '>', \$out, '2>', \$err),
	IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $primary_conn, '-c', $batch_sql ], '>', \$out, '2>', \$err),
	IPC::Run::start([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $primary_conn, '-f', $copy_sql ], '>', \$out, '2>', \$err));
ok(poll_until($f2, 'postgres', q{SELECT evlog_head() > 4000}, 't'), 'follower 2 is following');
$f2->stop('fast');
my $ok = 1;
$ok &&= $_->finish for @load;
ok($ok, 'the load finished without error') or diag($err);
is($primary->safe_psql('postgres', q{SELECT evlog_head(), count(*) FROM evlog.events}), '20000|20000', '20,000 events on the primary');
is($primary->safe_psql('postgres', q{SELECT type, count(*) FROM evlog.events GROUP BY type ORDER BY type}),
	"money.batched|6000\nmoney.copied|6000\nmoney.moved|8000", 'through the three paths');
$f2->start;

my $log = q{SELECT md5(string_agg(seq || ':' || encode(digest, 'hex') || ':' || stream || ':' || stream_version || ':' || payload::text, ',' ORDER BY seq)) FROM evlog.events};
my $want_log = $primary->safe_psql('postgres', $log);
for my $i (1, 2)
{
	my $f = $followers[ $i - 1 ];
	ok(poll_until($f, 'postgres', q{SELECT evlog_head()}, '20000'), "follower $i: caught up to seq 20000"
		. ($i == 2 ? ' after its restart' : ''));
	is($f->safe_psql('postgres', $log), $want_log, "follower $i: the primary's events, seqs and digests");
	is($f->safe_psql('postgres', q{SELECT checked || '/' || coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain()}),
		'20000/intact', "follower $i: its chain verifies");
	is($f->safe_psql('postgres', q{SELECT subscription, enabled, sync_state, head, apply_pid IS NOT NULL, received_lsn IS NOT NULL FROM evlog.follower_status}),
		"evlog_sub_$i|t|ready|20000|t|t", "follower $i: evlog.follower_status");
	ok(poll_until($f, 'postgres', q{SELECT lag_events FROM evlog.projection_status}, '0'), "follower $i: its projection caught up");
	is($f->safe_psql('postgres', q{SELECT count(*) FROM evlog.projections p, evlog_verify(p.name)}), '0',
		"follower $i: its projection verifies without drift");
}
is($f1->safe_psql('postgres', q{SELECT md5(string_agg(stream || n || ':' || last_seq, ',' ORDER BY stream)) FROM per_stream}),
	$primary->safe_psql('postgres', q{SELECT md5(string_agg(stream || n || ':' || last_seq, ',' ORDER BY stream))
	                                  FROM (SELECT stream, count(*) AS n, max(seq) AS last_seq FROM evlog.events GROUP BY stream) s}),
	'follower 1: its read model is the fold of the log');
is($f2->safe_psql('postgres', q{SELECT string_agg(type || '=' || n || '/' || total, ',' ORDER BY type) FROM per_type}),
	$primary->safe_psql('postgres', q{SELECT string_agg(type || '=' || n || '/' || total, ',' ORDER BY type)
	                                  FROM (SELECT type, count(*) AS n, sum((payload->>'i')::bigint) AS total FROM evlog.events GROUP BY type) s}),
	'follower 2: its read model is the fold of the log');
is($primary->safe_psql('postgres', q{SELECT count(*) FROM evlog.follower_status}), '0', 'the primary has no follower_status row');

# local appends on a follower: EV007 on every path
for my $try (
	[ 'evlog_append', q{SELECT evlog_append('acct-1', 'money.moved', '{"i": 1}')} ],
	[ 'evlog_append_batch', q{SELECT evlog_append_batch(ARRAY[ROW('acct-1', 'money.batched', '{"i": 1}', '{}', NULL, NULL, 1)::evlog.new_event])} ],
	[ 'INSERT into evlog.append_queue', q{INSERT INTO evlog.append_queue (stream, type, payload) VALUES ('acct-1', 'money.copied', '{"i": 1}')} ],
	[ 'COPY into evlog.append_queue', qq{\\copy evlog.append_queue (stream, type, payload) FROM '$csv' CSV} ])
{
	my ($ret, $stdout, $stderr) = $f1->psql('postgres', "\\set VERBOSITY verbose\n$try->[1]");
	like($stderr, qr/ERROR:  EV007: cannot append to the log of a follower\nDETAIL:  This database's evlog.events is the target of subscription "evlog_sub_1"/,
		"follower: $try->[0] fails with EV007");
}

# a superuser's forged row, a copy of the head's with the next seq, under
# session_replication_role = replica: refused
my ($ret, $stdout, $stderr) = $f1->psql('postgres', q{
  \set VERBOSITY verbose
  SET session_replication_role = replica;
  INSERT INTO evlog.events (seq, stream, stream_version, type, type_version, payload, metadata, actor, recorded_at, digest)
  SELECT seq + 1, stream, stream_version + 1, type, type_version, payload, metadata, actor, recorded_at, digest
  FROM evlog.events WHERE seq = 20000});
like($stderr, qr/ERROR:  EV007: cannot insert into the log of a follower\nDETAIL:  This database's evlog.events is the target of subscription "evlog_sub_1"; only its apply worker writes to the log\./,
	'follower: a forged row is refused with EV007');
is($f1->safe_psql('postgres', q{SELECT evlog_head(), count(*) FROM evlog.events}), '20000|20000', 'follower: the log is unchanged');

# a follower whose log forked: a database with one local event subscribes
# without the initial copy; the primary's next event does not continue it
$f2->safe_psql('postgres', 'CREATE DATABASE fork');
$f2->safe_psql('fork', q{
  CREATE EXTENSION evlog;
  SELECT evlog_append('local', 'money.moved', '{"i": 0}');
});
$f2->safe_psql('fork', "CREATE SUBSCRIPTION fork_sub CONNECTION '$sub_conn' PUBLICATION evlog_pub WITH (copy_data = false)");
ok(poll_until($f2, 'fork', q{SELECT sync_state FROM evlog.follower_status}, 'ready'), 'fork: subscribed');
my $offset = -s $f2->logfile;
$primary->safe_psql('postgres', q{SELECT evlog_append('acct-1', 'money.moved', '{"i": 1}')});
ok($f2->wait_for_log(qr/ERROR:  replicated event 20001 does not continue the follower's log, whose head is 1\n.*DETAIL:  Subscription "fork_sub": the next seq of the follower's log is 2\./, $offset),
	'fork: the replicated event is refused, naming both seqs');
ok(poll_until($f2, 'fork', q{SELECT apply_error_count > 0 FROM evlog.follower_status}, 't'), 'fork: follower_status counts the error');
is($f2->safe_psql('fork', q{SELECT evlog_head()}), '1', 'fork: the log is unchanged');

# recovery as the README says: drop the subscription, drop and create the
# extension, subscribe again with the initial copy
$f2->safe_psql('fork', 'ALTER SUBSCRIPTION fork_sub DISABLE');
ok(poll_until($primary, 'postgres', q{SELECT active FROM pg_replication_slots WHERE slot_name = 'fork_sub'}, 'f'),
	'fork: its slot is released');
$f2->safe_psql('fork', q{
  DROP SUBSCRIPTION fork_sub;
  BEGIN;
  SET LOCAL evlog.allow_drop = on;
  DROP EXTENSION evlog;
  COMMIT;
  CREATE EXTENSION evlog;
});
$f2->safe_psql('fork', "CREATE SUBSCRIPTION fork_sub CONNECTION '$sub_conn' PUBLICATION evlog_pub");
$want_log = $primary->safe_psql('postgres', $log);
for my $db ([ $f1, 'postgres', 'follower 1' ], [ $f2, 'postgres', 'follower 2' ], [ $f2, 'fork', 'fork, recovered' ])
{
	my ($f, $dbname, $name) = @$db;
	ok(poll_until($f, $dbname, q{SELECT evlog_head()}, '20001'), "$name: at seq 20001");
	is($f->safe_psql($dbname, $log), $want_log, "$name: the primary's log");
	is($f->safe_psql($dbname, q{SELECT checked || '/' || coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain()}),
		'20001/intact', "$name: its chain verifies");
}

$_->stop for @followers, $primary;
done_testing();

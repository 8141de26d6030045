# Projection versions on a large log (README "Projection versions and
# snapshots"): version 2 of a sync projection, with another table shape, is
# built by the worker in batches while version 1 serves; evlog.progress shows
# the build moving; an immediate stop in the middle of the build resumes from
# its last batch; then, while appends go on at a steady rate and a reader
# checks every moment that the board is whole and at the head, evlog_promote
# and a view swap commit in one transaction, and evlog_verify finds no drift.
# Snapshots: a rebuild from a snapshot at about 90 % of the log folds exactly
# the tail; after the handler changes it replays the whole log.
#
# EVLOG_VERSIONS_EVENTS sets the log's size (default 100000: 500000 passed
# in 658 s here, most of it snapshots, rebuilds and the dump; the batches are
# the same).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep time);
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;
use EvlogPoll;

my $events = $ENV{EVLOG_VERSIONS_EVENTS} // 100000;
my $tickets = 1000;
my $batch = 1000;

my $node = evlog_node('versions', db => 'app', conf => qq{
max_connections = 30
evlog.batch_size = $batch
});
$node->safe_psql('app', qq{
  INSERT INTO evlog.append_queue (stream, type, payload)
    SELECT 'ticket-' || i % $tickets, 'ticket.moved', jsonb_build_object('to', 'col' || i % 5)
    FROM generate_series(1, $events) i;
  CREATE TABLE board_v1 (ticket text PRIMARY KEY, status text NOT NULL, last_seq bigint NOT NULL);
  CREATE FUNCTION fold_v1(e evlog.events) RETURNS void LANGUAGE sql AS \$\$
    INSERT INTO board_v1 VALUES (e.stream, e.payload->>'to', e.seq)
    ON CONFLICT (ticket) DO UPDATE SET status = excluded.status, last_seq = excluded.last_seq \$\$;
  SELECT evlog_register_projection('board', 'fold_v1(evlog.events)', '{board_v1}', mode => 'sync');
  CREATE VIEW board AS SELECT ticket, status, last_seq FROM board_v1;
  -- version 2: another shape, a count of moves per ticket
  CREATE TABLE board_v2 (ticket text PRIMARY KEY, status text NOT NULL, last_seq bigint NOT NULL,
                         moves bigint NOT NULL);
  -- while gate.slow, the build pauses 0.2 s every 1000 events, so that the
  -- test sees it in the middle whatever the machine's speed
  CREATE TABLE gate (slow boolean NOT NULL);
  INSERT INTO gate VALUES (true);
  CREATE FUNCTION fold_v2(e evlog.events) RETURNS void LANGUAGE sql AS \$\$
    INSERT INTO board_v2 VALUES (e.stream, e.payload->>'to', e.seq, 1)
    ON CONFLICT (ticket) DO UPDATE SET status = excluded.status, last_seq = excluded.last_seq,
                                       moves = board_v2.moves + 1;
    SELECT pg_sleep(0.2) WHERE e.seq % 1000 = 0 AND EXISTS (SELECT FROM gate WHERE slow) \$\$;
});
is($node->safe_psql('app', q{SELECT count(*), max(last_seq) FROM board}), "$tickets|$events",
	'version 1 (sync) serves the whole log');

# version 2, built by the worker from seq 0 while version 1 serves
$node->safe_psql('app', q{
  SELECT evlog_register_projection('board_v2', 'fold_v2(evlog.events)', '{board_v2}', replaces => 'board')});

# evlog.progress shows the build moving, and the checkpoint moves a batch at a time
my (%folded, %checkpoints);
my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
while (time < $deadline && (keys %folded < 3 || keys %checkpoints < 3))
{
	my $row = $node->safe_psql('app', q{
	  SELECT phase || ' ' || folded || ' ' || (events_per_second > 0) || ' ' || (eta IS NOT NULL)
	    FROM evlog.progress WHERE projection = 'board_v2'});
	my $cp = $node->safe_psql('app', q{SELECT checkpoint FROM evlog.projections WHERE name = 'board_v2'});
	$folded{$1} = 1 if $row =~ /^version build (\d+) true true$/;
	$checkpoints{$cp} = 1 if $cp > 0 && $cp < $events;
	last if $cp >= 10 * $batch;
	usleep(20_000);
}
cmp_ok(scalar(keys %folded), '>=', 2, 'evlog.progress shows the version build moving, with a rate and an ETA')
  or diag(explain \%folded);
cmp_ok(scalar(keys %checkpoints), '>=', 2, 'the checkpoint advances while the build runs');
is(scalar(grep { $_ % $batch != 0 } keys %checkpoints), 0, 'each committed checkpoint is a batch boundary')
  or diag(explain [ sort { $a <=> $b } keys %checkpoints ]);
is($node->safe_psql('app', q{SELECT count(*), max(last_seq) FROM board}), "$tickets|$events",
	'version 1 serves unchanged meanwhile');

# an immediate stop in the middle of the build: it resumes from its last batch
my $before = $node->safe_psql('app', q{SELECT checkpoint FROM evlog.projections WHERE name = 'board_v2'});
$node->stop('immediate');
$node->start;
my $after = $node->safe_psql('app', q{
  SELECT p.checkpoint || ' ' || (p.checkpoint = (SELECT coalesce(sum(moves), 0) FROM board_v2))
    FROM evlog.projections p WHERE p.name = 'board_v2'});
my ($resumed) = split / /, $after;
ok($resumed > 0 && $resumed < $events && $resumed % $batch == 0,
	"after the stop the build stands at a batch boundary ($resumed; $before before the stop)");
like($after, qr/ true$/, 'its table holds exactly the events up to its checkpoint');
ok(poll_until($node, 'app', qq{SELECT checkpoint > $resumed FROM evlog.projections WHERE name = 'board_v2'}, 't'),
	'the build goes on from there');
$node->safe_psql('app', 'UPDATE gate SET slow = false');

# steady appends and a reader that checks, at every moment, that the board
# is whole (every ticket) and at the head: never empty, never half-built
my $append = $node->basedir . '/append.pgbench';
open my $fh, '>', $append or die $!;
print $fh qq{\\set t random(0, $tickets - 1)
SELECT evlog_append('ticket-' || :t, 'ticket.moved', jsonb_build_object('to', 'col' || :t % 7));
};
close $fh;
my $read = $node->basedir . '/read.pgbench';
open $fh, '>', $read or die $!;
print $fh qq{SELECT CASE WHEN b.n = $tickets AND b.m = e.h THEN 1 ELSE 1 / (b.n - b.n) END
  FROM (SELECT count(*) AS n, max(last_seq) AS m FROM board) b, (SELECT max(seq) AS h FROM evlog.events) e;
};
close $fh;
# appends run until well after the promotion: longer for a larger log, whose
# version takes longer to reach the head (85 s at 500,000 events here)
my $seconds = $events > 100000 ? int($events / 3000) : 30;
my ($aout, $aerr, $rout, $rerr) = ('', '', '', '');
my $start = time;
my $appender = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-R', '200', '-T', $seconds, '-f', $append, '-h', $node->host, '-p', $node->port, 'app' ],
	'>', \$aout, '2>', \$aerr);
my $reader = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '1', '-R', '100', '-T', $seconds, '-f', $read, '-h', $node->host, '-p', $node->port, 'app' ],
	'>', \$rout, '2>', \$rerr);

# the cut-over: promote and swap the view in one transaction
my $promoted = $node->safe_psql('app', q{
  BEGIN;
  SELECT evlog_promote('board_v2', '10 minutes');
  CREATE OR REPLACE VIEW board AS SELECT ticket, status, last_seq, moves FROM board_v2;
  COMMIT;});
my $promoted_after = time - $start;
cmp_ok($promoted, '>', $events, "evlog_promote returned the head it brought version 2 to ($promoted)");
cmp_ok($promoted_after, '<', $seconds - 2, 'promoted while the appends went on');
$appender->finish;
is($?, 0, 'the appender ran without errors');
like($aout, qr/number of failed transactions: 0/, 'no append failed');
$reader->finish;
is($?, 0, 'the reader never saw an empty, half-built or lagging board') or diag($rerr);
like($rout, qr/number of transactions actually processed: [1-9]/, 'the reader read all along');

is($node->safe_psql('app', q{SELECT string_agg(name || ' ' || mode || ' ' || tables::text || ' ' || coalesce(replaces, '-'), ', ') FROM evlog.projections}),
	'board sync {board_v2} -', 'version 2 took the name and mode of version 1');
is($node->safe_psql('app', q{SELECT count(*), max(last_seq) = (SELECT max(seq) FROM evlog.events), sum(moves) = (SELECT count(*) FROM evlog.events) FROM board}),
	"$tickets|t|t", 'the board is version 2, at the head, every event counted');
is($node->safe_psql('app', q{SELECT count(*) FROM evlog_verify('board')}), '0', 'evlog_verify finds no drift');

# snapshots: at about 90 % of the log, then the tail
my $snap = $node->safe_psql('app', q{SELECT evlog_snapshot('board')});
my $tail = int($snap / 9);
$node->safe_psql('app', qq{
  INSERT INTO evlog.append_queue (stream, type, payload)
    SELECT 'ticket-' || i % $tickets, 'ticket.moved', jsonb_build_object('to', 'tail' || i % 3)
    FROM generate_series(1, $tail) i});
my ($folded, $stderr);
$node->psql('app', q{SELECT evlog_rebuild('board', from_snapshot => true)}, stdout => \$folded, stderr => \$stderr);
is($folded, $tail, "a rebuild from the snapshot folds exactly the tail ($tail events)");
like($stderr, qr/restored its snapshot at seq $snap/, 'it says which snapshot it restored');
is($node->safe_psql('app', q{SELECT count(*) FROM evlog_verify('board')}), '0', 'no drift after the rebuild from the snapshot');

$node->safe_psql('app', q{
  CREATE OR REPLACE FUNCTION fold_v2(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO board_v2 VALUES (e.stream, upper(e.payload->>'to'), e.seq, 1)
    ON CONFLICT (ticket) DO UPDATE SET status = excluded.status, last_seq = excluded.last_seq,
                                       moves = board_v2.moves + 1 $$});
$node->psql('app', q{SELECT evlog_rebuild('board', from_snapshot => true)}, stdout => \$folded, stderr => \$stderr);
is($folded, $node->safe_psql('app', 'SELECT evlog_head()'), 'after the handler changed, the rebuild replays the whole log');
like($stderr, qr/no snapshot matches/, 'and says that no snapshot matches');
is($node->safe_psql('app', q{SELECT count(*) FROM board WHERE status <> upper(status)}), '0', 'the new handler made the board');

# snapshots survive pg_dump / pg_restore (their copies, with their rows, and
# their rows in evlog.snapshots: a rebuild from the snapshot works in the
# restored database), and DROP EXTENSION evlog goes with them there
$node->safe_psql('postgres', 'CREATE DATABASE snapdump');
$node->safe_psql('snapdump', q{
  CREATE EXTENSION evlog;
  CREATE TABLE tally (stream text PRIMARY KEY, n bigint NOT NULL);
  CREATE TABLE tally_seen (seq bigint PRIMARY KEY);
  CREATE FUNCTION count_it(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO tally VALUES (e.stream, 1) ON CONFLICT (stream) DO UPDATE SET n = tally.n + 1;
    INSERT INTO tally_seen VALUES (e.seq) $$;
  SELECT count(evlog_append('s-' || i % 4, 'x.counted', '{}')) FROM generate_series(1, 40) i;
  SELECT evlog_register_projection('tally', 'count_it(evlog.events)', '{tally,tally_seen}', mode => 'sync');
  SELECT evlog_snapshot('tally');
  SELECT count(evlog_append('s-' || i % 4, 'x.counted', '{}')) FROM generate_series(1, 10) i;
});
my $snapshots_q = q{SELECT projection, seq, fingerprint, copies FROM evlog.snapshots ORDER BY seq};
my $copies_q = q{SELECT string_agg(c || ':' || (xpath('/row/n/text()',
                   query_to_xml(format('SELECT count(*) AS n, sum(hashtext(t::text)) AS h FROM evlog_snapshots.%I t', c), false, false, '')))[1]::text,
                   ' ' ORDER BY c)
                 FROM evlog.snapshots, unnest(copies) c};
my $snapshots_before = $node->safe_psql('snapdump', $snapshots_q);
my $copies_before = $node->safe_psql('snapdump', $copies_q);
like($snapshots_before, qr/^tally\|40\|[0-9a-f]{64}\|\{s\d+_1,s\d+_2\}$/, 'a snapshot of two tables at seq 40');
my $dump = $node->basedir . '/snapdump.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('snapdump') ], 'pg_dump of a database with a snapshot');
$node->safe_psql('postgres', 'CREATE DATABASE snaprestored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('snaprestored'), $dump ], 'pg_restore of it');
is($node->safe_psql('snaprestored', $snapshots_q), $snapshots_before, 'evlog.snapshots is restored');
is($node->safe_psql('snaprestored', $copies_q), $copies_before, 'the copies are restored with their rows');
$node->psql('snaprestored', q{SELECT evlog_rebuild('tally', from_snapshot => true)}, stdout => \$folded, stderr => \$stderr);
is($folded, '10', 'a rebuild from the restored snapshot folds only the tail');
like($stderr, qr/restored its snapshot at seq 40/, 'it used the restored snapshot');
is($node->safe_psql('snaprestored', q{SELECT count(*) FROM evlog_verify('tally')}), '0', 'no drift after it');
$node->safe_psql('snaprestored', q{
  BEGIN;
  SET LOCAL evlog.allow_drop = on;
  DROP FUNCTION count_it(evlog.events);
  DROP EXTENSION evlog;
  COMMIT;});
is($node->safe_psql('snaprestored', q{
  SELECT count(*) FROM pg_namespace WHERE nspname IN ('evlog', 'evlog_snapshots')}), '0',
	'DROP EXTENSION evlog drops it with its snapshots in the restored database');
is($node->safe_psql('snaprestored', q{SELECT count(*) FROM tally_seen}), '50', 'the projection\'s own tables stay');

$node->stop;
done_testing();

# The log across a crash, and through pg_dump / pg_restore: G1, G3 and G7
# hold afterwards, and the next append continues at head + 1.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;

my $node = evlog_node('primary', db => 'app');
$node->safe_psql('app', q{
  SELECT evlog_append('s-' || (i % 13), 'thing.happened', jsonb_build_object('i', i),
                      jsonb_build_object('batch', 1), 'key-' || i)
  FROM generate_series(1, 500) i;
});

# the invariants every check below repeats
my $invariants = q{
  SELECT count(*), max(seq),
         (SELECT count(*) FROM (SELECT stream_version <> row_number() OVER (PARTITION BY stream ORDER BY seq) AS bad
                                FROM evlog.events) v WHERE bad),
         (SELECT checked || '/' || coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain())
  FROM evlog.events};
my $content = q{SELECT md5(string_agg(e::text, ',' ORDER BY seq)) FROM evlog.events e};

is($node->safe_psql('app', $invariants), '500|500|0|500/intact', 'log written: gapless, streams, chain');
my $before = $node->safe_psql('app', $content);

# a crash in the middle of an appending transaction loses only that transaction
my $bg = $node->background_psql('app');
$bg->query_safe(q{BEGIN; SELECT evlog_append('crash', 'thing.lost', '{}');});
$node->stop('immediate');
$bg->quit;
$node->start;
is($node->safe_psql('app', $invariants), '500|500|0|500/intact', 'after a crash: nothing lost, nothing half-written');
is($node->safe_psql('app', $content), $before, 'after a crash: the same events');
is($node->safe_psql('app', q{SELECT evlog_append('after', 'thing.happened', '{}')}), '501',
  'the next append after a crash gets head + 1');
is($node->safe_psql('app', q{SELECT evlog_append('s-1', 'thing.happened', '{"i": 1}', '{}', 'key-1')}), '1',
  'an idempotent retry after a crash returns the original seq');

# a projection, whose registry row and checkpoint must survive the dump
$node->safe_psql('app', q{
  CREATE TABLE seen (stream text PRIMARY KEY, n int NOT NULL);
  CREATE FUNCTION seen_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO seen VALUES (e.stream, 1) ON CONFLICT (stream) DO UPDATE SET n = seen.n + 1 $$;
  SELECT evlog_register_projection('seen', 'seen_fold(evlog.events)', '{seen}', '{thing.happened}', on_error => 'skip');
});
ok($node->poll_query_until('app', q{SELECT lag_events FROM evlog.projection_status}, '0'), 'the projection caught up');
my $registry = q{SELECT name, handler, tables, event_types, mode, on_error, owner, state, checkpoint FROM evlog.projections};

# dump and restore into a new database: the restore is checked as it loads
my $dump = $node->basedir . '/app.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('app') ], 'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
is($node->safe_psql('restored', $invariants), '501|501|0|501/intact', 'restored log: gapless, streams, chain');
is($node->safe_psql('restored', $content), $node->safe_psql('app', $content), 'restored log: the same events');
is($node->safe_psql('restored', $registry), $node->safe_psql('app', $registry), 'restored registry: the same projections and checkpoints');
is($node->safe_psql('restored', q{SELECT evlog_append('next', 'thing.happened', '{}')}), '502',
  'the next append after a restore gets head + 1');
is($node->safe_psql('restored', q{SELECT evlog_append('s-1', 'thing.happened', '{"i": 1}', '{}', 'key-1')}), '1',
  'idempotency keys survive a restore');

# a restore of a tampered dump is refused: the guard checks the chain on load
my $plain = $node->basedir . '/app.sql';
$node->command_ok([ 'pg_dump', '-f', $plain, '-d', $node->connstr('app') ], 'pg_dump plain');
my $sql = slurp_file($plain);
$sql =~ s/\{"i": 7\}/{"i": 70}/ or die 'no event to tamper with';
open my $fh, '>', $plain or die $!;
print $fh $sql;
close $fh;
$node->safe_psql('postgres', 'CREATE DATABASE tampered');
my ($ret, $out, $err) = $node->psql('tampered', undef, extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', $plain ]);
isnt($ret, 0, 'a tampered dump does not restore');
like($err, qr/does not continue the log/, 'the guard names the problem');

$node->stop;
done_testing();

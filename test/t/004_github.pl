# The main job on real input (issue 5): GitHub webhook deliveries from
# @octokit/webhooks-examples into the kanban and pull_requests projections.
# The corpus comes from examples/github/fetch.sh (EVLOG_CORPUS, set by
# test/run.sh). Asserts the counts, the dedup, the board columns of named
# entities, and that every row matches the latest payload for its entity.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;

my $src = $ENV{EVLOG_SRC} or die 'EVLOG_SRC is not set';
my $corpus = $ENV{EVLOG_CORPUS};
ok(defined $corpus && -f "$corpus/api.github.com/index.json", 'the corpus is there')
  or BAIL_OUT('no corpus: examples/github/fetch.sh failed');

my $node = evlog_node('github', db => 'demo');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('demo'),
	'-f', "$src/examples/github/projections.sql" ], 'projections.sql');

sub load
{
	my ($ret, $out, $err) = $node->psql('demo', undef,
		extra_params => [ '-v', "corpus=$corpus", '-f', "$src/examples/github/load.sql" ]);
	is($ret, 0, 'load.sql ran') or diag($err);
	return $out;
}
like(load(), qr/^loaded 224 deliveries: 141 events appended, 83 deduplicated/m,
	'first load: 224 deliveries, 141 events, 83 repeated deliveries deduplicated');
like(load(), qr/^loaded 224 deliveries: 0 events appended, 224 deduplicated/m, 'a second load appends nothing');
is($node->safe_psql('demo', q{SELECT count(*), count(DISTINCT idempotency_key) FROM evlog.events}), '141|141',
	'one event per distinct delivery, keyed by its SHA-256');
is($node->safe_psql('demo', q{SELECT count(*) FROM (SELECT DISTINCT type FROM evlog.events WHERE type !~ '^[a-z_0-9]+\.[a-z_]+$') t}),
	'0', 'types are <event>.<action>');
ok($node->poll_query_until('demo', q{SELECT bool_and(lag_events = 0) FROM evlog.projection_status}, 't'),
	'both projections catch up');

# the board's columns for named entities
is($node->safe_psql('demo', q{
  SELECT string_agg(entity || '=' || column_name, ' ' ORDER BY entity) FROM github.board
  WHERE entity IN ('github/186853002/issue/1', 'github/118/pull/2', 'github/186853002/pull/2',
                   'github/186853002/card/21567453', 'github/17273051/issue/1')}),
	'github/118/pull/2=Closed github/17273051/issue/1=To do github/186853002/card/21567453=Small bugfixes '
	  . 'github/186853002/issue/1=In progress github/186853002/pull/2=In review',
	'board columns of named issues, pull requests and cards');
is($node->safe_psql('demo', q{SELECT count(*) FROM github.board}), '8', 'the board has 8 entities');
is($node->safe_psql('demo', q{SELECT string_agg(entity || ':' || state || ':' || review_decision || ':' || open_threads, ' ' ORDER BY entity) FROM github.pull_requests}),
	'github/118/pull/2:closed:pending:0 github/186853002/pull/2:open:pending:1 github/280886604/pull/118:open:pending:0',
	'the pull-request roll-up');

# every row against the latest payload for its entity, which carries its full state
is($node->safe_psql('demo', q{
  WITH latest AS (
    SELECT DISTINCT ON (stream) stream, coalesce(payload->'pull_request', payload->'issue') AS obj, type
    FROM evlog.events
    WHERE type ~ '^(issues|issue_comment|pull_request|pull_request_review|pull_request_review_comment|pull_request_review_thread)\.'
    ORDER BY stream, seq DESC)
  SELECT count(*) FROM github.board b JOIN latest l ON l.stream = b.entity
  WHERE b.title IS DISTINCT FROM l.obj->>'title'
     OR b.labels IS DISTINCT FROM github.names(l.obj->'labels', 'name')
     OR b.assignees IS DISTINCT FROM github.names(l.obj->'assignees', 'login')
     OR b.column_name IS DISTINCT FROM CASE WHEN l.type LIKE 'pull_request%' THEN github.pull_column(l.obj)
                                            ELSE github.issue_column(l.obj) END}),
	'0', 'every issue and pull request on the board matches its latest payload');
is($node->safe_psql('demo', q{
  WITH latest AS (
    SELECT DISTINCT ON (stream) stream, payload->'pull_request' AS pr
    FROM evlog.events WHERE type LIKE 'pull_request%' ORDER BY stream, seq DESC)
  SELECT count(*) FROM github.pull_requests p JOIN latest l ON l.stream = p.entity
  WHERE p.title IS DISTINCT FROM l.pr->>'title' OR p.state IS DISTINCT FROM l.pr->>'state'
     OR p.draft IS DISTINCT FROM coalesce((l.pr->>'draft')::boolean, false)}),
	'0', 'every pull request in the roll-up matches its latest payload');
is($node->safe_psql('demo', q{
  SELECT count(*) FROM github.board b
  JOIN LATERAL (SELECT payload->'project_card' AS card FROM evlog.events
                WHERE stream = b.entity ORDER BY seq DESC LIMIT 1) l ON true
  WHERE b.kind = 'card' AND b.column_id IS DISTINCT FROM (l.card->>'column_id')::bigint}),
	'0', 'every card sits in the column of its latest payload');

# the drift drill of make demo
$node->safe_psql('demo', q{UPDATE github.board SET column_name = 'Done' WHERE entity = 'github/186853002/issue/1'});
is($node->safe_psql('demo', q{SELECT table_name || ' ' || missing || ' ' || unexpected FROM evlog_verify('kanban')}),
	'github.board 1 1', 'evlog_verify sees the hand edit');
is($node->safe_psql('demo', q{SELECT evlog_rebuild('kanban')}), '141', 'evlog_rebuild replays the log');
is($node->safe_psql('demo', q{SELECT count(*) FROM evlog_verify('kanban')}), '0', 'no drift after the rebuild');
is($node->safe_psql('demo', q{SELECT count(*) FROM evlog_verify('pull_requests')}), '0', 'no drift in the roll-up');
is($node->safe_psql('demo', q{SELECT checked || ' ' || coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain()}),
	'141 intact', 'the hash chain is intact');

$node->stop;
done_testing();

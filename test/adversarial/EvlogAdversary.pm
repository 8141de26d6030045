# What every adversarial test needs: a node with evlog preloaded that
# restarts after a crash, a database with evlog, events, a sync and an async
# projection, event types and an upcaster, the unprivileged role mallory,
# and the checks every attack ends with: no backend crashed, and the log is
# whole.
#
#   my $node = adversary_node('name');           # started
#   adversary_db($node, 'app');                  # CREATE DATABASE + fixture
#   my $watch = crash_watch($node);              # before the attack
#   ... attack, e.g. mallory_psql($node, 'app', $sql) ...
#   no_crash_since($node, $watch, 'what was tried');
#   log_is_whole($node, 'app');
package EvlogAdversary;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/../t";
use EvlogNode;
use EvlogPoll;

our @EXPORT = qw(adversary_node adversary_db mallory_psql crash_watch
  crashes_since no_crash_since wait_accepting log_is_whole poll_until);
our @EXPORT_OK = qw(grant_execute_sql);

# The unprivileged role: LOGIN, CONNECT on each adversary_db, nothing else
our $MALLORY = 'mallory';

# adversary_node(NAME, EXTRA_CONF): a started node with evlog preloaded and
# restart_after_crash on (a crash is then seen, not fatal to the test)
sub adversary_node
{
	my ($name, $extra) = @_;
	my $node = evlog_node($name, extension => 0, conf => qq{
restart_after_crash = on
log_line_prefix = '%m [%p] %q%a '
} . ($extra // ''));
	$node->safe_psql('postgres', qq{
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$MALLORY') THEN
    CREATE ROLE $MALLORY LOGIN;
  END IF;
END \$\$});
	return $node;
}

# adversary_db(NODE, DB, VERSION): create DB with evlog (at VERSION, default
# the control file's) and the fixture, owned by the bootstrap superuser:
#   - 40 events in 4 streams, of types adv.thing (versions 1, 2) and adv.other
#   - event types adv.thing 1 (check '$.n >= 0') and 2 (validator), and an
#     upcaster adv.thing 1 -> 2
#   - projection adv_sync (sync) into adv_sync_t, adv_async (async, upcast)
#     into adv_async_t, both caught up
#   - spare objects a call may name: adv_spare (a table), adv_fold,
#     adv_reset, adv_validate, adv_upcast (functions)
# mallory gets CONNECT on DB and nothing else.
sub adversary_db
{
	my ($node, $db, $version) = @_;
	my $v = defined $version ? " VERSION '$version'" : '';
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql('postgres', "GRANT CONNECT ON DATABASE $db TO $MALLORY");
	$node->safe_psql($db, qq{
CREATE EXTENSION evlog$v;
CREATE TABLE adv_sync_t (stream text PRIMARY KEY, n int NOT NULL);
CREATE TABLE adv_async_t (stream text PRIMARY KEY, n int NOT NULL);
CREATE TABLE adv_spare (stream text PRIMARY KEY, n int NOT NULL);
CREATE FUNCTION adv_fold(e evlog.events) RETURNS void LANGUAGE sql AS \$\$
  INSERT INTO adv_spare VALUES (e.stream, 1) ON CONFLICT (stream) DO NOTHING \$\$;
CREATE FUNCTION adv_sync_fold(e evlog.events) RETURNS void LANGUAGE sql AS \$\$
  INSERT INTO adv_sync_t VALUES (e.stream, 1)
  ON CONFLICT (stream) DO UPDATE SET n = adv_sync_t.n + 1 \$\$;
CREATE FUNCTION adv_async_fold(e evlog.events) RETURNS void LANGUAGE sql AS \$\$
  INSERT INTO adv_async_t VALUES (e.stream, 1)
  ON CONFLICT (stream) DO UPDATE SET n = adv_async_t.n + 1 \$\$;
CREATE FUNCTION adv_reset() RETURNS void LANGUAGE sql AS \$\$ SELECT \$\$;
CREATE FUNCTION adv_validate(p jsonb) RETURNS boolean LANGUAGE sql
  AS \$\$ SELECT p ? 'n' \$\$;
CREATE FUNCTION adv_upcast(p jsonb) RETURNS jsonb LANGUAGE sql
  AS \$\$ SELECT p || '{"v": 2}' \$\$;
SELECT evlog_define_event_type('adv.thing', 1, '\$.n >= 0');
SELECT evlog_define_event_type('adv.thing', 2, validator => 'adv_validate(jsonb)');
SELECT evlog_define_upcaster('adv.thing', 1, 'adv_upcast(jsonb)');
SELECT evlog_register_projection('adv_sync', 'adv_sync_fold(evlog.events)', '{adv_sync_t}',
                                 mode => 'sync');
SELECT evlog_register_projection('adv_async', 'adv_async_fold(evlog.events)', '{adv_async_t}',
                                 reset => 'adv_reset()', upcast => true);
SELECT evlog_append('adv-' || (i % 4), CASE WHEN i % 5 = 0 THEN 'adv.other' ELSE 'adv.thing' END,
                    jsonb_build_object('n', i), '{}', 'adv-key-' || i, NULL,
                    CASE WHEN i % 5 = 0 OR i <= 20 THEN 1 ELSE 2 END)
FROM generate_series(1, 40) i;
SELECT evlog_catch_up('adv_async');
});
	return;
}

# mallory_psql(NODE, DB, SQL, %PARAMS): NODE->psql as mallory; returns what
# PostgreSQL::Test::Cluster's psql returns
sub mallory_psql
{
	my ($node, $db, $sql, %params) = @_;
	push @{ $params{extra_params} }, '-U', $MALLORY;
	return $node->psql($db, $sql, %params);
}

# crash_watch(NODE): where a later crashes_since looks from: the server log's
# size, and pg_postmaster_start_time() (which changes only when the
# postmaster itself restarted: a crash restart keeps it, and the server log
# is what shows one)
sub crash_watch
{
	my ($node) = @_;
	return {
		offset => -s $node->logfile,
		start => $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'),
	};
}

# crashes_since(NODE, WATCH): the server log lines since WATCH that say a
# process died (by a signal, or an exit the postmaster treats as a crash)
sub crashes_since
{
	my ($node, $watch) = @_;
	my $log = slurp_file($node->logfile, $watch->{offset});
	return grep { /terminated by signal|server process .* was terminated|terminating any other active server processes/ }
	  split /\n/, $log;
}

# wait_accepting(NODE): 1 once NODE accepts connections again (after a
# crash restart), 0 after the usual timeout
sub wait_accepting
{
	my ($node) = @_;
	return poll_until($node, 'postgres', 'SELECT 1', '1');
}

# no_crash_since(NODE, WATCH, NAME): assert that no process crashed and the
# postmaster did not restart since WATCH; prints the crash lines and the
# query that was running ("Failed process was running") when one did
sub no_crash_since
{
	my ($node, $watch, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	wait_accepting($node);
	my @crashes = crashes_since($node, $watch);
	my $start = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
	my $ok = ok(!@crashes && $start eq $watch->{start}, "$name: no backend crashed");
	if (!$ok)
	{
		diag("postmaster start time $watch->{start} -> $start");
		my $log = slurp_file($node->logfile, $watch->{offset});
		diag($_) for grep { /terminated by signal|was terminated|Failed process was running/ }
		  split /\n/, $log;
	}
	return $ok;
}

# grant_execute_sql(FUNCTIONS, ROLES): SQL granting EXECUTE on every
# signature of the named functions (an arrayref of names) to ROLES (a
# comma-separated list): an update may give a function new arguments
sub grant_execute_sql
{
	my ($functions, $roles) = @_;
	my $names = join(',', @$functions);
	return qq{
  DO \$g\$ DECLARE f regprocedure; BEGIN
    FOR f IN SELECT oid FROM pg_proc WHERE proname = ANY ('{$names}') LOOP
      EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO $roles', f);
    END LOOP; END \$g\$;
};
}

# log_is_whole(NODE, DB): assert that DB's log holds seq 1..head with no
# hole, every stream's versions are 1..n, and evlog_verify_chain() checks
# every event and reports first_bad_seq NULL
sub log_is_whole
{
	my ($node, $db, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $head = $node->safe_psql($db, 'SELECT evlog_head()');
	is( $node->safe_psql($db, q{
SELECT count(*) = max(seq) AND min(seq) = 1,
       (SELECT count(*) FROM (SELECT stream_version <> row_number() OVER (PARTITION BY stream ORDER BY seq) AS bad
                              FROM evlog.events) v WHERE bad),
       (SELECT checked || '/' || coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain())
FROM evlog.events}),
		"t|0|$head/intact",
		($name // $db) . ": the log is whole (1..$head, no hole, chain intact)");
	return;
}

1;

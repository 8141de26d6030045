# Updating in place from 0.1.0 (README "Updating from 0.1.0"): a database
# created at 0.1.0 and filled through every path keeps working with the new
# library before ALTER EXTENSION evlog UPDATE; the update keeps the log and
# its chain, the registry, checkpoints, dead letters, event types, upcasters
# and idempotency keys, and the worker goes on; and the updated database
# then holds exactly the objects of a fresh install of the new version.
# Last, an update while the worker is in the middle of a batch.
#
# The comparison with a fresh install is the point of this test: it fails
# when the update script forgets something a fresh install has (or the other
# way round) once the new version gets an install script of its own.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Basename qw(basename);
use File::Compare qw(compare);
use FindBin;
use lib $FindBin::Bin;
use EvlogCatalog;
use EvlogNode;
use EvlogPoll;

my $node = evlog_node('update', extension => 0, conf => qq{
evlog.launcher_naptime = 1
evlog.worker_naptime = '60s'
# three databases, each with a worker, and projection workers of their own
max_worker_processes = 32
});

# poll a query until it returns the expected value, within the usual timeout
sub poll
{
	my ($db, $query, $expected, $name) = @_;
	ok(poll_until($node, $db, $query, $expected), $name);
}

# The install and update scripts PostgreSQL sees must be this tree's: a stale
# evlog--<new>.sql left by another build would change the path a fresh
# CREATE EXTENSION takes.
my $sharedir = $node->config_data('--sharedir') . '/extension';
my @installed = sort map { basename($_) } glob("$sharedir/evlog--*.sql");
SKIP:
{
	skip 'EVLOG_SRC not set: cannot compare the installed scripts with the tree', 2
	  unless $ENV{EVLOG_SRC};
	my @tree = sort map { basename($_) } glob("$ENV{EVLOG_SRC}/sql/evlog--*.sql");
	is("@installed", "@tree", 'the installed evlog--*.sql are the tree\'s (no stale script)');
	is(join(' ', grep { compare("$sharedir/$_", "$ENV{EVLOG_SRC}/sql/$_") != 0 } @tree), '',
		'and have the tree\'s content');
}

my $target = $node->safe_psql('postgres', q{SELECT default_version FROM pg_available_extensions WHERE name = 'evlog'});
is($target, '0.2.0', 'the default version is 0.2.0');
is($node->safe_psql('postgres', q{SELECT string_agg(version || ' superuser ' || superuser || ' relocatable ' || relocatable, ', ' ORDER BY version)
                                   FROM pg_available_extension_versions WHERE name = 'evlog'}),
	'0.1.0 superuser true relocatable false, 0.2.0 superuser true relocatable false',
	'PostgreSQL offers 0.1.0 and 0.2.0');
is($node->safe_psql('postgres', q{SELECT path FROM pg_extension_update_paths('evlog') WHERE source = '0.1.0' AND target = '0.2.0'}),
	'0.1.0--0.2.0', 'and updates 0.1.0 to 0.2.0 with one script');

# every command that extension scripts run, in order (to see which scripts
# PostgreSQL ran); user objects live in the schema app, out of the comparison
my $ddl_log = q{
  CREATE SCHEMA app;
  CREATE TABLE app.ddl_log (n bigserial PRIMARY KEY, tag text, object_type text, identity text);
  CREATE FUNCTION app.log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO app.ddl_log (tag, object_type, identity)
    SELECT command_tag, object_type, object_identity FROM pg_event_trigger_ddl_commands() WHERE in_extension;
  END $$;
  CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION app.log_ddl();
};
my $ddl_commands = q{SELECT string_agg(tag || ' ' || object_type || ' ' || coalesce(identity, ''), E'\n' ORDER BY n) FROM app.ddl_log};

#
# 1. A database at 0.1.0, filled through every path, with the new library.
#
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('old', $ddl_log);
$node->safe_psql('old', q{CREATE EXTENSION evlog VERSION '0.1.0'});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'evlog'}), '0.1.0', 'created at 0.1.0');
my $commands_010 = $node->safe_psql('old', $ddl_commands);
like($commands_010, qr/^CREATE TABLE table evlog\.events$/m, 'the event trigger sees the commands of the install script');

# SQL for an async projection NAME that records the seq of each event and
# raises "KEY event SEQ" on an event whose payload has KEY; ON_ERROR: 'stop'
# or 'skip'
sub seq_projection
{
	my ($name, $key, $on_error) = @_;
	return qq{
  CREATE TABLE app.$name (seq bigint PRIMARY KEY);
  CREATE FUNCTION app.${name}_fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS \$\$
  BEGIN
    IF e.payload ? '$key' THEN RAISE EXCEPTION '$key event %', e.seq; END IF;
    INSERT INTO app.$name VALUES (e.seq);
  END \$\$;
  SELECT evlog_register_projection('$name', 'app.${name}_fold(evlog.events)', '{app.$name}', on_error => '$on_error');
};
}

$node->safe_psql('old', q{
  -- the SQLSTATE a statement fails with, 'ok' when it does not
  CREATE FUNCTION app.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS $$
  BEGIN EXECUTE q; RETURN 'ok'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END $$;

  -- event types: jsonpath checks and a validator, two versions and an upcaster
  CREATE FUNCTION app.customer_ok(p jsonb) RETURNS boolean LANGUAGE sql AS $$ SELECT length(p->>'customer') > 1 $$;
  CREATE FUNCTION app.invoice_v1_to_v2(p jsonb) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object('customer', p->'customer',
                              'lines', jsonb_build_array(jsonb_build_object('cents', (p->>'amount')::int * 100))) $$;
  SELECT evlog_define_event_type('invoice.issued', 1, '$.amount >= 0 && exists($.customer)', 'app.customer_ok(jsonb)', 'amount in euros');
  SELECT evlog_define_event_type('invoice.issued', 2, '$.lines.size() > 0', 'app.customer_ok(jsonb)', 'lines in cents');
  SELECT evlog_define_upcaster('invoice.issued', 1, 'app.invoice_v1_to_v2(jsonb)');

  -- async, on_error 'stop': events per stream
  CREATE TABLE app.tally (stream text PRIMARY KEY, n int NOT NULL, last_seq bigint NOT NULL);
  CREATE FUNCTION app.tally_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO app.tally AS t VALUES (e.stream, 1, e.seq)
    ON CONFLICT (stream) DO UPDATE SET n = t.n + 1, last_seq = excluded.last_seq $$;
  SELECT evlog_register_projection('tally', 'app.tally_fold(evlog.events)', '{app.tally}');

  -- sync: events per type
  CREATE TABLE app.by_type (type text PRIMARY KEY, n int NOT NULL);
  CREATE FUNCTION app.by_type_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO app.by_type AS t VALUES (e.type, 1) ON CONFLICT (type) DO UPDATE SET n = t.n + 1 $$;
  SELECT evlog_register_projection('by_type', 'app.by_type_fold(evlog.events)', '{app.by_type}', mode => 'sync');
}
  # async, on_error 'skip': a bad event becomes a dead letter
  . seq_projection('picky', 'bad', 'skip')
  # async, on_error 'stop': a fatal event fails it
  . seq_projection('fragile', 'fatal', 'stop') . q{

  -- async with upcast: invoices at version 2, in cents
  CREATE TABLE app.invoices (seq bigint PRIMARY KEY, customer text NOT NULL, cents int NOT NULL);
  CREATE FUNCTION app.invoices_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO app.invoices VALUES (e.seq, e.payload->>'customer', (e.payload->'lines'->0->>'cents')::int) $$;
  SELECT evlog_register_projection('invoices', 'app.invoices_fold(evlog.events)', '{app.invoices}', '{invoice.issued}',
                                   upcast => true);
});
poll('old', q{SELECT evlog.worker_pid() IS NOT NULL}, 't', '0.1.0 with the new library: the worker runs');
my $worker = $node->safe_psql('old', q{SELECT evlog.worker_pid()});

# single appends with keys: seq 1..60
is($node->safe_psql('old', q{
  SELECT string_agg(evlog_append('order-' || i % 6, 'order.placed', jsonb_build_object('i', i),
                                 jsonb_build_object('trace', i), 'k-' || i)::text, ',' ORDER BY i)
  FROM generate_series(1, 60) i}),
	join(',', 1 .. 60), '0.1.0 with the new library: single appends with keys');
# a batch with keys: 61..100
is($node->safe_psql('old', q{
  SELECT evlog_append_batch(array_agg(ROW('cart-' || i % 4, 'cart.changed', jsonb_build_object('i', i), '{}',
                                          'b-' || i, NULL, 1)::evlog.new_event ORDER BY i))
  FROM generate_series(1, 40) i}),
	'{' . join(',', 61 .. 100) . '}', 'a batch with keys');
# COPY into the queue with keys: 101..130
my $copy = "COPY evlog.append_queue (stream, type, payload, idempotency_key) FROM STDIN;\n"
  . join('', map { "copy-" . ($_ % 3) . "\tline.copied\t{\"i\": $_}\tc-$_\n" } 1 .. 30) . "\\.\n";
$node->safe_psql('old', $copy);
is($node->safe_psql('old', q{SELECT evlog_head() || ' ' || count(*) FROM evlog.events WHERE idempotency_key LIKE 'c-%'}),
	'130 30', 'COPY into evlog.append_queue');
# invoices at both versions (131..138), checked against their contracts
is($node->safe_psql('old', q{
  SELECT string_agg(evlog_append('inv-' || i, 'invoice.issued',
                                 CASE WHEN i <= 5 THEN jsonb_build_object('amount', i, 'customer', 'c' || i || i)
                                      ELSE jsonb_build_object('customer', 'c' || i || i,
                                                              'lines', jsonb_build_array(jsonb_build_object('cents', i))) END,
                                 type_version => CASE WHEN i <= 5 THEN 1 ELSE 2 END)::text, ',' ORDER BY i)
  FROM generate_series(1, 8) i}),
	join(',', 131 .. 138), 'invoices at versions 1 and 2');
is($node->safe_psql('old', q{
  SELECT app.sqlstate_of($$SELECT evlog_append('inv-x', 'invoice.issued', '{"amount": -1, "customer": "cx"}')$$) || ' ' ||
         app.sqlstate_of($$SELECT evlog_append('inv-x', 'invoice.issued', '{"amount": 1, "customer": "c"}')$$)}),
	'EV004 EV004', 'the check and the validator refuse bad invoices');
# a bad event (picky: dead letter), a fatal one (fragile: fails), 139..142
is($node->safe_psql('old', q{
  SELECT evlog_append('odd', 'odd.thing', '{"bad": true}') || ',' || evlog_append('odd', 'odd.thing', '{"fatal": true}') || ',' ||
         evlog_append('odd', 'odd.thing', '{}') || ',' || evlog_append('odd', 'odd.thing', '{}')}),
	'139,140,141,142', 'a bad and a fatal event');
# the queue's trigger path (INSERT ... RETURNING): 143
is($node->safe_psql('old', q{INSERT INTO evlog.append_queue (stream, type, payload, idempotency_key)
                             VALUES ('queue', 'line.inserted', '{"q": 1}', 'q-1') RETURNING seq}),
	'143', 'INSERT into evlog.append_queue');

poll('old', q{SELECT string_agg(name || ' ' || state || ' ' || checkpoint, ', ' ORDER BY name) FROM evlog.projections},
	'by_type active 143, fragile failed 139, invoices active 143, picky active 143, tally active 143',
	'the worker folds to the head; the fragile projection failed before its fatal event');
is($node->safe_psql('old', q{SELECT last_error_seq || ' ' || last_error FROM evlog.projections WHERE name = 'fragile'}),
	'140 fatal event 140', 'the failure is recorded');
is($node->safe_psql('old', q{SELECT string_agg(projection || ' ' || seq || ' ' || error, ', ') FROM evlog.dead_letters}),
	'picky 139 bad event 139', 'the bad event is a dead letter');
is($node->safe_psql('old', q{SELECT string_agg(customer || ' ' || cents, ', ' ORDER BY seq) FROM app.invoices}),
	'c11 100, c22 200, c33 300, c44 400, c55 500, c66 6, c77 7, c88 8', 'the upcaster turned version 1 into cents');
is($node->safe_psql('old', q{SELECT string_agg(type || ' ' || n, ', ' ORDER BY type) FROM app.by_type}),
	'cart.changed 40, invoice.issued 8, line.copied 30, line.inserted 1, odd.thing 4, order.placed 60',
	'the sync projection folded every append');
is($node->safe_psql('old', q{SELECT count(*) || ' ' || sum(n) || ' ' || max(last_seq) FROM app.tally}),
	'23 143 143', 'the async projection folded every event');
is($node->safe_psql('old', q{SELECT (SELECT count(*) FROM evlog_read(100, 1000)) || ' ' ||
                                    (SELECT string_agg(stream_version::text, ',') FROM evlog_read_stream('copy-1'))}),
	'43 1,2,3,4,5,6,7,8,9,10', 'reads work');
is($node->safe_psql('old', q{SELECT evlog_rebuild('tally')}), '143', 'a rebuild replays the log');
is($node->safe_psql('old', q{SELECT string_agg(p.name || ' ' || (SELECT count(*) FROM evlog_verify(p.name)), ', ' ORDER BY p.name)
                             FROM evlog.projections p}),
	'by_type 0, fragile 0, invoices 0, picky 0, tally 0', 'and no projection drifts from a fresh fold');

#
# 2. Before the update: a snapshot of everything the update must keep.
#
# the columns 0.1.0 gave each table, by attnum: a rename keeps the attnum and
# the data, so the comparison below follows it; an added column is left out
my %columns_010;
for my $table (qw(evlog.events evlog.projections evlog.dead_letters evlog.event_type_definitions evlog.upcasters))
{
	$columns_010{$table} = [ split /,/, $node->safe_psql('old',
		qq{SELECT string_agg(attnum::text, ',' ORDER BY attnum) FROM pg_attribute
		   WHERE attrelid = '$table'::regclass AND attnum > 0 AND NOT attisdropped}) ];
}

# snapshot: per table, its rows (0.1.0's columns) in key order, the log's as
# a digest; dies naming a 0.1.0 column that no longer exists
sub snapshot
{
	my %snap;
	for my $table (sort keys %columns_010)
	{
		my $attnums = join(',', @{ $columns_010{$table} });
		my $cols = $node->safe_psql('old',
			qq{SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) || ' ' || count(*) FROM pg_attribute
			   WHERE attrelid = '$table'::regclass AND attnum IN ($attnums) AND NOT attisdropped});
		my ($list, $n) = $cols =~ /^(.*) (\d+)$/;
		die "a column 0.1.0 gave $table is gone: attnums $attnums, now $list" if $n != @{ $columns_010{$table} };
		my $rows = $table eq 'evlog.events'
		  ? q{count(*) || ' rows, md5 ' || md5(string_agg(r::text, E'\n' ORDER BY r::text))}
		  : q{count(*) || E' rows\n' || coalesce(string_agg(r::text, E'\n' ORDER BY r::text), '')};
		$snap{$table} = $node->safe_psql('old', "SELECT $rows FROM (SELECT $list FROM $table) r");
	}
	$snap{'the chain'} = $node->safe_psql('old',
		q{SELECT checked || ' ' || coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain()});
	$snap{'the head digest'} = $node->safe_psql('old', q{SELECT encode(digest, 'hex') FROM evlog.events ORDER BY seq DESC LIMIT 1});
	$snap{'the read models'} = $node->safe_psql('old',
		q{SELECT md5(string_agg(t, E'\n' ORDER BY t)) FROM (
		    SELECT 'tally ' || r::text AS t FROM app.tally r UNION ALL SELECT 'by_type ' || r::text FROM app.by_type r
		    UNION ALL SELECT 'picky ' || r::text FROM app.picky r UNION ALL SELECT 'fragile ' || r::text FROM app.fragile r
		    UNION ALL SELECT 'invoices ' || r::text FROM app.invoices r) x});
	return \%snap;
}

my $before = snapshot();
is($before->{'the chain'}, '143 intact', 'before the update: the chain is intact');
is($before->{'evlog.events'} =~ /^(\d+) rows/ ? $1 : '', '143', 'before the update: 143 events');
is(join(' ', map { $before->{"evlog.$_"} =~ /^(\d+) rows/ } qw(projections dead_letters event_type_definitions upcasters)),
	'5 1 2 1', 'before the update: 5 projections, 1 dead letter, 2 event type versions, 1 upcaster');

#
# 3. ALTER EXTENSION evlog UPDATE.
#
$node->safe_psql('old', q{ALTER EXTENSION evlog UPDATE});
is($node->safe_psql('old', q{SELECT extversion FROM pg_extension WHERE extname = 'evlog'}), $target, "updated to $target");
my $commands_update = $node->safe_psql('old', $ddl_commands);
$commands_update = substr($commands_update, length($commands_010)) =~ s/^\n//r;

my $after = snapshot();
for my $what (sort keys %$before)
{
	is($after->{$what}, $before->{$what}, "the update keeps $what");
}
is($node->safe_psql('old', q{SELECT evlog.worker_pid()}), $worker, 'the worker was not restarted by the update');

# idempotency: retries of old keys through each path return the old seqs
is($node->safe_psql('old', q{
  SELECT evlog_append('order-1', 'order.placed', '{"i": 1}', '{"retry": true}', 'k-1') || ' ' ||
         evlog_append_batch(ARRAY[ROW('cart-1', 'cart.changed', '{"i": 1}', '{}', 'b-1', NULL, 1)::evlog.new_event,
                                  ROW('cart-2', 'cart.changed', '{"i": 2}', '{}', 'b-2', NULL, 1)::evlog.new_event])::text || ' ' ||
         evlog_append('copy-2', 'line.copied', '{"i": 5}', idempotency_key => 'c-5')}),
	'1 {61,62} 105', 'after the update: retried keys return the old seqs');
is($node->safe_psql('old', q{INSERT INTO evlog.append_queue (stream, type, payload, idempotency_key)
                             VALUES ('queue', 'line.inserted', '{"q": 1}', 'q-1') RETURNING seq}),
	'143', 'and through the queue');
is($node->safe_psql('old', q{SELECT app.sqlstate_of($$SELECT evlog_append('order-2', 'order.placed', '{"i": 0}', idempotency_key => 'k-2')$$)
                                    || ' ' || evlog_head()}),
	'EV002 143', 'a key reused with other content is refused; nothing was written');

# contracts still hold, and the worker goes on folding new appends
is($node->safe_psql('old', q{
  SELECT app.sqlstate_of($$SELECT evlog_append('inv-x', 'invoice.issued', '{"amount": -1, "customer": "cx"}')$$) || ' ' ||
         app.sqlstate_of($$SELECT evlog_append('inv-x', 'invoice.issued', '{"amount": 1, "customer": "c"}')$$) || ' ' ||
         evlog_append('inv-9', 'invoice.issued', '{"amount": 9, "customer": "c99"}')}),
	'EV004 EV004 144', 'after the update: contracts are checked');
$node->safe_psql('old', q{
  SELECT count(evlog_append('new-' || i % 5, 'order.placed', jsonb_build_object('i', i), idempotency_key => 'n-' || i))
  FROM generate_series(1, 100) i;
  INSERT INTO evlog.append_queue (stream, type, payload) VALUES ('odd', 'odd.thing', '{"bad": true}');
} . "COPY evlog.append_queue (stream, type, payload) FROM STDIN;\ncopy-9\tline.copied\t{\"i\": 99}\n\\.\n");
poll('old', q{SELECT string_agg(name || ' ' || state || ' ' || checkpoint, ', ' ORDER BY name) FROM evlog.projections},
	'by_type active 246, fragile failed 139, invoices active 246, picky active 246, tally active 246',
	'after the update: the worker folds new appends to the head');
is($node->safe_psql('old', q{SELECT string_agg(projection || ' ' || seq, ', ' ORDER BY seq) FROM evlog.dead_letters}),
	'picky 139, picky 245', 'a new dead letter next to the old one');
is($node->safe_psql('old', q{SELECT customer || ' ' || cents FROM app.invoices WHERE seq = 144}), 'c99 900',
	'the upcaster runs after the update');

# a failed projection resumes once its handler is fixed
$node->safe_psql('old', q{
  CREATE OR REPLACE FUNCTION app.fragile_fold(e evlog.events) RETURNS void LANGUAGE sql AS $$
    INSERT INTO app.fragile VALUES (e.seq) $$;
  SELECT evlog_resume('fragile');
});
poll('old', q{SELECT state || ' ' || checkpoint FROM evlog.projections WHERE name = 'fragile'}, 'active 246',
	'the failed projection resumes after the update');
is($node->safe_psql('old', q{SELECT string_agg(p.name || ' ' || (SELECT count(*) FROM evlog_verify(p.name)), ', ' ORDER BY p.name)
                             FROM evlog.projections p}),
	'by_type 0, fragile 0, invoices 0, picky 0, tally 0', 'no projection drifts from a fresh fold');
is($node->safe_psql('old', q{SELECT checked || ' ' || coalesce(first_bad_seq::text, 'intact') FROM evlog_verify_chain()}),
	'246 intact', 'the chain goes on intact');
is($node->safe_psql('old', q{SELECT evlog.worker_pid()}), $worker, 'the same worker throughout');

#
# 4. The updated database holds exactly what a fresh install holds.
#
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', $ddl_log);
$node->safe_psql('fresh', q{CREATE EXTENSION evlog});
is($node->safe_psql('fresh', q{SELECT extversion FROM pg_extension WHERE extname = 'evlog'}), $target,
	"a fresh CREATE EXTENSION installs $target");
my $commands_fresh = $node->safe_psql('fresh', $ddl_commands);
if (grep { $_ eq "evlog--$target.sql" } @installed)
{
	# PostgreSQL runs an install script of the version asked for when there is one
	note("evlog--$target.sql exists: the fresh install ran it, not 0.1.0's script and the update");
	ok($commands_fresh ne '', "the fresh install ran evlog--$target.sql");
}
else
{
	# without one, it runs the script of an installable version and the updates
	is($commands_fresh, $commands_010 . ($commands_update eq '' ? '' : "\n$commands_update"),
		"no evlog--$target.sql: the fresh install ran 0.1.0's script and then the update, the same commands as ALTER EXTENSION UPDATE did");
}

my $fresh = describe_extension($node, 'fresh');
my $updated = describe_extension($node, 'old');
# the description sees each kind of object (else two empty ones compare equal)
for my $key ('extension evlog', 'member table evlog.events', 'member schema evlog', 'schema evlog',
	'config dump evlog.projections', 'relation evlog.events', 'column evlog.events.seq',
	'constraint evlog.events.events_pkey', 'index evlog.events_type_seq_idx',
	'trigger evlog.events.evlog_guard_insert', 'view evlog.append_queue', 'type evlog.new_event',
	'column evlog.append_queue.metadata',
	'function public.evlog_append(text,text,jsonb,jsonb,text,bigint,integer)',
	'initial privileges function public.evlog_append(text,text,jsonb,jsonb,text,bigint,integer)')
{
	ok(exists $fresh->{$key}, "the description of a fresh install has \"$key\"");
}
my $diff = diff_descriptions('fresh', $fresh, 'updated', $updated, $PostgreSQL::Test::Utils::log_path);
ok($diff eq '', 'the updated database has exactly the objects of a fresh install');
diag("fresh install (-) and updated database (+) differ:\n$diff") if $diff ne '';
note(sprintf('compared %d catalog entries, written to %s/{fresh,updated}.txt',
	scalar(keys %$fresh), $PostgreSQL::Test::Utils::log_path));

#
# 5. An update while the worker is in the middle of a batch: its handler
#    waits for an advisory lock this test holds.
#
$node->safe_psql('postgres', 'CREATE DATABASE busy');
$node->safe_psql('busy', q{
  CREATE EXTENSION evlog VERSION '0.1.0';
  CREATE SCHEMA app;
  CREATE TABLE app.slow (seq bigint PRIMARY KEY);
  CREATE FUNCTION app.slow_fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_advisory_xact_lock_shared(7007);
    INSERT INTO app.slow VALUES (e.seq);
  END $$;
  SELECT evlog_register_projection('slow', 'app.slow_fold(evlog.events)', '{app.slow}');
});
poll('busy', q{SELECT evlog.worker_pid() IS NOT NULL}, 't', 'busy: the worker runs');
my $busy_worker = $node->safe_psql('busy', q{SELECT evlog.worker_pid()});
my $holder = $node->background_psql('busy');
$holder->query_safe(q{SELECT pg_advisory_lock(7007)});
$node->safe_psql('busy', q{SELECT count(evlog_append('s-' || i % 7, 'x.y', '{}')) FROM generate_series(1, 500) i});
poll('busy', q{SELECT count(*) > 0 FROM pg_stat_activity
                WHERE backend_type IN ('evlog worker', 'evlog projection worker') AND datname = 'busy'
                  AND wait_event = 'advisory'},
	't', 'busy: a worker (the database\'s or the projection\'s own) is in the middle of a batch');
my $updater = $node->background_psql('busy');
$updater->query_until(qr/updating/, "\\echo updating\nALTER EXTENSION evlog UPDATE;\n");
$holder->query_safe(q{SELECT pg_advisory_unlock(7007)});
is($updater->query_safe(q{SELECT extversion FROM pg_extension WHERE extname = 'evlog'}), $target,
	'busy: ALTER EXTENSION evlog UPDATE went through');
$holder->quit;
$updater->quit;
poll('busy', q{SELECT lag_events FROM evlog.projection_status WHERE name = 'slow'}, '0', 'busy: the worker finishes its batch');
$node->safe_psql('busy', q{SELECT count(evlog_append('s-' || i % 7, 'x.y', '{}')) FROM generate_series(1, 100) i});
poll('busy', q{SELECT state || ' ' || checkpoint || ' ' || (SELECT count(*) FROM app.slow) FROM evlog.projections WHERE name = 'slow'},
	'active 600 600', 'busy: and goes on folding after the update');
is($node->safe_psql('busy', q{SELECT evlog.worker_pid()}), $busy_worker, 'busy: the same worker, not broken by the update');
is($node->safe_psql('busy', q{SELECT count(*) FROM evlog_verify('slow')}), '0', 'busy: no drift');

#
# A DBA's grants on the functions whose arguments change are carried over to
# their successors by the update (in a database of its own: the grants make
# its catalog differ from a fresh install's, as they should).
#
$node->safe_psql('postgres', q{CREATE DATABASE grants; CREATE ROLE ops});
$node->safe_psql('grants', q{
  CREATE EXTENSION evlog VERSION '0.1.0';
  GRANT EXECUTE ON FUNCTION evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean),
                            evlog_define_event_type(text, integer, text, regprocedure, text), evlog_rebuild(text) TO ops;
  REVOKE EXECUTE ON FUNCTION evlog_rebuild(text) FROM PUBLIC;
  ALTER EXTENSION evlog UPDATE;
});
is($node->safe_psql('grants', q{
  SELECT string_agg(f || ': ops ' || has_function_privilege('ops', f, 'EXECUTE') || ', public ' || has_function_privilege('public', f, 'EXECUTE'),
                    E'\n' ORDER BY f)
    FROM unnest(ARRAY['evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text)',
                      'evlog_define_event_type(text, integer, text, regprocedure, text)',
                      'evlog_rebuild(text, boolean)', 'evlog_alter_projection(text, text, text, interval)']) f}),
	join("\n", 'evlog_alter_projection(text, text, text, interval): ops false, public false',
		'evlog_define_event_type(text, integer, text, regprocedure, text): ops true, public false',
		'evlog_rebuild(text, boolean): ops true, public false',
		'evlog_register_projection(text, regprocedure, regclass[], text[], text, text, regprocedure, boolean, interval, text): ops true, public false'),
	'the update carries grants over to the successors, and a revoke from PUBLIC');

$node->stop;
done_testing();

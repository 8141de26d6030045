# Attack class 4: locks held past a refused call (S2: a role that may not
# rebuild, pause or verify a projection can't hold or stall it either).
#
# eve has no rights on mallory's sync projection. In an open transaction she
# calls evlog_rebuild (and, each in a transaction of its own, evlog_pause,
# evlog_resume, evlog_alter_projection, evlog_unregister_projection,
# evlog_catch_up, evlog_verify) on it, catching the 42501 in a PL/pgSQL
# block, and keeps the transaction open. Meanwhile: her backend holds no
# lock but her virtual and own transaction ids and relation AccessShareLocks
# (no advisory lock: not the projection's rebuild lock, objsubid 25975, nor
# the sequencer, 25974); the owner can pause, resume and rebuild the
# projection within lock_timeout = 2s; and an append folds into the sync
# projection (its checkpoint reaches the new seq). The log stays whole.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogAdversary qw(adversary_node grant_execute_sql);

my $node = adversary_node('locks', qq{
evlog.launcher_naptime = 1
});
$node->safe_psql('postgres', q{
  CREATE ROLE eve LOGIN;
  CREATE DATABASE lk;
});
$node->safe_psql('lk', q{
  CREATE EXTENSION evlog;
  GRANT SELECT ON evlog.events TO mallory, eve;
  } . grant_execute_sql([qw(evlog_register_projection)], 'mallory') . grant_execute_sql([qw(evlog_alter_projection)], 'mallory, eve') . q{
  CREATE SCHEMA attacker AUTHORIZATION mallory;
});
$node->safe_psql('lk', q{
  CREATE TABLE attacker.seen (seq bigint NOT NULL);
  CREATE FUNCTION attacker.h(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN INSERT INTO attacker.seen VALUES (e.seq); END $$;
  SELECT evlog_register_projection('mallory_proj', 'attacker.h(evlog.events)', '{attacker.seen}', mode => 'sync');
}, extra_params => [ '-U', 'mallory' ]);
$node->safe_psql('lk', q{SELECT evlog_append('s', 'x.y', '{}') FROM generate_series(1, 3)});

# eve's session, which stays open across her attempts
my $eve = $node->background_psql('lk', extra_params => [ '-U', 'eve' ], on_error_stop => 0);
$eve->query_safe(q{
  CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
  BEGIN EXECUTE q; RETURN 'ok';
  EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ' ' || SQLERRM; END $$;
});
my $eve_pid = $eve->query_safe('SELECT pg_backend_pid()');

my @attempts = (
	[ 'evlog_rebuild',               q{SELECT evlog_rebuild('mallory_proj')} ],
	[ 'evlog_pause',                 q{SELECT evlog_pause('mallory_proj')} ],
	[ 'evlog_resume',                q{SELECT evlog_resume('mallory_proj')} ],
	[ 'evlog_alter_projection',      q{SELECT evlog_alter_projection('mallory_proj', on_error => 'skip')} ],
	[ 'evlog_unregister_projection', q{SELECT evlog_unregister_projection('mallory_proj')} ],
	[ 'evlog_catch_up',              q{SELECT evlog_catch_up('mallory_proj')} ],
	[ 'evlog_verify',                q{SELECT count(*) FROM evlog_verify('mallory_proj')} ]);

for my $attempt (@attempts)
{
	my ($fn, $stmt) = @$attempt;
	(my $quoted = $stmt) =~ s/'/''/g;
	$eve->query_safe('BEGIN');
	like($eve->query("SELECT pg_temp.try('$quoted')"), qr/^42501 /, "$fn by eve: 42501");

	# what eve's backend holds while her transaction stays open
	is($node->safe_psql('lk', qq{
	  SELECT coalesce(string_agg(format('%s %s %s', locktype, mode,
	                                    coalesce(objsubid::text, relation::regclass::text, '')), ', '), '')
	  FROM pg_locks WHERE pid = $eve_pid
	    AND NOT (locktype = 'virtualxid'
	             OR (locktype = 'transactionid' AND mode = 'ExclusiveLock')
	             OR (locktype = 'relation' AND mode = 'AccessShareLock'))}),
		'', "$fn by eve: afterwards her backend holds no lock but her own ids and AccessShareLocks");
	is($node->safe_psql('lk', qq{SELECT count(*) FROM pg_locks WHERE pid = $eve_pid AND locktype = 'advisory'}),
		'0', "$fn by eve: no advisory lock (rebuild lock 25975, sequencer 25974)");

	# the owner is not held up
	my ($rc, $out, $err) = $node->psql('lk', q{
	  SET lock_timeout = '2s';
	  SELECT evlog_pause('mallory_proj');
	  SELECT evlog_resume('mallory_proj');
	  SELECT evlog_rebuild('mallory_proj');
	}, extra_params => [ '-U', 'mallory' ]);
	is($rc, 0, "$fn by eve: the owner pauses, resumes and rebuilds within lock_timeout 2s") or diag($err);

	# appends fold into the sync projection
	my $seq;
	($rc, $seq, $err) = $node->psql('lk', q{
	  SET lock_timeout = '2s';
	  SELECT evlog_append('s', 'x.y', '{}');
	});
	is($rc, 0, "$fn by eve: an append goes through within lock_timeout 2s") or diag($err);
	is($node->safe_psql('lk', q{SELECT checkpoint FROM evlog.projections WHERE name = 'mallory_proj'}),
		$seq, "$fn by eve: the append folded into the sync projection (its checkpoint is the new seq)");

	$eve->query_safe('ROLLBACK');
}
$eve->quit;

is($node->safe_psql('lk', q{SELECT count(*) FROM evlog.projections WHERE name = 'mallory_proj' AND state = 'active' AND on_error = 'stop'}),
	'1', "eve's attempts changed nothing in the registry");
is($node->safe_psql('lk', q{SELECT count(*) FROM evlog_verify('mallory_proj')}), '0', 'the projection has no drift');
is($node->safe_psql('lk', q{SELECT string_agg(seq::text, ',' ORDER BY seq) FROM attacker.seen}),
	$node->safe_psql('lk', q{SELECT string_agg(seq::text, ',' ORDER BY seq) FROM evlog.events}),
	'the projection folded every event once');
is($node->safe_psql('lk', q{SELECT count(*) = coalesce(max(seq), 0) FROM evlog.events}), 't', 'the log is gapless');
is($node->safe_psql('lk', q{SELECT first_bad_seq IS NULL FROM evlog_verify_chain()}), 't', 'the hash chain is intact');

$node->stop;
done_testing();

# Attack class 1: GUC changes escape user code (S1, P6).
#
# mallory (LOGIN, no superuser) owns the schema "attacker", with functions
# and operators named like what evlog's own SQL uses unqualified (now(),
# =(text, text), max(bigint)); each records as whom it ran in
# attacker.pwned. Her handlers, validator, upcaster and reset function put
# "attacker" first in search_path with set_config(..., false), change
# work_mem (SET) and lock_timeout (SET LOCAL), and try SET ROLE, RESET ROLE
# and SET SESSION AUTHORIZATION. Driven through the worker, a sync fold in
# another role's appending session (evlog_append, evlog_append_batch, INSERT
# and COPY into evlog.append_queue), evlog_rebuild, evlog_catch_up, a
# validator, an upcaster and a reset function. After each: attacker.pwned is
# empty (evlog's own SQL never resolved a name through her search_path), the
# calling session's settings and roles are what they were, the handler did
# its ordinary work, and the log is whole.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogAdversary qw(adversary_node grant_execute_sql log_is_whole);

my $node = adversary_node('guc_escape', qq{
evlog.launcher_naptime = 1
evlog.worker_naptime = '60s'
});

$node->safe_psql('postgres', q{
  CREATE ROLE alice LOGIN;
});

# the snapshot of a session's settings and roles; a marker tells it apart
# from other output, and every name is qualified so that a leaked
# search_path cannot change what it reads
my $SNAP = q{SELECT pg_catalog.concat_ws('|', 'SNAP', pg_catalog.current_setting('search_path'),
  pg_catalog.current_setting('work_mem'), pg_catalog.current_setting('lock_timeout'),
  current_user, session_user);};

# what mallory's user code tries, run as its last step
my $ATTACK = q{
  CREATE FUNCTION attacker.attack() RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    BEGIN PERFORM pg_catalog.set_config('role', 'none', false); EXCEPTION WHEN OTHERS THEN NULL; END;
    BEGIN EXECUTE 'RESET ROLE'; EXCEPTION WHEN OTHERS THEN NULL; END;
    BEGIN PERFORM pg_catalog.set_config('role', 'mallory', false); EXCEPTION WHEN OTHERS THEN NULL; END;
    BEGIN PERFORM pg_catalog.set_config('session_authorization', 'mallory', false); EXCEPTION WHEN OTHERS THEN NULL; END;
    BEGIN EXECUTE 'RESET SESSION AUTHORIZATION'; EXCEPTION WHEN OTHERS THEN NULL; END;
    EXECUTE 'SET work_mem = ''1234kB''';
    EXECUTE 'SET LOCAL lock_timeout = ''4321ms''';
    PERFORM pg_catalog.set_config('search_path', 'attacker, pg_catalog', false);
  END $$;
};

# mallory's kit: the record of hijacked calls and the traps
my $KIT = q{
  CREATE TABLE attacker.pwned (who text, sess text, su boolean, via text);
  GRANT USAGE ON SCHEMA attacker TO PUBLIC;
  GRANT INSERT, SELECT ON attacker.pwned TO PUBLIC;
  CREATE FUNCTION attacker.record(via text) RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog AS $$
  BEGIN
    INSERT INTO attacker.pwned VALUES (current_user, session_user,
      (SELECT rolsuper FROM pg_roles WHERE rolname = current_user), via);
  END $$;
  CREATE FUNCTION attacker.now() RETURNS timestamptz LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
  BEGIN PERFORM attacker.record('now()'); RETURN pg_catalog.now(); END $$;
  CREATE FUNCTION attacker.texteq(a text, b text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
  BEGIN PERFORM attacker.record('=(text, text)'); RETURN pg_catalog.texteq(a, b); END $$;
  CREATE OPERATOR attacker.= (leftarg = text, rightarg = text, function = attacker.texteq);
  CREATE FUNCTION attacker.max_sf(s bigint, v bigint) RETURNS bigint LANGUAGE plpgsql SET search_path = pg_catalog AS $$
  BEGIN
    IF s IS NULL THEN PERFORM attacker.record('max(bigint)'); RETURN v; END IF;
    RETURN pg_catalog.int8larger(s, v);
  END $$;
  CREATE AGGREGATE attacker.max(bigint) (sfunc = attacker.max_sf, stype = bigint);
} . $ATTACK;

# setup_db(DB): evlog, the grants mallory and alice need, mallory's kit
sub setup_db
{
	my ($db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, q{
	  CREATE EXTENSION evlog;
	  GRANT SELECT ON evlog.events TO mallory, alice;
	  } . grant_execute_sql([qw(evlog_append evlog_append_batch)], 'mallory, alice')
	  . grant_execute_sql([qw(evlog_register_projection evlog_define_event_type evlog_define_upcaster)], 'mallory')
	  . q{
	  GRANT INSERT ON evlog.append_queue TO alice;
	  CREATE SCHEMA attacker AUTHORIZATION mallory;
	});
	as_mallory($db, $KIT);
}

# as_mallory(DB, SQL): run SQL as mallory; dies on error
sub as_mallory
{
	my ($db, $sql) = @_;
	return $node->safe_psql($db, $sql, extra_params => [ '-U', 'mallory' ]);
}

# handler(NAME, ATTACKS): mallory's handler for projection NAME: it inserts
# the event's seq into attacker.seen_NAME (its ordinary work), then attacks
# when ATTACKS is true
sub handler
{
	my ($name, $attacks) = @_;
	my $attack = $attacks ? 'PERFORM attacker.attack();' : '';
	return qq{
	  CREATE TABLE attacker.seen_$name (seq bigint NOT NULL);
	  CREATE FUNCTION attacker.h_$name(e evlog.events) RETURNS void LANGUAGE plpgsql AS \$\$
	  BEGIN
	    INSERT INTO attacker.seen_$name VALUES (e.seq);
	    $attack
	  END \$\$;
	};
}

# unchanged(DB, ROLE, STEPS, NAME): run STEPS as ROLE in one session, a
# snapshot of its settings before the first and after each; all snapshots
# must equal the first
sub unchanged
{
	my ($db, $role, $steps, $name) = @_;
	# a step ending in \. (COPY data) needs no semicolon
	my $sql = "$SNAP\n" . join('', map { ($_ =~ /\\\.$/ ? $_ : "$_;") . "\n$SNAP\n" } @$steps);
	my ($rc, $out, $err) = $node->psql($db, $sql, extra_params => [ '-U', $role ]);
	is($rc, 0, "$name: every step succeeds") or diag($err);
	my @snaps = grep { /^SNAP\|/ } split /\n/, $out;
	my $first = $snaps[0] // 'none';
	note("$name: session before: $first");
	is(join("\n", @snaps[ 1 .. $#snaps ]), join("\n", ($first) x scalar(@$steps)),
		"$name: search_path, work_mem, lock_timeout, current_user and session_user unchanged after every step");
}

# no_pwn(DB, NAME): attacker.pwned is empty (its rows are shown otherwise);
# then empties it for the next step
sub no_pwn
{
	my ($db, $name) = @_;
	my $rows = $node->safe_psql($db, q{
	  SELECT coalesce(string_agg(r, '; ' ORDER BY r), '') FROM (
	    SELECT format('%s ran as %s (session %s, superuser %s) %s times', via, who, sess, su, count(*)) r
	    FROM attacker.pwned GROUP BY via, who, sess, su) s});
	is($rows, '', "$name: evlog's own SQL resolved no name through the attacker's search_path");
	is($node->safe_psql($db, q{SELECT count(*) FROM attacker.pwned WHERE su}), '0',
		"$name: no attacker code ran as a superuser");
	$node->safe_psql($db, q{DELETE FROM attacker.pwned});
}

# seqs(DB, TABLE): the seqs in TABLE, in order, comma-separated
sub seqs
{
	my ($db, $table) = @_;
	return $node->safe_psql($db, "SELECT coalesce(string_agg(seq::text, ',' ORDER BY seq), '') FROM $table");
}

# ---------------------------------------------------------------------------
# (a) the worker: mallory's async handler leaks its settings into the
# worker's session; another owner's projection folds after it
setup_db('wk');
as_mallory('wk', handler('m_async', 1) . q{
  SELECT evlog_register_projection('m_async', 'attacker.h_m_async(evlog.events)', '{attacker.seen_m_async}');
});
$node->safe_psql('wk', q{
  CREATE TABLE good_seen (seq bigint, who text, work_mem text, lock_timeout text);
  CREATE FUNCTION good_fold(e evlog.events) RETURNS void LANGUAGE plpgsql AS $$
  BEGIN
    INSERT INTO public.good_seen VALUES (e.seq, current_user, pg_catalog.current_setting('work_mem'),
                                         pg_catalog.current_setting('lock_timeout'));
  END $$;
  SELECT evlog_register_projection('good', 'good_fold(evlog.events)', '{good_seen}');
});
$node->safe_psql('wk', q{SELECT evlog_append('a-' || i, 'atk.any', '{}') FROM generate_series(1, 3) i});
ok($node->poll_query_until('wk',
	q{SELECT bool_and(checkpoint = 3) FROM evlog.projections WHERE name IN ('m_async', 'good')}, 't'),
	'(a) worker: both projections fold the first events');
# a second round: the worker's session after the attack
$node->safe_psql('wk', q{SELECT evlog_append('a-' || i, 'atk.any', '{}') FROM generate_series(4, 6) i});
ok($node->poll_query_until('wk',
	q{SELECT bool_and(checkpoint = 6) FROM evlog.projections WHERE name IN ('m_async', 'good')}, 't'),
	'(a) worker: the worker still folds every projection after the attack');
no_pwn('wk', '(a) worker');
is(seqs('wk', 'attacker.seen_m_async'), '1,2,3,4,5,6', "(a) worker: mallory's handler did its ordinary work");
is($node->safe_psql('wk', q{SELECT string_agg(DISTINCT who || '|' || work_mem || '|' || lock_timeout, ', ') FROM good_seen}),
	'postgres|4MB|0', "(a) worker: the other owner's handler ran as its owner with the default settings, not mallory's");
is(seqs('wk', 'good_seen'), '1,2,3,4,5,6', "(a) worker: the other owner's projection folded every event");
log_is_whole($node, 'wk', '(a) worker');

# ---------------------------------------------------------------------------
# (b) a sync fold inside an appending session: alice's and mallory's
setup_db('ev');
as_mallory('ev', handler('m_sync', 1) . q{
  SELECT evlog_register_projection('m_sync', 'attacker.h_m_sync(evlog.events)', '{attacker.seen_m_sync}',
                                   event_types => '{atk.sync}', mode => 'sync');
});
unchanged('ev', 'alice', [
	q{SELECT public.evlog_append('b-alice', 'atk.sync', '{}')},
	q{BEGIN},
	q{SELECT public.evlog_append('b-alice', 'atk.sync', '{}')},
	q{COMMIT} ], '(b) sync fold in alice\'s session');
no_pwn('ev', '(b) sync fold in alice\'s session');
unchanged('ev', 'alice', [
	q{SELECT public.evlog_append_batch(ARRAY[ROW('b-batch', 'atk.sync', '{}', '{}', NULL, NULL, 1)::evlog.new_event])},
	q{INSERT INTO evlog.append_queue (stream, type, payload) VALUES ('b-queue', 'atk.sync', '{}')},
	"COPY evlog.append_queue (stream, type, payload) FROM STDIN;\nb-copy\tatk.sync\t{}\n\\." ],
	'(b) sync fold of evlog_append_batch, INSERT and COPY into evlog.append_queue in alice\'s session');
no_pwn('ev', '(b) sync fold of the bulk paths in alice\'s session');
unchanged('ev', 'mallory', [
	q{BEGIN},
	q{SELECT public.evlog_append('b-mallory', 'atk.sync', '{}')},
	q{COMMIT} ], '(b) sync fold in mallory\'s own session');
no_pwn('ev', '(b) sync fold in mallory\'s own session');
unchanged('ev', 'postgres', [
	q{SELECT public.evlog_append('b-postgres', 'atk.sync', '{}')} ], '(b) sync fold in a superuser\'s session');
no_pwn('ev', '(b) sync fold in a superuser\'s session');
is(seqs('ev', 'attacker.seen_m_sync'), '1,2,3,4,5,6,7', "(b) mallory's sync handler did its ordinary work");
is($node->safe_psql('ev', q{SELECT checkpoint FROM evlog.projections WHERE name = 'm_sync'}), '7',
	'(b) the sync projection is at the head');

# ---------------------------------------------------------------------------
# (c) evlog_rebuild by mallory and by a superuser
$node->safe_psql('ev', q{SELECT evlog_append('c', 'atk.reb', '{}') FROM generate_series(1, 2)});
as_mallory('ev', handler('m_reb', 1) . q{
  SELECT evlog_register_projection('m_reb', 'attacker.h_m_reb(evlog.events)', '{attacker.seen_m_reb}',
                                   event_types => '{atk.reb}', mode => 'sync');
});
$node->safe_psql('ev', q{DELETE FROM attacker.pwned});
unchanged('ev', 'mallory', [ q{SELECT public.evlog_rebuild('m_reb')} ], '(c) evlog_rebuild by the owner');
no_pwn('ev', '(c) evlog_rebuild by the owner');
unchanged('ev', 'postgres', [ q{BEGIN}, q{SELECT public.evlog_rebuild('m_reb')}, q{COMMIT} ],
	'(c) evlog_rebuild by a superuser');
no_pwn('ev', '(c) evlog_rebuild by a superuser');
is(seqs('ev', 'attacker.seen_m_reb'), '8,9', '(c) the rebuilt read model is the fold of the log');

# ---------------------------------------------------------------------------
# (d) evlog_catch_up, in the appending transaction (the worker cannot see
# those events before it commits), by mallory and by a superuser
as_mallory('ev', handler('m_cu', 1) . q{
  SELECT evlog_register_projection('m_cu', 'attacker.h_m_cu(evlog.events)', '{attacker.seen_m_cu}',
                                   event_types => '{atk.cu}');
});
unchanged('ev', 'mallory', [
	q{BEGIN},
	q{SELECT public.evlog_append('d', 'atk.cu', '{}')},
	q{SELECT public.evlog_catch_up('m_cu')},
	q{COMMIT} ], '(d) evlog_catch_up by the owner');
no_pwn('ev', '(d) evlog_catch_up by the owner');
unchanged('ev', 'postgres', [
	q{BEGIN},
	q{SELECT public.evlog_append('d', 'atk.cu', '{}')},
	q{SELECT public.evlog_catch_up('m_cu')},
	q{COMMIT} ], '(d) evlog_catch_up by a superuser');
no_pwn('ev', '(d) evlog_catch_up by a superuser');
is(seqs('ev', 'attacker.seen_m_cu'), '10,11', '(d) the caught-up handler did its ordinary work');

# ---------------------------------------------------------------------------
# (e) a validator, an upcaster and a reset function
as_mallory('ev', q{
  CREATE FUNCTION attacker.v(p jsonb) RETURNS boolean LANGUAGE plpgsql AS $$
  BEGIN PERFORM attacker.attack(); RETURN true; END $$;
  SELECT evlog_define_event_type('atk.val', 1, validator => 'attacker.v(jsonb)');
});
unchanged('ev', 'alice', [
	q{SELECT public.evlog_append('e-val', 'atk.val', '{}')},
	q{BEGIN},
	q{SELECT public.evlog_append('e-val', 'atk.val', '{}')},
	q{COMMIT} ], '(e) a validator in alice\'s session');
no_pwn('ev', '(e) a validator in alice\'s session');

as_mallory('ev', handler('m_up', 0) . q{
  CREATE FUNCTION attacker.u(p jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
  BEGIN PERFORM attacker.attack(); RETURN p || '{"v": 2}'; END $$;
  SELECT evlog_define_event_type('atk.up', 1);
  SELECT evlog_define_event_type('atk.up', 2);
  SELECT evlog_define_upcaster('atk.up', 1, 'attacker.u(jsonb)');
  SELECT evlog_register_projection('m_up', 'attacker.h_m_up(evlog.events)', '{attacker.seen_m_up}',
                                   event_types => '{atk.up}', mode => 'sync', upcast => true);
});
unchanged('ev', 'alice', [
	q{BEGIN},
	q{SELECT public.evlog_append('e-up', 'atk.up', '{}')},
	q{COMMIT} ], '(e) an upcaster in alice\'s session');
no_pwn('ev', '(e) an upcaster in alice\'s session');
is(seqs('ev', 'attacker.seen_m_up'), '14', '(e) the upcast projection folded the event');

$node->safe_psql('ev', q{SELECT evlog_append('e-rst', 'atk.rst', '{}')});
as_mallory('ev', handler('m_rst', 0) . q{
  CREATE FUNCTION attacker.r() RETURNS void LANGUAGE plpgsql AS $$
  BEGIN PERFORM attacker.attack(); END $$;
  SELECT evlog_register_projection('m_rst', 'attacker.h_m_rst(evlog.events)', '{attacker.seen_m_rst}',
                                   event_types => '{atk.rst}', mode => 'sync', reset => 'attacker.r()');
});
$node->safe_psql('ev', q{DELETE FROM attacker.pwned});
unchanged('ev', 'mallory', [ q{SELECT public.evlog_rebuild('m_rst')} ], '(e) a reset function, rebuild by the owner');
no_pwn('ev', '(e) a reset function, rebuild by the owner');
unchanged('ev', 'postgres', [ q{SELECT public.evlog_rebuild('m_rst')} ], '(e) a reset function, rebuild by a superuser');
no_pwn('ev', '(e) a reset function, rebuild by a superuser');
is(seqs('ev', 'attacker.seen_m_rst'), '15', '(e) the reset projection was rebuilt');

log_is_whole($node, 'ev', '(b)-(e)');
is($node->safe_psql('wk', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'evlog worker' AND datname = 'wk'}),
	'1', 'the worker of the attacked database still runs');

$node->stop;
done_testing();

# Attack class 2: owner code runs as the caller (S2).
#
# mallory (LOGIN, no superuser) registers sync projections whose "tables"
# run her code when read or written: (a) a view whose WHERE calls her
# function, (b) a table with a row trigger, (c) a table with a forced RLS
# policy whose USING calls her function, (d) a table whose column default
# calls her function. Her function counts, in sequences (evlog_verify rolls
# its fresh fold back, sequences stay), its runs as another role than
# mallory, as a superuser, and outside a security-restricted operation (it
# tries CREATE TEMP TABLE, which such an operation refuses with 42501). A
# superuser and ops (a member of mallory, so it may verify and rebuild her
# projections) then run evlog_verify and evlog_rebuild on each: her code
# must run only as mallory, restricted, never as the caller. Registering a
# view may be refused instead (22023, 42809 or 0A000). eve, who has no
# rights on the projections, gets 42501 from evlog_verify and evlog_rebuild,
# and her calls run nothing of mallory's. Every attack ends with the log
# whole.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogAdversary qw(adversary_node grant_execute_sql);

my $node = adversary_node('owner_code', qq{
evlog.launcher_naptime = 1
});
$node->safe_psql('postgres', q{
  CREATE ROLE ops LOGIN;
  GRANT mallory TO ops;
  CREATE ROLE eve LOGIN;
  CREATE DATABASE oc;
});
$node->safe_psql('oc', q{
  CREATE EXTENSION evlog;
  GRANT SELECT ON evlog.events TO mallory, eve;
  } . grant_execute_sql([qw(evlog_register_projection)], 'mallory') . q{
  CREATE SCHEMA attacker AUTHORIZATION mallory;
});

# a session's helper: the SQLSTATE of a statement ('ok' when it succeeds)
my $TRY = q{
  CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
  BEGIN EXECUTE q; RETURN 'ok';
  EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ' ' || SQLERRM; END $$;
};

# as(ROLE, SQL): run SQL in oc as ROLE; (rc, stdout, stderr)
sub as
{
	my ($role, $sql) = @_;
	return $node->psql('oc', $sql, extra_params => [ '-U', $role ]);
}

# what the last try() printed on stderr (mallory's code's warnings)
my $last_err = '';

# try(ROLE, STATEMENT): the SQLSTATE (and message) of STATEMENT run as ROLE, 'ok' when it succeeds
sub try
{
	my ($role, $stmt) = @_;
	$stmt =~ s/'/''/g;
	my ($rc, $out, $err) = as($role, "$TRY SELECT pg_temp.try('$stmt');");
	$last_err = $err;
	return $rc == 0 ? $out : "psql failed: $err";
}

# mallory's kit: attacker.rec counts its runs in sequences (a rollback does not undo them) and warns
my ($rc, $out, $err) = as('mallory', q{
  -- counters, not a table: evlog_verify rolls its fresh fold back
  CREATE SEQUENCE attacker.calls;
  CREATE SEQUENCE attacker.as_caller;
  CREATE SEQUENCE attacker.as_superuser;
  CREATE SEQUENCE attacker.unrestricted;
  GRANT USAGE ON SCHEMA attacker TO PUBLIC;
  GRANT USAGE ON ALL SEQUENCES IN SCHEMA attacker TO PUBLIC;
  CREATE FUNCTION attacker.rec(via text) RETURNS boolean LANGUAGE plpgsql SET search_path = pg_catalog AS $$
  DECLARE
    restricted boolean;
    su boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
  BEGIN
    BEGIN
      CREATE TEMP TABLE attacker_probe (x int);
      DROP TABLE attacker_probe;
      restricted := false;
    EXCEPTION WHEN insufficient_privilege THEN
      restricted := true;
    END;
    PERFORM nextval('attacker.calls');
    IF current_user <> 'mallory' THEN PERFORM nextval('attacker.as_caller'); END IF;
    IF su THEN PERFORM nextval('attacker.as_superuser'); END IF;
    IF NOT restricted THEN PERFORM nextval('attacker.unrestricted'); END IF;
    RAISE WARNING 'attacker.rec(%) ran as % (superuser %, restricted %)', via, current_user, su, restricted;
    RETURN true;
  END $$;
  GRANT EXECUTE ON FUNCTION attacker.rec(text) TO PUBLIC;

  -- (a) a view
  CREATE TABLE attacker.vbase (seq bigint NOT NULL);
  CREATE VIEW attacker.v AS SELECT seq FROM attacker.vbase WHERE attacker.rec('view');
  -- (b) a table with a trigger
  CREATE TABLE attacker.tt (seq bigint NOT NULL);
  CREATE FUNCTION attacker.trg() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN PERFORM attacker.rec('trigger ' || TG_OP); RETURN coalesce(NEW, OLD); END $$;
  CREATE TRIGGER t BEFORE INSERT OR UPDATE OR DELETE ON attacker.tt FOR EACH ROW EXECUTE FUNCTION attacker.trg();
  -- (c) a table with a forced RLS policy
  CREATE TABLE attacker.tr (seq bigint NOT NULL);
  ALTER TABLE attacker.tr ENABLE ROW LEVEL SECURITY;
  ALTER TABLE attacker.tr FORCE ROW LEVEL SECURITY;
  CREATE POLICY p ON attacker.tr USING (attacker.rec('rls policy')) WITH CHECK (true);
  -- (d) a table with a column default
  CREATE TABLE attacker.td (seq bigint NOT NULL, r boolean DEFAULT attacker.rec('column default'));
});
is($rc, 0, "mallory's kit is created") or diag($err);

my %table = (m_view => 'attacker.v', m_trig => 'attacker.tt', m_rls => 'attacker.tr', m_def => 'attacker.td');
my %registered;
for my $name (sort keys %table)
{
	my $tbl = $table{$name};
	as('mallory', qq{
	  CREATE FUNCTION attacker.h_$name(e evlog.events) RETURNS void LANGUAGE plpgsql AS \$\$
	  BEGIN INSERT INTO $tbl (seq) VALUES (e.seq); END \$\$;
	});
	my $res = try('mallory', "SELECT evlog_register_projection('$name', 'attacker.h_$name(evlog.events)', '{$tbl}', mode => 'sync')");
	if ($name eq 'm_view')
	{
		like($res, qr/^(ok$|(22023|42809|0A000) )/, '(a) registering a view succeeds or is refused (22023, 42809 or 0A000)');
	}
	else
	{
		is($res, 'ok', "mallory registers $name on $tbl");
	}
	$registered{$name} = $res eq 'ok';
}

# counters(): how many times mallory's code ran: in all, as someone else,
# as a superuser, outside a security-restricted operation
sub counters
{
	return split /\|/, $node->safe_psql('oc', q{
	  SELECT concat_ws('|', c.v, a.v, s.v, u.v) FROM
	    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END v FROM attacker.calls) c,
	    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END v FROM attacker.as_caller) a,
	    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END v FROM attacker.as_superuser) s,
	    (SELECT CASE WHEN is_called THEN last_value ELSE 0 END v FROM attacker.unrestricted) u});
}

# only_as_mallory(NAME, BEFORE): since the counters were BEFORE, mallory's
# code ran only as mallory and restricted; returns the counters now
sub only_as_mallory
{
	my ($name, $before) = @_;
	my @now = counters();
	my @d = map { $now[$_] - $before->[$_] } 0 .. 3;
	note("$name: mallory's code ran $d[0] times");
	is($d[1], 0, "$name: mallory's code never ran as the caller") or diag($last_err);
	is($d[2], 0, "$name: mallory's code never ran as a superuser");
	is($d[3], 0, "$name: mallory's code ran only in security-restricted operations") or diag($last_err);
	return \@now;
}

my $before = [ counters() ];
$node->safe_psql('oc', q{SELECT evlog_append('s', 'x.y', jsonb_build_object('i', i)) FROM generate_series(1, 3) i});
cmp_ok((counters())[0] - $before->[0], '>', 0, 'appends: the sync handlers ran her trigger and default');
$before = only_as_mallory('appends', $before);

my %label = (m_view => '(a) view', m_trig => '(b) trigger', m_rls => '(c) RLS policy', m_def => '(d) column default');
for my $name (qw(m_view m_trig m_rls m_def))
{
	my $l = $label{$name};
	if (!$registered{$name})
	{
		pass("$l: not registered, so nothing of it can run as the caller");
		next;
	}
	for my $caller (qw(postgres ops))
	{
		is(try($caller, "SELECT count(*) FROM evlog_verify('$name')"), 'ok', "$l: evlog_verify by $caller runs");
		$before = only_as_mallory("$l: evlog_verify by $caller", $before);
		is(try($caller, "SELECT evlog_rebuild('$name')"), 'ok', "$l: evlog_rebuild by $caller runs");
		$before = only_as_mallory("$l: evlog_rebuild by $caller", $before);
	}
	is($node->safe_psql('oc', "SELECT count(*) FROM evlog_verify('$name')"), '0', "$l: no drift after the rebuilds");
	$before = [ counters() ];
	like(try('eve', "SELECT count(*) FROM evlog_verify('$name')"), qr/^42501/, "$l: evlog_verify by eve is 42501");
	like(try('eve', "SELECT evlog_rebuild('$name')"), qr/^42501/, "$l: evlog_rebuild by eve is 42501");
	is((counters())[0] - $before->[0], 0, "$l: eve's refused calls ran nothing of mallory's");
}

is($node->safe_psql('oc', q{SELECT count(*) = coalesce(max(seq), 0) FROM evlog.events}), 't', 'the log is gapless');
is($node->safe_psql('oc', q{SELECT first_bad_seq IS NULL FROM evlog_verify_chain()}), 't', 'the hash chain is intact');

$node->stop;
done_testing();

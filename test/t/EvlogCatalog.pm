# What the evlog extension consists of in one database, as text that can be
# compared between databases: an updated database must hold exactly what a
# fresh install holds (README "Updating from 0.1.0").
#
# describe_extension(NODE, DB) returns a hash of entries, one per object,
# keyed by kind and name ("function public.evlog_append(...)", "column
# evlog.events.seq", ...). It covers:
#   - the extension row (version, schema, relocatable, owner) and its
#     pg_extension_config_dump registrations (table and condition);
#   - every member object (pg_depend deptype 'e'), by pg_describe_object,
#     with its comment;
#   - in the extension's schema and in every schema it owns (user objects
#     must live elsewhere): schemas (owner, ACL), relations (kind, owner, ACL,
#     options, row security, comment), columns in order (type, NOT NULL,
#     default, collation, identity, ACL, comment), constraints, indexes,
#     triggers (definition, enabled state, comment), rules, views, policies,
#     sequences, functions (pg_get_functiondef, owner, ACL, comment), types;
#   - pg_init_privs of all of those (what pg_dump treats as the extension's
#     own privileges).
# Dropped columns are skipped and the others numbered 1..n, so an update
# that drops a column compares equal to a fresh table without it.
#
# diff_descriptions(NAME_A, A, NAME_B, B, DIR) writes both as sorted text
# into DIR, each line prefixed with its entry's key, and returns '' when
# they are equal, else the output of diff -u (each line names its object).
package EvlogCatalog;

use strict;
use warnings;
use Exporter 'import';
use JSON::PP;
use PostgreSQL::Test::Utils;

our @EXPORT = qw(describe_extension diff_descriptions);

# one row (key, value) per object; keys carry the kind so that two kinds of
# object with the same name never collide
my $catalog_query = <<'SQL';
SET search_path = pg_catalog;
WITH ext AS (
  SELECT oid, extname, extnamespace FROM pg_extension WHERE extname = 'evlog'),
members AS (
  SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
  WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'),
nsp AS (
  SELECT extnamespace AS oid FROM ext
  UNION SELECT objid FROM members WHERE classid = 'pg_namespace'::regclass),
rel AS (
  SELECT c.* FROM pg_class c WHERE c.relnamespace IN (SELECT oid FROM nsp) AND c.relkind <> 't'),
entries(key, value) AS (
  SELECT 'extension ' || e.extname,
         format('version %s, relocatable %s, schema %s, owner %s',
                e.extversion, e.extrelocatable, e.extnamespace::regnamespace, e.extowner::regrole)
  FROM pg_extension e, ext WHERE e.oid = ext.oid
UNION ALL
  SELECT 'config dump ' || c.tab::regclass::text, coalesce('condition ' || quote_literal(c.cond), 'no condition')
  FROM pg_extension e, ext, unnest(e.extconfig, e.extcondition) AS c(tab, cond) WHERE e.oid = ext.oid
UNION ALL
  SELECT 'member ' || pg_describe_object(m.classid, m.objid, m.objsubid),
         'comment ' || coalesce(quote_literal(d.description), 'none')
  FROM members m
  LEFT JOIN pg_description d ON d.classoid = m.classid AND d.objoid = m.objid AND d.objsubid = m.objsubid
UNION ALL
  SELECT 'schema ' || quote_ident(n.nspname),
         format('owner %s, acl %s, comment %s', n.nspowner::regrole, n.nspacl,
                coalesce(quote_literal(obj_description(n.oid, 'pg_namespace')), 'none'))
  FROM pg_namespace n WHERE n.oid IN (SELECT oid FROM nsp)
UNION ALL
  SELECT 'relation ' || c.oid::regclass::text,
         format('kind %s, persistence %s, owner %s, acl %s, options %s, access method %s, row security %s/%s, replica identity %s, comment %s',
                c.relkind, c.relpersistence, c.relowner::regrole, c.relacl, c.reloptions,
                (SELECT amname FROM pg_am WHERE oid = c.relam), c.relrowsecurity, c.relforcerowsecurity,
                c.relreplident, coalesce(quote_literal(obj_description(c.oid, 'pg_class')), 'none'))
  FROM rel c
UNION ALL
  SELECT 'column ' || c.oid::regclass::text || '.' || quote_ident(a.attname),
         format('position %s, type %s, not null %s, default %s, collation %s, identity %s, generated %s, storage %s, statistics %s, acl %s, comment %s',
                row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
                format_type(a.atttypid, a.atttypmod), a.attnotnull,
                coalesce(pg_get_expr(ad.adbin, ad.adrelid), 'none'),
                coalesce(co.collname::text, 'none'), a.attidentity, a.attgenerated, a.attstorage,
                a.attstattarget, a.attacl,
                coalesce(quote_literal(col_description(a.attrelid, a.attnum)), 'none'))
  FROM rel c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation
  WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f', 'c')
UNION ALL
  SELECT 'constraint ' || coalesce(con.conrelid::regclass::text, con.contypid::regtype::text) || '.' || quote_ident(con.conname),
         format('%s, deferrable %s, deferred %s, validated %s, comment %s',
                pg_get_constraintdef(con.oid), con.condeferrable, con.condeferred, con.convalidated,
                coalesce(quote_literal(obj_description(con.oid, 'pg_constraint')), 'none'))
  FROM pg_constraint con WHERE con.connamespace IN (SELECT oid FROM nsp)
UNION ALL
  SELECT 'index ' || i.indexrelid::regclass::text,
         format('%s, valid %s, clustered %s', pg_get_indexdef(i.indexrelid), i.indisvalid, i.indisclustered)
  FROM pg_index i JOIN rel c ON c.oid = i.indrelid
UNION ALL
  SELECT 'trigger ' || t.tgrelid::regclass::text || '.' || quote_ident(t.tgname),
         format('%s, enabled %s, comment %s', pg_get_triggerdef(t.oid), t.tgenabled,
                coalesce(quote_literal(obj_description(t.oid, 'pg_trigger')), 'none'))
  FROM pg_trigger t JOIN rel c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal
UNION ALL
  SELECT 'rule ' || r.ev_class::regclass::text || '.' || quote_ident(r.rulename),
         format('%s, enabled %s, comment %s', pg_get_ruledef(r.oid), r.ev_enabled,
                coalesce(quote_literal(obj_description(r.oid, 'pg_rewrite')), 'none'))
  FROM pg_rewrite r JOIN rel c ON c.oid = r.ev_class WHERE r.rulename <> '_RETURN'
UNION ALL
  SELECT 'view ' || c.oid::regclass::text, pg_get_viewdef(c.oid)
  FROM rel c WHERE c.relkind IN ('v', 'm')
UNION ALL
  SELECT 'policy ' || p.polrelid::regclass::text || '.' || quote_ident(p.polname),
         format('command %s, permissive %s, roles %s, using %s, check %s', p.polcmd, p.polpermissive,
                p.polroles::regrole[], pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid))
  FROM pg_policy p JOIN rel c ON c.oid = p.polrelid
UNION ALL
  SELECT 'sequence ' || s.seqrelid::regclass::text,
         format('type %s, start %s, increment %s, min %s, max %s, cache %s, cycle %s', s.seqtypid::regtype,
                s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
  FROM pg_sequence s JOIN rel c ON c.oid = s.seqrelid
UNION ALL
  SELECT 'function ' || p.oid::regprocedure::text,
         format(E'owner %s, acl %s, comment %s\n%s', p.proowner::regrole, p.proacl,
                coalesce(quote_literal(obj_description(p.oid, 'pg_proc')), 'none'),
                CASE WHEN p.prokind = 'a'
                     THEN (SELECT format('aggregate: transition %s, final %s, state %s, initial %s',
                                         ag.aggtransfn, ag.aggfinalfn, ag.aggtranstype::regtype, ag.agginitval)
                           FROM pg_aggregate ag WHERE ag.aggfnoid = p.oid)
                     ELSE pg_get_functiondef(p.oid) END)
  FROM pg_proc p WHERE p.pronamespace IN (SELECT oid FROM nsp)
UNION ALL
  SELECT 'type ' || t.oid::regtype::text,
         format('kind %s, owner %s, acl %s, domain of %s, not null %s, default %s, labels %s, comment %s',
                t.typtype, t.typowner::regrole, t.typacl,
                CASE WHEN t.typtype = 'd' THEN format_type(t.typbasetype, t.typtypmod) END,
                t.typnotnull, t.typdefault,
                (SELECT string_agg(quote_literal(en.enumlabel), ', ' ORDER BY en.enumsortorder)
                 FROM pg_enum en WHERE en.enumtypid = t.oid),
                coalesce(quote_literal(obj_description(t.oid, 'pg_type')), 'none'))
  FROM pg_type t
  WHERE t.typnamespace IN (SELECT oid FROM nsp) AND NOT (t.typcategory = 'A' AND t.typelem <> 0)
UNION ALL
  SELECT 'initial privileges ' || pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
         format('%s %s', ip.privtype, ip.initprivs)
  FROM pg_init_privs ip
  WHERE (ip.classoid, ip.objoid) IN (SELECT classid, objid FROM members)
     OR (ip.classoid = 'pg_class'::regclass AND ip.objoid IN (SELECT oid FROM rel))
     OR (ip.classoid = 'pg_proc'::regclass
         AND ip.objoid IN (SELECT oid FROM pg_proc WHERE pronamespace IN (SELECT oid FROM nsp)))
     OR (ip.classoid = 'pg_namespace'::regclass AND ip.objoid IN (SELECT oid FROM nsp))
)
SELECT jsonb_agg(jsonb_build_array(key, value) ORDER BY key) FROM entries;
SQL

# describe_extension(NODE, DB): hashref key => description of every object
# of the evlog extension in DB (see the top of this file); dies on a key
# that occurs twice, which would hide an object
sub describe_extension
{
	my ($node, $db) = @_;
	my $json = $node->safe_psql($db, $catalog_query);
	my %entries;

	for my $pair (@{ decode_json($json) })
	{
		my ($key, $value) = @$pair;
		die "catalog entry \"$key\" occurs twice in $db" if exists $entries{$key};
		$entries{$key} = $value // 'NULL';
	}
	return \%entries;
}

# diff_descriptions(NAME_A, A, NAME_B, B, DIR): write A and B (from
# describe_extension) to DIR/NAME_A.txt and DIR/NAME_B.txt in key order, one
# line "KEY | LINE" per line of each entry's description; return '' when they
# are equal, else diff -u A B
sub diff_descriptions
{
	my ($name_a, $a, $name_b, $b, $dir) = @_;
	my @files;

	for my $side ([ $name_a, $a ], [ $name_b, $b ])
	{
		my ($name, $entries) = @$side;
		my $file = "$dir/$name.txt";
		open my $fh, '>', $file or die "cannot write $file: $!";
		for my $key (sort keys %$entries)
		{
			print $fh "$key | $_\n" for split /\n/, $entries->{$key}, -1;
		}
		close $fh or die "cannot write $file: $!";
		push @files, $file;
	}
	my ($stdout, $stderr) = run_command([ 'diff', '-u', @files ]);
	return $stdout . $stderr;
}

1;

# The NULL sweep (README "Adversarial tests"): no argument, NULL included, to
# any evlog function crashes a backend.
#
# The functions are read from the catalog (everything the evlog extension
# owns in pg_proc, trigger functions excepted), so a function added later is
# swept without touching this file.  Each is called with NULL in one position
# at a time (the others given plausible values, typed by the argument's
# type), with all arguments NULL, and, for an array argument, with an array
# holding a NULL element; as the bootstrap superuser and as mallory, in a
# database at the current version and, for the functions written in C, in
# one still at 0.1.0's SQL declarations (the C library must check what 0.1.0
# did not declare STRICT).
# Every call runs in a transaction that is rolled back, in one session per
# role and database.
#
# The rows of the loader view evlog.append_queue get the same, through
# INSERT (its trigger) and COPY FROM STDIN (evlog's own COPY path).
#
# A call passes when it returns or fails with an ordinary error; it fails
# when the backend dies (psql loses the connection, the server log says a
# process was terminated), when it does not return within statement_timeout
# (57014), or when it fails with an internal or system error (classes XX,
# 53, 57, 58, 08) or a syntax error (42601: SQL evlog built from a NULL).
# After a crash the sweep waits for the server and goes on with the next
# call, so one run names every call that fails.  One assertion
# per function, role and database names the calls that failed; the SQLSTATE
# of every call is written to null_sweep.txt beside the server log.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::Bin;
use EvlogAdversary;

my $statement_timeout = '2s';

my $node = adversary_node('null_sweep');
adversary_db($node, 'current');
adversary_db($node, 'old', '0.1.0');
my $watch = crash_watch($node);

# Plausible values: by argument name (when the type matches), else by type,
# else by type category.  SQL expressions, cast to the argument's type.
my %by_name = (
	'name text' => q{'adv_async'},
	'stream text' => q{'adv-9'},
	'type text' => q{'adv.thing'},
	'payload jsonb' => q{'{"n": 1}'},
	'metadata jsonb' => q{'{}'},
	'idempotency_key text' => q{'adv-key-new'},
	'expected_version bigint' => q{0},
	'type_version integer' => q{1},
	'from_version integer' => q{1},
	'mode text' => q{'async'},
	'on_error text' => q{'stop'},
	'handler regprocedure' => q{'adv_fold(evlog.events)'},
	'reset regprocedure' => q{'adv_reset()'},
	'validator regprocedure' => q{'adv_validate(jsonb)'},
	'fn regprocedure' => q{'adv_upcast(jsonb)'},
	'check text' => q{'$.n >= 0'},
	'predicate text' => q{'$.n >= 0'},
	'tables regclass[]' => q{'{adv_spare}'},
	'tbl regclass' => q{'adv_spare'},
	'event_types text[]' => q{'{adv.thing}'},
	'types text[]' => q{'{adv.thing}'},
	'after_seq bigint' => q{0},
	'after_version bigint' => q{0},
	'from_seq bigint' => q{1},
	'seq bigint' => q{1},
	'max_count integer' => q{10},
	'timeout interval' => q{'1 second'},
	'upcast boolean' => q{false},
	'description text' => q{'adv'});
# a function that creates the object its name names gets a fresh name
my %by_function = (
	'evlog_register_projection name' => q{'adv_new'},
	'evlog_define_event_type type_version' => q{3});
my %by_type = (
	'text' => q{'adv'},
	'name' => q{'adv'},
	'bigint' => q{1},
	'integer' => q{1},
	'smallint' => q{1},
	'boolean' => q{false},
	'jsonb' => q{'{}'},
	'json' => q{'{}'},
	'jsonpath' => q{'$.n'},
	'interval' => q{'1 second'},
	'timestamp with time zone' => q{now()},
	'bytea' => q{'\x00'},
	'regclass' => q{'adv_spare'},
	'regprocedure' => q{'adv_reset()'},
	'regproc' => q{'adv_reset'},
	'regrole' => q{'mallory'},
	'text[]' => q{'{adv}'},
	'regclass[]' => q{'{adv_spare}'},
	'evlog.new_event[]' =>
	  q{ARRAY[ROW('adv-9', 'adv.thing', '{"n": 1}', '{}', NULL, NULL, 1)::evlog.new_event]});
my %by_category = (S => q{'adv'}, N => q{1}, B => q{false}, A => q{'{}'});

# the extension's functions: one hash per function; with C_ONLY only those
# written in C (in a database at 0.1.0 the SQL and PL/pgSQL functions are
# 0.1.0's, which no library can change: only the C functions are its)
sub functions
{
	my ($db, $c_only) = @_;
	my $lang = $c_only ? q{AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')} : '';
	my $rows = $node->safe_psql($db, qq{
SELECT p.oid, quote_ident(n.nspname) || '.' || quote_ident(p.proname), p.proname, p.prokind,
       p.oid::regprocedure,
       coalesce((SELECT string_agg(format_type(t.oid, NULL) || ':' || t.typcategory::text || ':' || t.typtype::text
                                   || ':' || coalesce(format_type(nullif(t.typelem, 0), NULL), '')
                                   || ':' || coalesce((SELECT count(*) FROM pg_attribute a
                                                       JOIN pg_type et ON et.typrelid = a.attrelid
                                                       WHERE et.oid = t.typelem AND a.attnum > 0
                                                         AND NOT a.attisdropped)::text, '0'),
                                   ';' ORDER BY k)
                 FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(typ, k)
                 JOIN pg_type t ON t.oid = u.typ), ''),
       CASE WHEN p.proargnames IS NULL THEN ''
            ELSE coalesce((SELECT string_agg(coalesce(nullif(nm, ''), '?'), ';' ORDER BY k)
                           FROM unnest(p.proargnames, coalesce(p.proargmodes::text[],
                                       array_fill('i'::text, ARRAY[cardinality(p.proargnames)])))
                                WITH ORDINALITY u(nm, md, k)
                           WHERE md IN ('i', 'b', 'v')), '') END
FROM pg_depend d
JOIN pg_extension x ON x.oid = d.refobjid AND x.extname = 'evlog'
JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE d.deptype = 'e'
  AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype) $lang
ORDER BY p.oid::regprocedure::text});
	my @fns;
	for my $row (split /\n/, $rows)
	{
		my ($oid, $qname, $proname, $kind, $sig, $types, $names) = split /\|/, $row, -1;
		my @types = map { [ split /:/, $_, -1 ] } grep { $_ ne '' } split /;/, $types;
		my @names = split /;/, $names, -1;
		push @fns, {
			qname => $qname, proname => $proname, kind => $kind, sig => $sig,
			types => \@types, names => \@names };
	}
	return @fns;
}

# the plausible value of argument I of FN, as a typed SQL expression, or
# undef when there is none (a pseudo-type other than a polymorphic one)
sub plausible
{
	my ($fn, $i) = @_;
	my ($type, $cat, $typtype) = @{ $fn->{types}[$i] };
	my $name = $fn->{names}[$i] // '?';
	my $v = $by_function{"$fn->{proname} $name"} // $by_name{"$name $type"} // $by_type{$type}
	  // $by_category{$cat};
	if ($typtype eq 'p')
	{
		return $type =~ /^any(element|nonarray|compatible|compatiblenonarray)$/ ? q{'adv'::text} : undef;
	}
	return defined $v ? "($v)::$type" : "NULL::$type";
}

# the calls that sweep FN: [ label, SQL ] pairs
sub calls_for
{
	my ($fn) = @_;
	my @types = @{ $fn->{types} };
	my $n = @types;
	my @plausible = map { plausible($fn, $_) } 0 .. $n - 1;
	return () if grep { !defined } @plausible;
	my $call = sub {
		my @args = @_;
		my $c = "$fn->{qname}(" . join(', ', @args) . ')';
		return $fn->{kind} eq 'p' ? "CALL $c;"
		  : $fn->{kind} eq 'w' ? "SELECT $c OVER ();"
		  : "SELECT $c;";
	};
	my $null = sub { $types[ $_[0] ][2] eq 'p' ? 'NULL::text' : "NULL::$types[$_[0]][0]" };
	my @calls;
	push @calls, [ 'no argument', $call->() ] if $n == 0;
	for my $i (0 .. $n - 1)
	{
		my @args = @plausible;
		my $argname = $fn->{names}[$i] // '?';
		$args[$i] = $null->($i);
		push @calls, [ "NULL $argname (position " . ($i + 1) . ')', $call->(@args) ];
		# an array with a NULL element (a composite element: all fields NULL)
		my ($type, $cat, $typtype, $elem, $natts) = @{ $types[$i] };
		next unless $cat eq 'A' && $elem ne '';
		my $el = $natts > 0 ? "ROW(" . join(', ', ('NULL') x $natts) . ")::$elem" : "NULL::$elem";
		$args[$i] = "ARRAY[$el]::$type";
		push @calls, [ "$argname holding a NULL element (position " . ($i + 1) . ')', $call->(@args) ];
		$args[$i] = "ARRAY[NULL::$elem]::$type";
		push @calls, [ "$argname holding a NULL (position " . ($i + 1) . ')', $call->(@args) ]
		  if $natts > 0;
	}
	push @calls, [ 'all NULL', $call->(map { $null->($_) } 0 .. $n - 1) ] if $n > 1;
	return @calls;
}

# the rows of the loader view evlog.append_queue, by INSERT (its trigger,
# bulk.c) and by COPY FROM STDIN (copy.c), with NULL in one column at a
# time and in all: [ label, SQL ] pairs under two names
sub loader_calls
{
	my ($db) = @_;
	my @cols = map { [ split /\|/ ] } split /\n/, $node->safe_psql($db, q{
SELECT attname, format_type(atttypid, NULL) FROM pg_attribute
WHERE attrelid = 'evlog.append_queue'::regclass AND attnum > 0 AND NOT attisdropped
  AND attname <> 'seq' ORDER BY attnum});
	my $names = join(', ', map { $_->[0] } @cols);
	my @values = map { $by_name{"$_->[0] $_->[1]"} // $by_type{ $_->[1] } // 'NULL' } @cols;
	my @calls;
	for my $i (0 .. $#cols, -1)
	{
		my $label = $i < 0 ? 'all NULL' : "NULL $cols[$i][0]";
		my @v = map { $i < 0 || $_ == $i ? 'NULL' : $values[$_] } 0 .. $#cols;
		push @calls, [ 'evlog.append_queue (INSERT)', $label,
			"INSERT INTO evlog.append_queue ($names) VALUES (" . join(', ', @v) . ');' ];
		my $row = join("\t", map { $_ eq 'NULL' ? '\N' : s/^'(.*)'$/$1/r } @v);
		push @calls, [ 'evlog.append_queue (COPY)', $label,
			"COPY evlog.append_queue ($names) FROM STDIN;\n$row\n\\." ];
	}
	return @calls;
}

# run CALLS[FROM..] as ROLE in DB, one session; returns the results seen
# (index => SQLSTATE and message) and whether the session ended cleanly
sub run_calls
{
	my ($db, $role, $calls, $from) = @_;
	my $script = "SET statement_timeout = '$statement_timeout';\n\\set VERBOSITY verbose\n"
	  . "SELECT pg_backend_pid() AS pid0 \\gset\n\\o /dev/null\n";
	for my $i ($from .. $#$calls)
	{
		$script .= "\\warn MARK $i\nBEGIN;\n$calls->[$i][1]\n"
		  . "\\echo RESULT $i :SQLSTATE :LAST_ERROR_MESSAGE\nROLLBACK;\n";
	}
	$script .= "\\o\nSELECT pg_backend_pid() = :pid0 AS same \\gset\n\\echo END :same\n";
	my $timed_out = 0;
	my ($ret, $out, $err) = $node->psql(
		$db, $script,
		extra_params => [ '-U', $role ],
		on_error_stop => 0,
		timeout => 300,
		timed_out => \$timed_out);
	my %results;
	for (split /\n/, $out)
	{
		$results{$1} = [ $2, $3 // '' ] if /^RESULT (\d+) (\S+)(?: (.*))?$/;
	}
	# psql leaves SQLSTATE at 00000 after a failed COPY: the error it
	# printed, after the call's MARK, tells
	my @blocks = split /^MARK (\d+)\n/m, $err;
	shift @blocks;
	while (my ($i, $text) = splice(@blocks, 0, 2))
	{
		$results{$i} = [ $1, $2 ]
		  if exists $results{$i} && $text =~ /ERROR:\s+([0-9A-Z]{5}): (.*)/;
	}
	return (\%results, $out =~ /^END t$/m ? 1 : 0, $timed_out);
}

my @table;
# internal and system errors, a cancel (statement_timeout), a lost
# connection, and a syntax error (evlog's own SQL built from a NULL)
my $bad_class = qr/^(XX|53|57|58|08|42601)/;
for my $db ('current', 'old')
{
	my @fns = functions($db, $db eq 'old');
	ok(@fns >= 10, "$db: the sweep found the extension's functions (" . scalar(@fns) . ')');
	my (@calls, @owner);
	for my $fn (@fns)
	{
		my @c = calls_for($fn);
		note("$db: $fn->{sig} is not swept: an argument of a pseudo-type") unless @c;
		for (@c)
		{
			push @calls, $_;
			push @owner, $fn->{sig};
		}
	}
	my @targets = map { $_->{sig} } @fns;
	for (loader_calls($db))
	{
		my ($target, @call) = @$_;
		push @targets, $target unless grep { $_ eq $target } @targets;
		push @calls, \@call;
		push @owner, $target;
	}
	for my $role ('postgres', $EvlogAdversary::MALLORY)
	{
		my %failed;
		my $i = 0;
		while ($i <= $#calls)
		{
			my ($results, $clean, $timed_out) = run_calls($db, $role, \@calls, $i);
			while ($i <= $#calls && exists $results->{$i})
			{
				my ($state, $msg) = @{ $results->{$i} };
				push @table, join("\t", $db, $role, $state, $calls[$i][1] =~ s/\n/ /gr,
					$state eq '00000' ? '' : $msg);
				push @{ $failed{ $owner[$i] } }, "$calls[$i][0]: $state $msg ($calls[$i][1])"
				  if $state =~ $bad_class;
				$i++;
			}
			last if $i > $#calls && $clean;
			if ($i > $#calls)
			{
				# every call returned, but the session did not end as it began
				push @{ $failed{'(the session)'} }, 'the session did not survive the sweep';
				last;
			}
			# call $i did not return: the backend died, or it hung
			my $what = $timed_out ? 'did not return (psql timed out)' : 'the backend died (connection lost)';
			push @{ $failed{ $owner[$i] } }, "$calls[$i][0]: $what ($calls[$i][1])";
			push @table, join("\t", $db, $role, 'CRASH', $calls[$i][1] =~ s/\n/ /gr, $what);
			wait_accepting($node) or BAIL_OUT('the server did not come back after a crash');
			$i++;
		}
		for my $target (@targets)
		{
			my $f = $failed{$target};
			ok(!$f, "$db, as $role: $target survives NULL arguments")
			  or diag(join("\n", @$f));
		}
		ok(!$failed{'(the session)'}, "$db, as $role: the session survives the whole sweep");
	}
	log_is_whole($node, $db, "$db after the sweep");
}
no_crash_since($node, $watch, 'the whole sweep');

open my $fh, '>', "$PostgreSQL::Test::Utils::log_path/null_sweep.txt" or die $!;
print $fh "database\trole\tsqlstate\tcall\tmessage\n", map { "$_\n" } @table;
close $fh;
my %states;
$states{ (split /\t/)[2] }++ for @table;
note('SQLSTATEs of the sweep: ' . join(', ', map { "$_ x$states{$_}" } sort keys %states));

$node->stop;
done_testing();

# Consumer groups under load, shared by 011_consumer.pl (straight to the
# server) and 012_consumer_pgbouncer.pl (through pgbouncer): three processes
# of examples/consumer.py share a group over the events already in the log;
# one is killed with SIGKILL mid-batch; the others take its partitions once
# its lease runs out.  The checks (README "Consumer groups"): every event is
# handled at least once; the only events handled twice are those the killed
# member handled after its last acknowledgement; each member handles each
# stream's events in seq order; the group's lag is 0 at the end.
package EvlogConsumers;

use strict;
use warnings;
use Exporter 'import';
use FindBin;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(run_consumers consumer_script);

# the example consumer, run by Debian's python3 (python3-psycopg)
sub consumer_script
{
	return "$FindBin::Bin/../../examples/consumer.py";
}

# parse_log(FILE): ([handled [seq, stream]...], last acknowledged seq or 0,
# handled after the last ACK line [seq...], the ACK lines' times [seconds of
# the monotonic clock...])
sub parse_log
{
	my ($file) = @_;
	my (@handled, @since_ack, @acked_at);
	my $acked = 0;
	open my $fh, '<', $file or return ([], 0, [], []);
	while (my $line = <$fh>)
	{
		if ($line =~ /^HANDLE \S+ (\d+) (\S+) /)
		{
			push @handled, [ $1, $2 ];
			push @since_ack, $1;
		}
		elsif ($line =~ /^ACK \S+ (\d+) \d+ ([\d.]+)$/)
		{
			$acked = $1;
			push @acked_at, $2;
			@since_ack = ();
		}
	}
	close $fh;
	return (\@handled, $acked, \@since_ack, \@acked_at);
}

# run_consumers(NODE, DB, DSN, GROUP, TOTAL, LABEL): run the three members
# against DSN (a libpq connection string), kill the first mid-batch, wait for
# the others to drain the group and leave, and check what they handled
# against the TOTAL events of the log (seq 1..TOTAL).
sub run_consumers
{
	my ($node, $db, $dsn, $group, $total, $label) = @_;
	my $dir = $node->basedir;
	my @members = map { "$label-m$_" } 1 .. 3;
	my %runs;
	for my $m (@members)
	{
		unlink "$dir/$m.log";
		my @cmd = ('/usr/bin/python3', consumer_script(), '--dsn', $dsn, '--group', $group,
			'--member', $m, '--batch', '200', '--timeout', '3 seconds', '--exit-when-idle',
			'--log', "$dir/$m.log");
		# the victim is slow, so that the kill lands inside a batch
		push @cmd, '--slow-ms', '2' if $m eq $members[0];
		my ($out, $err) = ('', '');
		$runs{$m} = [ IPC::Run::start(\@cmd, '>', \$out, '2>', \$err), \$out, \$err ];
	}

	# SIGKILL the victim once it has handled 300 events, inside a batch
	my $victim = $members[0];
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;
	while (time < $deadline)
	{
		my ($h) = parse_log("$dir/$victim.log");
		last if @$h >= 300;
		usleep(20_000);
	}
	$runs{$victim}[0]->signal('KILL');
	eval { $runs{$victim}[0]->finish };
	for my $m (@members[ 1 .. 2 ])
	{
		my $ok = eval { $runs{$m}[0]->finish; 1 };
		ok($ok && $runs{$m}[0]->result == 0, "$label: $m drained the group and left")
		  or diag(${ $runs{$m}[2] });
	}

	my (%count, %allowed);
	my $in_order = 1;
	for my $m (@members)
	{
		my ($handled, $acked, $since_ack) = parse_log("$dir/$m.log");
		my %last;
		for my $h (@$handled)
		{
			my ($seq, $stream) = @$h;
			$count{$seq}++;
			if (defined $last{$stream} && $seq <= $last{$stream})
			{
				$in_order = 0;
				diag("$m handled $stream seq $seq after $last{$stream}");
			}
			$last{$stream} = $seq;
		}
		if ($m eq $victim)
		{
			$allowed{$_} = 1 for @$since_ack;
			ok(@$since_ack > 0, "$label: the victim was killed with " . scalar(@$since_ack)
				  . ' events handled and not acknowledged');
		}
	}
	my @missing = grep { !$count{$_} } 1 .. $total;
	is(scalar(@missing), 0, "$label: every one of $total events was handled at least once")
	  or diag("missing: @missing[0 .. ($#missing < 9 ? $#missing : 9)]");
	my @repeats = grep { $count{$_} > 1 } keys %count;
	my @bad = grep { !$allowed{$_} || $count{$_} > 2 } @repeats;
	is(scalar(@bad), 0, "$label: the only repeats (" . scalar(@repeats)
		  . ") are the killed member's unacknowledged events, given once more")
	  or diag('bad repeats: ' . join(' ', (sort { $a <=> $b } @bad)[ 0 .. ($#bad < 9 ? $#bad : 9) ]));
	ok($in_order, "$label: each member handled each stream's events in seq order");
	is($node->safe_psql($db, "SELECT lag_events FROM evlog.consumer_groups WHERE group_name = '$group'"),
		'0', "$label: the group's lag is 0");
	is($node->safe_psql($db, "SELECT count(*) FROM evlog.consumer_members WHERE group_name = '$group'"),
		'0', "$label: no member is left");
	return \%count;
}

1;

# The README's projection example, run as written: the read-your-writes
# recipe returns true once the worker folded the event, and waiting inside
# the appending transaction fails at once with 55000 instead of timing out.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use FindBin;
use lib $FindBin::Bin;
use EvlogNode;

my $readme = slurp_file("$ENV{EVLOG_SRC}/README.md");
my ($block) = $readme =~ /^### Projections\n.*?^```sql\n(.*?)^```/ms;
ok(defined $block && $block =~ /evlog_wait\('board', :seq\)/, 'the README has the recipe');

my $node = evlog_node('readme', db => 'app');

my ($rc, $out, $err) = $node->psql('app', $block, on_error_stop => 1);
is($rc, 0, 'the README block runs without error') or diag($err);
my @lines = split /\n/, $out;
is($lines[-2], 't', 'evlog_wait returns true after the committed append');
is($lines[-1], 'New|todo', 'the board shows the new ticket');

# the old recipe: waiting in the appending statement's own transaction
my $t0 = time;
($rc, $out, $err) = $node->psql('app',
	q{SELECT evlog_wait('board', evlog_append('ticket-10', 'ticket.opened', '{"title": "Too soon"}'))});
my $elapsed = time - $t0;
like($err, qr/event \d+ was appended by this transaction, which has not committed/,
	'waiting inside the appending transaction is refused');
like($err, qr/HINT:  Commit the appending transaction first/, 'with a hint');
cmp_ok($elapsed, '<', 4, 'at once, not after the 5 s timeout');
is($node->safe_psql('app', q{SELECT count(*) FROM evlog.events WHERE stream = 'ticket-10'}), '0',
	'and the append rolled back with it');

$node->stop;
done_testing();

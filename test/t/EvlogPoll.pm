# Polling that survives a server in crash recovery. PostgreSQL::Test::Cluster's
# poll_query_until dies when psql exits before it has read its query (IPC::Run
# reports the broken pipe), which happens while the server refuses
# connections; poll_until retries it instead, within the usual timeout.
package EvlogPoll;

use strict;
use warnings;
use Exporter 'import';
use PostgreSQL::Test::Utils;
use Time::HiRes qw(usleep);

our @EXPORT = qw(poll_until);

# poll_until(NODE, DB, QUERY, EXPECTED): 1 once QUERY returns EXPECTED on
# NODE, 0 after $PostgreSQL::Test::Utils::timeout_default seconds
sub poll_until
{
	my ($node, $db, $query, $expected) = @_;
	my $deadline = time + $PostgreSQL::Test::Utils::timeout_default;

	while (time < $deadline)
	{
		my $ok = eval { $node->poll_query_until($db, $query, $expected) };
		return 1 if $ok;
		usleep(100_000);
	}
	return 0;
}

1;

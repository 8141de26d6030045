/*-------------------------------------------------------------------------
 *
 * delivery.c
 *	  Consumer groups' deliveries: the events given to a member and not yet
 *	  acknowledged, kept in shared memory per partition in seq order, and
 *	  the acks that commit them (README "Consumer groups"; docs/guarantees.md
 *	  C1, C3).
 *
 * A poll records here what it read (evlog_lease_record); an ack is checked
 * and computed here in the acking transaction (evlog_lease_ack: a fenced
 * member or one without a lease gets EV006 and commits nothing) and
 * applied by lease.c once that transaction commits, where the member may
 * also let go of partitions.  A seek starts every partition again after a
 * seq.  The slots and their lock are leasemem.c's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "delivery.h"
#include "durable.h"
#include "lease.h"
#include "leasemem.h"

/*
 * evlog_lease_record
 *		Record as given to member the events the poll read: n of them, in
 *		seq order, with their partitions.  An event is kept (keep[i]) when
 *		its partition is still the member's under the same ownership and a
 *		concurrent poll of the same member did not give it already.  The
 *		member's partitions are then given up to scanned_to (the poll looked
 *		at every event up to it), or up to the last kept event when the
 *		delivery pool filled up.  Returns the number kept.  Takes the lock
 *		exclusively; raises 53400 when the pool is full.
 */
int
evlog_lease_record(const LeaseGroupKey *g, const char *member,
				   const LeaseAssignment *a, int n, const int64 *seqs,
				   const int32 *parts, bool *keep, int64 scanned_to)
{
	int			gi;
	int			mi;
	int			kept = 0;

	evlog_lease_lock();
	gi = evlog_lease_find_group(g->relid, g->group_id);
	mi = gi < 0 ? -1 : evlog_lease_find_member(gi, member);
	for (int i = 0; i < n; i++)
		keep[i] = false;
	if (mi < 0 || lease_members[mi].fenced)
	{
		lease_unlock_and_wake();
		return 0;
	}
	lease_members[mi].last_seen = GetCurrentTimestamp();
	for (int i = 0; i < n; i++)
	{
		LeasePartition *part = &lease_groups[gi].parts[parts[i]];
		int32		d;

		if (part->owner != mi || part->generation != a->part_gen[parts[i]] ||
			seqs[i] <= part->delivered)
			continue;
		if (lease_shared->free_delivery < 0)
		{
			scanned_to = seqs[i] - 1;
			break;
		}
		d = lease_shared->free_delivery;
		lease_shared->free_delivery = lease_deliveries[d].next;
		lease_deliveries[d].seq = seqs[i];
		lease_deliveries[d].next = -1;
		if (part->last >= 0)
			lease_deliveries[part->last].next = d;
		else
			part->first = d;
		part->last = d;
		part->delivered = seqs[i];
		keep[i] = true;
		kept++;
	}
	for (int p = 0; p < g->partitions; p++)
	{
		LeasePartition *part = &lease_groups[gi].parts[p];

		if (a->owned[p] && part->owner == mi && part->generation == a->part_gen[p])
			part->delivered = Max(part->delivered, scanned_to);
	}
	lease_unlock_and_wake();
	if (n > 0 && kept == 0 && scanned_to < seqs[0])
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no room for more unacknowledged deliveries in shared memory"),
				 errdetail("All %d delivery entries hold events given and not yet acknowledged.",
						   evlog_consumer_max_deliveries),
				 errhint("Acknowledge deliveries with evlog_ack, poll smaller batches, or raise evlog.consumer_deliveries (needs a restart).")));
	return kept;
}

/*
 * fenced_error
 *		Raise EV006 for member of group g.  why says what happened.
 */
static void
fenced_error(const LeaseGroupKey *g, const char *member, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_EVLOG_CONSUMER_FENCED),
			 errmsg("member \"%s\" of consumer group \"%s\" is fenced", member, g->name),
			 errdetail("%s", why),
			 errhint("Nothing was committed; poll again: its unacknowledged deliveries are given again.")));
}

/*
 * evlog_lease_ack
 *		Check an ack by member of group g up to seq, and compute it: fills
 *		parts and committed with the member's partitions whose committed
 *		offset moves (*nchanged of them), for the caller to write in its
 *		transaction; evlog_lease_ack_commit applies it here once that
 *		commits.  Returns the deliveries it acknowledges.  Takes the lock
 *		exclusively; raises EV006, changing nothing, when the member has no
 *		lease (never joined, left, the server restarted, or its lease ran
 *		out) or is fenced.
 */
int64
evlog_lease_ack(const LeaseGroupKey *g, const char *member, int64 seq,
				int *nchanged, int32 *parts, int64 *committed)
{
	int			gi;
	int			mi;
	int64		acked = 0;
	TimestampTz now = GetCurrentTimestamp();

	*nchanged = 0;
	evlog_lease_lock();
	gi = evlog_lease_find_group(g->relid, g->group_id);
	mi = gi < 0 ? -1 : evlog_lease_find_member(gi, member);
	if (mi >= 0 && evlog_lease_expired(mi, now))
	{
		evlog_lease_reap_expired(gi, now);
		mi = -1;
	}
	if (mi < 0 || lease_members[mi].fenced)
	{
		bool		fenced = mi >= 0;

		lease_unlock_and_wake();
		fenced_error(g, member, fenced ?
					 "It gave up partitions that had deliveries not acknowledged." :
					 "It holds no lease: it never polled, it left, its lease ran out, or the server restarted.");
	}
	lease_members[mi].last_seen = now;
	for (int p = 0; p < g->partitions; p++)
	{
		LeasePartition *part = &lease_groups[gi].parts[p];
		int64		newc;

		if (part->owner != mi)
			continue;
		newc = evlog_lease_ack_target(part, seq, &acked);
		if (newc > part->committed)
		{
			parts[*nchanged] = p;
			committed[*nchanged] = newc;
			(*nchanged)++;
		}
	}
	lease_unlock_and_wake();
	return acked;
}

/*
 * evlog_lease_seek
 *		After evlog_seek committed: every partition of group_id starts again
 *		after after_seq; members that had unacknowledged deliveries are
 *		fenced.  Takes the lock exclusively; raises nothing (it runs at
 *		commit).
 */
void
evlog_lease_seek(Oid relid, int64 group_id, int64 after_seq)
{
	int			gi;

	if (lease_shared == NULL)
		return;
	evlog_lease_lock();
	gi = evlog_lease_find_group(relid, group_id);
	if (gi >= 0)
	{
		LeaseGroup *g = &lease_groups[gi];

		for (int p = 0; p < g->partitions; p++)
		{
			LeasePartition *part = &g->parts[p];

			if (evlog_lease_drop_deliveries(part) > 0 && part->owner >= 0)
				lease_members[part->owner].fenced = true;
			part->committed = part->delivered = after_seq;
			part->generation = ++lease_shared->counter;
		}
	}
	(void) evlog_lease_unlock();
	evlog_durable_wake();
}


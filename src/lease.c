/*-------------------------------------------------------------------------
 *
 * lease.c
 *	  Consumer groups' members in shared memory: joining, leases, leaving,
 *	  and which member owns which partition (README "Consumer groups";
 *	  docs/guarantees.md C3).  The deliveries not yet acknowledged, and
 *	  acks, are delivery.c's.
 *
 * Everything here is lost at a restart, on purpose: after one, every
 * member joins again at its next poll and delivery starts again after the
 * committed offsets, which live in evlog.consumer_offsets (consumer_group.c).
 *
 * The shared memory (leasemem.c) holds evlog.consumer_groups group slots
 * (one per group that has been polled since the server started), each with
 * the state of its partitions; evlog.consumer_members member slots; and a pool of
 * evlog.consumer_deliveries delivery entries, one per event given and not
 * yet acknowledged, chained per partition in seq order.  One LWLock
 * guards all of it; nobody holds it while reading the log or waiting.
 *
 * Assignment: live members, ordered by name, get quotas that differ by at
 * most one.  A partition stays with its owner while the owner is within
 * its quota; the others go to members below theirs.  A partition moves
 * only when its owner lets go of it, at the owner's own poll or ack, when
 * it leaves, or when its lease ran out (then any member's call reaps it).
 * An owner that lets go of a partition with unacknowledged deliveries is
 * fenced: its next ack fails with EV006, its next poll joins again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "durable.h"
#include "lease.h"
#include "leasemem.h"

/*
 * member_cmp
 *		qsort comparator: member slots by name.
 */
static int
member_cmp(const void *a, const void *b)
{
	return strcmp(lease_members[*(const int *) a].name, lease_members[*(const int *) b].name);
}

/*
 * rebalance
 *		Compute the assignment of group slot gi's partitions to its live
 *		members (quotas by name order, sticky: an owner within its quota
 *		keeps what it has), and apply what concerns member me: give up what
 *		it owns beyond its quota, take the free partitions meant for it.
 *		Returns true when me gave up a partition with unacknowledged
 *		deliveries (it is then fenced).  Lock held exclusively.
 */
static bool
rebalance(int gi, int me)
{
	LeaseGroup *g = &lease_groups[gi];
	int		   *live = palloc(sizeof(int) * evlog_consumer_max_members);
	int		   *pos = palloc(sizeof(int) * evlog_consumer_max_members);
	int		   *count;
	int32		target[EVLOG_MAX_PARTITIONS];
	int			n = 0;
	int			k = 0;
	bool		fence = false;
	bool		changed = false;

	for (int i = 0; i < evlog_consumer_max_members; i++)
		if (lease_members[i].group == gi)
			live[n++] = i;
	qsort(live, n, sizeof(int), member_cmp);
	count = palloc0(sizeof(int) * n);
	for (int i = 0; i < n; i++)
		pos[live[i]] = i;
#define QUOTA(i) (g->partitions / n + ((i) < g->partitions % n ? 1 : 0))
	for (int p = 0; p < g->partitions; p++)
	{
		int			o = g->parts[p].owner;

		target[p] = -1;
		if (o >= 0 && count[pos[o]] < QUOTA(pos[o]))
		{
			target[p] = o;
			count[pos[o]]++;
		}
	}
	for (int p = 0; p < g->partitions; p++)
	{
		if (target[p] >= 0)
			continue;
		while (count[k] >= QUOTA(k))
			k++;
		target[p] = live[k];
		count[k]++;
	}
#undef QUOTA
	for (int p = 0; p < g->partitions; p++)
	{
		LeasePartition *part = &g->parts[p];

		if (part->owner == me && target[p] != me)
		{
			fence |= evlog_lease_release_partition(part);
			changed = true;
		}
		else if (part->owner < 0 && target[p] == me)
		{
			part->owner = me;
			part->generation = ++lease_shared->counter;
			part->delivered = part->committed;
			changed = true;
		}
	}
	if (changed)
		lease_members[me].generation = ++lease_shared->counter;
	pfree(live);
	pfree(pos);
	pfree(count);
	return fence;
}

/*
 * evlog_lease_group_loaded
 *		Has group_id of this database a slot?  Takes the lock shared.
 */
bool
evlog_lease_group_loaded(Oid relid, int64 group_id)
{
	bool		found;

	LWLockAcquire(lease_shared->lock, LW_SHARED);
	found = evlog_lease_find_group(relid, group_id) >= 0;
	LWLockRelease(lease_shared->lock);
	return found;
}

/*
 * evlog_lease_load_group
 *		Give group g a slot, with committed (g->partitions offsets, read
 *		from evlog.consumer_offsets) as where delivery starts.  Nothing
 *		happens when another backend did it first.  Slots of groups of an
 *		earlier evlog of this database (dropped, created again) are reused.
 *		Takes the lock
 *		exclusively; raises 53400 when every slot is taken.
 */
void
evlog_lease_load_group(const LeaseGroupKey *g, const int64 *committed)
{
	LeaseGroup *slot = NULL;

	evlog_lease_lock();
	if (evlog_lease_find_group(g->relid, g->group_id) >= 0)
	{
		lease_unlock_and_wake();
		return;
	}
	for (int i = 0; i < evlog_consumer_max_groups && slot == NULL; i++)
	{
		/* a group of an earlier evlog of this database is free too */
		if (lease_groups[i].dboid == MyDatabaseId && lease_groups[i].relid != g->relid)
		{
			for (int m = 0; m < evlog_consumer_max_members; m++)
				if (lease_members[m].group == i)
					evlog_lease_free_member(m);
			lease_groups[i].dboid = InvalidOid;
		}
		if (lease_groups[i].dboid == InvalidOid)
			slot = &lease_groups[i];
	}
	if (slot == NULL)
	{
		lease_unlock_and_wake();
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("no room for consumer group \"%s\" in shared memory", g->name),
				 errdetail("All %d group slots are in use by groups polled since the server started.",
						   evlog_consumer_max_groups),
				 errhint("Raise evlog.consumer_groups (needs a restart) or drop unused groups.")));
	}
	slot->dboid = MyDatabaseId;
	slot->relid = g->relid;
	slot->group_id = g->group_id;
	slot->partitions = g->partitions;
	slot->lease_us = g->lease_us;
	strlcpy(slot->name, g->name, sizeof(slot->name));
	for (int p = 0; p < g->partitions; p++)
	{
		slot->parts[p].owner = -1;
		slot->parts[p].first = slot->parts[p].last = -1;
		slot->parts[p].generation = ++lease_shared->counter;
		slot->parts[p].committed = slot->parts[p].delivered = committed[p];
	}
	lease_unlock_and_wake();
}

/*
 * join_member
 *		The slot of member name of group g, after reaping the members
 *		whose lease ran out; a new member gets a free slot.  A fenced
 *		member, one whose lease ran out, or (rejoin) one that asks, joins
 *		again: its deliveries are forgotten, to be given again.  Lock held exclusively; it is released before raising
 *		42704 (group gone) or 53400 (no free member slot).
 */
static int
join_member(const LeaseGroupKey *g, const char *name, bool rejoin, int *gip)
{
	int			gi = evlog_lease_find_group(g->relid, g->group_id);
	int			mi;
	TimestampTz now = GetCurrentTimestamp();

	if (gi < 0)
	{
		lease_unlock_and_wake();
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("consumer group \"%s\" does not exist", g->name)));
	}
	lease_groups[gi].lease_us = g->lease_us;
	evlog_lease_reap_expired(gi, now);
	mi = evlog_lease_find_member(gi, name);
	if (mi < 0)
	{
		for (int i = 0; i < evlog_consumer_max_members && mi < 0; i++)
			if (lease_members[i].group < 0)
				mi = i;
		if (mi < 0)
		{
			lease_unlock_and_wake();
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("no room for member \"%s\" of consumer group \"%s\" in shared memory",
							name, g->name),
					 errdetail("All %d member slots are in use.", evlog_consumer_max_members),
					 errhint("Raise evlog.consumer_members (needs a restart), or let idle members leave.")));
		}
		lease_members[mi].group = gi;
		lease_members[mi].fenced = false;
		lease_members[mi].generation = ++lease_shared->counter;
		strlcpy(lease_members[mi].name, name, sizeof(lease_members[mi].name));
	}
	else if (lease_members[mi].fenced || rejoin)
	{
		for (int p = 0; p < lease_groups[gi].partitions; p++)
		{
			LeasePartition *part = &lease_groups[gi].parts[p];

			if (part->owner == mi)
			{
				evlog_lease_drop_deliveries(part);
				part->delivered = part->committed;
				part->generation = ++lease_shared->counter;
			}
		}
		lease_members[mi].fenced = false;
		lease_members[mi].generation = ++lease_shared->counter;
	}
	lease_members[mi].last_seen = now;
	*gip = gi;
	return mi;
}

/*
 * evlog_lease_poll_begin
 *		A poll by member of group g: join (or, with rejoin, join again),
 *		rebalance, and fill a with the member's partitions and how far each was given.
 *		a->fenced says the member just gave up a partition with deliveries
 *		not acknowledged: the poll then gives nothing.  Takes the lock
 *		exclusively; raises what join raises.
 */
void
evlog_lease_poll_begin(const LeaseGroupKey *g, const char *member, bool rejoin,
					   LeaseAssignment *a)
{
	int			gi;
	int			mi;

	evlog_lease_lock();
	mi = join_member(g, member, rejoin, &gi);
	a->fenced = rebalance(gi, mi);
	if (a->fenced)
		lease_members[mi].fenced = true;
	a->generation = lease_members[mi].generation;
	a->nparts = 0;
	a->low = PG_INT64_MAX;
	for (int p = 0; p < g->partitions; p++)
	{
		LeasePartition *part = &lease_groups[gi].parts[p];

		a->owned[p] = part->owner == mi;
		if (!a->owned[p])
			continue;
		a->nparts++;
		a->delivered[p] = part->delivered;
		a->part_gen[p] = part->generation;
		a->low = Min(a->low, part->delivered);
	}
	lease_unlock_and_wake();
}

/*
 * evlog_lease_ack_commit
 *		After the transaction of an ack by member of group_id up to seq
 *		committed: forget the deliveries it acknowledged, move the offsets
 *		of the partitions it still owns, and let go of the partitions beyond
 *		its quota.  Takes the lock exclusively; raises nothing (it runs at
 *		commit).
 */
void
evlog_lease_ack_commit(Oid relid, int64 group_id, const char *member, int64 seq)
{
	int			gi;
	int			mi;

	if (lease_shared == NULL)
		return;
	evlog_lease_lock();
	gi = evlog_lease_find_group(relid, group_id);
	mi = gi < 0 ? -1 : evlog_lease_find_member(gi, member);
	if (mi >= 0)
	{
		LeaseGroup *g = &lease_groups[gi];

		for (int p = 0; p < g->partitions; p++)
		{
			LeasePartition *part = &g->parts[p];
			int64		acked = 0;
			int64		newc;

			if (part->owner != mi)
				continue;
			newc = evlog_lease_ack_target(part, seq, &acked);
			while (acked-- > 0)
			{
				int32		d = part->first;

				part->first = lease_deliveries[d].next;
				lease_deliveries[d].next = lease_shared->free_delivery;
				lease_shared->free_delivery = d;
			}
			if (part->first < 0)
				part->last = -1;
			part->committed = Max(part->committed, newc);
		}
		if (!lease_members[mi].fenced && rebalance(gi, mi))
			lease_members[mi].fenced = true;
	}
	lease_unlock_and_wake();
}

/*
 * evlog_lease_leave
 *		Member leaves group g: its partitions are released at once (their
 *		unacknowledged deliveries go to the next owner).  Nothing happens
 *		for a member that has no slot.  Takes the lock exclusively.
 */
void
evlog_lease_leave(const LeaseGroupKey *g, const char *member)
{
	int			gi;
	int			mi;

	evlog_lease_lock();
	gi = evlog_lease_find_group(g->relid, g->group_id);
	mi = gi < 0 ? -1 : evlog_lease_find_member(gi, member);
	if (mi >= 0)
		evlog_lease_free_member(mi);
	/* its partitions, if any, are free; others' quotas grew: wake all */
	if (evlog_lease_unlock() || mi >= 0)
		evlog_durable_wake();
}

/*
 * evlog_lease_forget_group
 *		After evlog_drop_consumer_group committed: free the group's slot,
 *		its members and their deliveries.  Takes the lock exclusively;
 *		raises nothing.
 */
void
evlog_lease_forget_group(Oid relid, int64 group_id)
{
	int			gi;

	if (lease_shared == NULL)
		return;
	evlog_lease_lock();
	gi = evlog_lease_find_group(relid, group_id);
	if (gi >= 0)
	{
		for (int i = 0; i < evlog_consumer_max_members; i++)
			if (lease_members[i].group == gi)
				evlog_lease_free_member(i);
		lease_groups[gi].dboid = InvalidOid;
	}
	lease_unlock_and_wake();
}


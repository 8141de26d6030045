/*-------------------------------------------------------------------------
 *
 * leasemem.c
 *	  Consumer groups' shared memory: its size from evlog.consumer_groups,
 *	  evlog.consumer_members and evlog.consumer_deliveries, its
 *	  initialisation (every slot free, every delivery on the free list),
 *	  the copy of the member slots evlog.consumer_members shows, and the
 *	  primitives on its slots that lease.c (membership and assignment)
 *	  and delivery.c (deliveries and acks) share: finding a group or a
 *	  member, freeing deliveries, letting go of a partition, freeing a
 *	  member, reaping expired ones, where an ack moves an offset, and the
 *	  lock (README "Consumer groups"; docs/guarantees.md C3).  The layout
 *	  is in leasemem.h.  One LWLock guards all of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "evlog.h"
#include "lease.h"
#include "leasemem.h"

/* evlog.consumer_groups, evlog.consumer_members, evlog.consumer_deliveries */
int			evlog_consumer_max_groups = 64;
int			evlog_consumer_max_members = 256;
int			evlog_consumer_max_deliveries = 65536;

/* the module's shared memory (leasemem.h), set at startup */
LeaseShared *lease_shared = NULL;
LeaseGroup *lease_groups = NULL;
LeaseMember *lease_members = NULL;
LeaseDelivery *lease_deliveries = NULL;

/* a partition was let go of since evlog_lease_lock: wake waiting polls */
static bool released = false;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * lease_size
 *		Bytes of shared memory the module needs, from its GUCs.
 */
static Size
lease_size(void)
{
	Size		size = MAXALIGN(sizeof(LeaseShared));

	size = add_size(size, MAXALIGN(mul_size(evlog_consumer_max_groups, sizeof(LeaseGroup))));
	size = add_size(size, MAXALIGN(mul_size(evlog_consumer_max_members, sizeof(LeaseMember))));
	size = add_size(size, mul_size(evlog_consumer_max_deliveries, sizeof(LeaseDelivery)));
	return size;
}

/*
 * lease_shmem_request
 *		shmem_request_hook: reserve the memory and the lock.
 */
static void
lease_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(lease_size());
	RequestNamedLWLockTranche("evlog consumer", 1);
}

/*
 * lease_shmem_startup
 *		shmem_startup_hook: attach to the memory and, the first time,
 *		initialise it: every slot free, every delivery on the free list.
 *		Holds AddinShmemInitLock.
 */
static void
lease_shmem_startup(void)
{
	bool		found;
	char	   *base;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	base = ShmemInitStruct("evlog consumer groups", lease_size(), &found);
	lease_shared = (LeaseShared *) base;
	base += MAXALIGN(sizeof(LeaseShared));
	lease_groups = (LeaseGroup *) base;
	base += MAXALIGN(mul_size(evlog_consumer_max_groups, sizeof(LeaseGroup)));
	lease_members = (LeaseMember *) base;
	base += MAXALIGN(mul_size(evlog_consumer_max_members, sizeof(LeaseMember)));
	lease_deliveries = (LeaseDelivery *) base;
	if (!found)
	{
		lease_shared->lock = &(GetNamedLWLockTranche("evlog consumer"))->lock;
		lease_shared->counter = 0;
		for (int i = 0; i < evlog_consumer_max_groups; i++)
			lease_groups[i].dboid = InvalidOid;
		for (int i = 0; i < evlog_consumer_max_members; i++)
			lease_members[i].group = -1;
		for (int i = 0; i < evlog_consumer_max_deliveries; i++)
			lease_deliveries[i].next = (i + 1 < evlog_consumer_max_deliveries) ? i + 1 : -1;
		lease_shared->free_delivery = evlog_consumer_max_deliveries > 0 ? 0 : -1;
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * evlog_lease_available
 *		Is the shared memory there (evlog in shared_preload_libraries)?
 */
bool
evlog_lease_available(void)
{
	return lease_shared != NULL;
}

/*
 * evlog_lease_expired
 *		Has member slot mi been silent longer than its group's lease?  Lock held.
 */
bool
evlog_lease_expired(int mi, TimestampTz now)
{
	LeaseGroup *g = &lease_groups[lease_members[mi].group];

	return now - lease_members[mi].last_seen > g->lease_us;
}

/*
 * evlog_lease_lock
 *		Take the module's lock exclusively, to change slots.
 */
void
evlog_lease_lock(void)
{
	LWLockAcquire(lease_shared->lock, LW_EXCLUSIVE);
	released = false;
}

/*
 * evlog_lease_unlock
 *		Release the lock taken with evlog_lease_lock; returns whether a
 *		partition was let go of meanwhile (its next owner should be woken:
 *		leasemem.h's lease_unlock_and_wake).
 */
bool
evlog_lease_unlock(void)
{
	bool		was = released;

	released = false;
	LWLockRelease(lease_shared->lock);
	return was;
}

/*
 * evlog_lease_find_group
 *		The slot of group_id of registry relid in this database, or -1.
 *		Lock held.
 */
int
evlog_lease_find_group(Oid relid, int64 group_id)
{
	for (int i = 0; i < evlog_consumer_max_groups; i++)
		if (lease_groups[i].dboid == MyDatabaseId && lease_groups[i].relid == relid &&
			lease_groups[i].group_id == group_id)
			return i;
	return -1;
}

/*
 * evlog_lease_find_member
 *		The slot of member name of group slot gi, or -1.  Lock held.
 */
int
evlog_lease_find_member(int gi, const char *name)
{
	for (int i = 0; i < evlog_consumer_max_members; i++)
		if (lease_members[i].group == gi && strcmp(lease_members[i].name, name) == 0)
			return i;
	return -1;
}

/*
 * evlog_lease_drop_deliveries
 *		Put partition p's unacknowledged deliveries back on the free list;
 *		returns how many there were.  Lock held exclusively.
 */
int
evlog_lease_drop_deliveries(LeasePartition *p)
{
	int			n = 0;

	while (p->first >= 0)
	{
		int32		d = p->first;

		p->first = lease_deliveries[d].next;
		lease_deliveries[d].next = lease_shared->free_delivery;
		lease_shared->free_delivery = d;
		n++;
	}
	p->last = -1;
	return n;
}

/*
 * evlog_lease_release_partition
 *		Take partition p from its owner: its deliveries are forgotten, and
 *		delivery starts again after the committed offset.  Returns whether
 *		it had unacknowledged deliveries.  Lock held exclusively.
 */
bool
evlog_lease_release_partition(LeasePartition *p)
{
	bool		had = evlog_lease_drop_deliveries(p) > 0;

	if (p->owner >= 0)
		lease_members[p->owner].generation = ++lease_shared->counter;
	p->owner = -1;
	released = true;
	p->delivered = p->committed;
	p->generation = ++lease_shared->counter;
	return had;
}

/*
 * evlog_lease_free_member
 *		Release every partition of member slot mi and free the slot.  Lock
 *		held exclusively.
 */
void
evlog_lease_free_member(int mi)
{
	LeaseGroup *g = &lease_groups[lease_members[mi].group];

	for (int p = 0; p < g->partitions; p++)
		if (g->parts[p].owner == mi)
			evlog_lease_release_partition(&g->parts[p]);
	lease_members[mi].group = -1;
}

/*
 * evlog_lease_reap_expired
 *		Free the members of group slot gi whose lease ran out.  Lock held
 *		exclusively.
 */
void
evlog_lease_reap_expired(int gi, TimestampTz now)
{
	for (int i = 0; i < evlog_consumer_max_members; i++)
		if (lease_members[i].group == gi && evlog_lease_expired(i, now))
			evlog_lease_free_member(i);
}

/*
 * evlog_lease_ack_target
 *		Where partition part's committed offset goes when its owner
 *		acknowledges up to seq: to what was given when nothing given after
 *		seq is left, else to just below the oldest delivery after seq.
 *		Counts into *acked the deliveries at most seq.  Lock held.
 */
int64
evlog_lease_ack_target(LeasePartition *part, int64 seq, int64 *acked)
{
	int32		d = part->first;

	while (d >= 0 && lease_deliveries[d].seq <= seq)
	{
		(*acked)++;
		d = lease_deliveries[d].next;
	}
	return d >= 0 ? lease_deliveries[d].seq - 1 : part->delivered;
}

/*
 * evlog_lease_members
 *		A copy of every member slot of this database's groups, with its
 *		partitions, palloc'd into *rows.  Returns the count.  Takes the lock
 *		shared.
 */
int
evlog_lease_members(LeaseMemberRow **rows)
{
	int			n = 0;
	TimestampTz now = GetCurrentTimestamp();

	*rows = NULL;
	if (lease_shared == NULL)
		return 0;
	*rows = palloc0(sizeof(LeaseMemberRow) * evlog_consumer_max_members);
	LWLockAcquire(lease_shared->lock, LW_SHARED);
	for (int i = 0; i < evlog_consumer_max_members; i++)
	{
		LeaseMemberRow *r = &(*rows)[n];
		LeaseGroup *g;

		if (lease_members[i].group < 0)
			continue;
		g = &lease_groups[lease_members[i].group];
		if (g->dboid != MyDatabaseId)
			continue;
		r->group_id = g->group_id;
		strlcpy(r->member, lease_members[i].name, sizeof(r->member));
		r->generation = lease_members[i].generation;
		r->last_seen = lease_members[i].last_seen;
		r->expired = evlog_lease_expired(i, now);
		r->parts = palloc(sizeof(int32) * g->partitions);
		for (int p = 0; p < g->partitions; p++)
			if (g->parts[p].owner == i)
				r->parts[r->nparts++] = p;
		n++;
	}
	LWLockRelease(lease_shared->lock);
	return n;
}

/*
 * evlog_lease_gucs
 *		Define the module's GUCs, when preloading (they size shared
 *		memory).  Called once per backend from evlog_consumer_init, before
 *		_PG_init reserves the evlog prefix.
 */
void
evlog_lease_gucs(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("evlog.consumer_groups",
							"Consumer groups that can be polled at once (shared memory slots).",
							"A poll of one more group fails with 53400.",
							&evlog_consumer_max_groups,
							64, 1, 10000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("evlog.consumer_members",
							"Consumer group members, over all groups, kept in shared memory.",
							"A poll by one more member fails with 53400.",
							&evlog_consumer_max_members,
							256, 1, 100000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("evlog.consumer_deliveries",
							"Events given to consumer group members and not yet acknowledged, kept in shared memory.",
							"A poll that finds no room fails with 53400.",
							&evlog_consumer_max_deliveries,
							65536, 16, 100000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);
}

/*
 * evlog_lease_init
 *		Install the module's shared memory hooks, when preloading.  Called
 *		once per backend from _PG_init.
 */
void
evlog_lease_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = lease_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = lease_shmem_startup;
}

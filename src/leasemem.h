/*-------------------------------------------------------------------------
 *
 * leasemem.h
 *	  The layout of consumer groups' shared memory (leasemem.c), for
 *	  lease.c: group slots with their partitions, member slots, the pool
 *	  of deliveries.  README "Consumer groups".
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_LEASEMEM_H
#define EVLOG_LEASEMEM_H

#include "storage/lwlock.h"
#include "durable.h"
#include "lease.h"

typedef struct LeaseDelivery
{
	int64		seq;
	int32		next;			/* next of the partition, or of the free list */
} LeaseDelivery;

typedef struct LeasePartition
{
	int32		owner;			/* member slot, or -1 */
	int32		first;			/* oldest unacknowledged delivery, or -1 */
	int32		last;
	int64		generation;		/* of the current ownership */
	int64		delivered;		/* the owner has been given everything up to */
	int64		committed;		/* the committed offset */
} LeasePartition;

typedef struct LeaseGroup
{
	Oid			dboid;			/* InvalidOid: free */
	Oid			relid;			/* evlog.consumer_group_registry it is from */
	int64		group_id;
	int			partitions;
	int64		lease_us;
	char		name[EVLOG_CONSUMER_NAME_BYTES + 1];
	LeasePartition parts[EVLOG_MAX_PARTITIONS];
} LeaseGroup;

typedef struct LeaseMember
{
	int32		group;			/* group slot, or -1: free */
	bool		fenced;
	int64		generation;
	TimestampTz last_seen;
	char		name[EVLOG_CONSUMER_NAME_BYTES + 1];
} LeaseMember;

typedef struct LeaseShared
{
	LWLock	   *lock;
	int64		counter;		/* source of generations */
	int32		free_delivery;	/* free list of deliveries */
} LeaseShared;

extern LeaseShared *lease_shared;
extern LeaseGroup *lease_groups;
extern LeaseMember *lease_members;
extern LeaseDelivery *lease_deliveries;

extern bool evlog_lease_expired(int mi, TimestampTz now);
extern void evlog_lease_lock(void);
extern bool evlog_lease_unlock(void);
extern int	evlog_lease_find_group(Oid relid, int64 group_id);
extern int	evlog_lease_find_member(int gi, const char *name);
extern int	evlog_lease_drop_deliveries(LeasePartition *p);
extern bool evlog_lease_release_partition(LeasePartition *p);
extern void evlog_lease_free_member(int mi);
extern void evlog_lease_reap_expired(int gi, TimestampTz now);
extern int64 evlog_lease_ack_target(LeasePartition *part, int64 seq, int64 *acked);

/*
 * lease_unlock_and_wake
 *		Release the lock taken with evlog_lease_lock and, when a partition
 *		was let go of meanwhile, wake the polls that wait (durable.c), so
 *		that its next owner takes it now rather than at the end of its
 *		sleep.  For lease.c and delivery.c (inline: leasemem.c and
 *		durable.c share a layer).
 */
static inline void
lease_unlock_and_wake(void)
{
	if (evlog_lease_unlock())
		evlog_durable_wake();
}

#endif							/* EVLOG_LEASEMEM_H */

/*-------------------------------------------------------------------------
 *
 * lease.h
 *	  Consumer groups' ephemeral state in shared memory: members, their
 *	  leases, the assignment of partitions (lease.c), and the types that
 *	  delivery.c's deliveries share.
 *	  README "Consumer groups".
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_LEASE_H
#define EVLOG_LEASE_H

#include "datatype/timestamp.h"

/* EV006 consumer_fenced (README "Errors") */
#define ERRCODE_EVLOG_CONSUMER_FENCED	MAKE_SQLSTATE('E','V','0','0','6')

/* Bounds of a consumer group's names and partitions */
#define EVLOG_CONSUMER_NAME_BYTES	128
#define EVLOG_MAX_PARTITIONS		1024

/* What a caller knows of a group from its registry row */
typedef struct LeaseGroupKey
{
	Oid			relid;			/* evlog.consumer_group_registry */
	int64		group_id;		/* evlog.consumer_group_registry.group_id */
	const char *name;			/* group_name */
	int			partitions;
	int64		lease_us;		/* lease, in microseconds */
} LeaseGroupKey;

/* A member's partitions as a poll found them, to scan the log for */
typedef struct LeaseAssignment
{
	bool		fenced;			/* lost partitions with unacknowledged deliveries */
	int64		generation;		/* the member's generation */
	int			nparts;			/* partitions owned */
	int64		low;			/* lowest delivered of an owned partition */
	bool		owned[EVLOG_MAX_PARTITIONS];
	int64		delivered[EVLOG_MAX_PARTITIONS];	/* given up to, per partition */
	int64		part_gen[EVLOG_MAX_PARTITIONS]; /* generation of the ownership */
} LeaseAssignment;

/* One member, for evlog.consumer_members */
typedef struct LeaseMemberRow
{
	int64		group_id;
	char		member[EVLOG_CONSUMER_NAME_BYTES + 1];
	int64		generation;
	TimestampTz last_seen;
	bool		expired;
	int			nparts;
	int32	   *parts;
} LeaseMemberRow;

extern int	evlog_consumer_max_groups;
extern int	evlog_consumer_max_members;
extern int	evlog_consumer_max_deliveries;

extern void evlog_lease_gucs(void);
extern void evlog_lease_init(void);
extern bool evlog_lease_available(void);
extern bool evlog_lease_group_loaded(Oid relid, int64 group_id);
extern void evlog_lease_load_group(const LeaseGroupKey *g, const int64 *committed);
extern void evlog_lease_poll_begin(const LeaseGroupKey *g, const char *member,
								   bool rejoin, LeaseAssignment *a);
extern void evlog_lease_ack_commit(Oid relid, int64 group_id, const char *member,
								   int64 seq);
extern void evlog_lease_leave(const LeaseGroupKey *g, const char *member);
extern void evlog_lease_forget_group(Oid relid, int64 group_id);
extern int	evlog_lease_members(LeaseMemberRow **rows);

#endif							/* EVLOG_LEASE_H */

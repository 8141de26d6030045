/*-------------------------------------------------------------------------
 *
 * delivery.h
 *	  Consumer groups' deliveries not yet acknowledged, and acks.
 *	  README "Consumer groups".
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_DELIVERY_H
#define EVLOG_DELIVERY_H

#include "lease.h"

extern int	evlog_lease_record(const LeaseGroupKey *g, const char *member,
							   const LeaseAssignment *a, int n,
							   const int64 *seqs, const int32 *parts,
							   bool *keep, int64 scanned_to);
extern int64 evlog_lease_ack(const LeaseGroupKey *g, const char *member,
							 int64 seq, int *nchanged, int32 *parts,
							 int64 *committed);
extern void evlog_lease_seek(Oid relid, int64 group_id, int64 after_seq);

#endif							/* EVLOG_DELIVERY_H */

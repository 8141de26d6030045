/*-------------------------------------------------------------------------
 *
 * durable.h
 *	  The durable head of each database's log, below which consumer group
 *	  polls give events, and the wake-up of the polls that wait.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_DURABLE_H
#define EVLOG_DURABLE_H

extern void evlog_durable_init(void);
extern int64 evlog_durable_head(Oid relid);
extern void evlog_durable_publish(Oid relid, int64 seq);
/* How evlog_durable_wait ended */
typedef enum DurableWake
{
	DURABLE_TIMED_OUT,
	DURABLE_WOKEN,
	DURABLE_HERALD				/* woken as the herald: call evlog_durable_herald */
} DurableWake;

extern DurableWake evlog_durable_wait(Oid relid, int64 seen, long timeout_ms,
									  int partitions, const bool *owned);
extern void evlog_durable_herald(int64 from, int64 upto, const uint32 *hashes,
								 int nhashes, bool complete);
extern void evlog_durable_wake(void);

#endif							/* EVLOG_DURABLE_H */

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
	DURABLE_MOVED,				/* the head had moved before it slept */
	DURABLE_WOKEN,
	DURABLE_HERALD				/* woken as the herald: call evlog_durable_herald */
} DurableWake;

/* What a herald's poll read, handed on to the waiting polls */
typedef struct DurableHandOn
{
	int64		from;			/* it read every event in (from, upto] */
	int64		upto;
	int64		group_id;		/* the herald's consumer group */
	const uint32 *hashes;		/* distinct hashes of the streams of those events */
	int			nhashes;
	const uint32 *wanted;		/* those of the events its group wants */
	int			nwanted;
} DurableHandOn;

extern DurableWake evlog_durable_wait(Oid relid, int64 group_id, int64 seen,
									  long timeout_ms, int partitions,
									  const bool *owned);
extern void evlog_durable_herald(const DurableHandOn *read);
extern void evlog_durable_wake(void);

#endif							/* EVLOG_DURABLE_H */

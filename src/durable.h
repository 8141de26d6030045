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
extern bool evlog_durable_wait(Oid relid, int64 seen, long timeout_ms);
extern void evlog_durable_wake(void);
extern void evlog_consumer_durable(void);

#endif							/* EVLOG_DURABLE_H */

/*-------------------------------------------------------------------------
 *
 * slots.h
 *	  Background worker slots (README "Statistics and monitoring", "Worker slots"): which
 *	  evlog worker could not start for want of a free slot, so that
 *	  evlog.projection_status can say so, the server log says it once per
 *	  episode, and the launcher retries every second until it starts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_SLOTS_H
#define EVLOG_SLOTS_H

#include "nodes/pg_list.h"

extern void evlog_slots_init(void);
extern bool evlog_slots_short(Oid dboid, const char *projection);
extern void evlog_slots_got(Oid dboid, const char *projection);
extern void evlog_slots_forget_database(Oid dboid);
extern void evlog_slots_prune(List *databases);
extern long evlog_slots_retry_ms(long naptime_ms);

#endif							/* EVLOG_SLOTS_H */

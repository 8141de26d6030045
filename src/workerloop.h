/*-------------------------------------------------------------------------
 *
 * workerloop.h
 *	  What the database's worker and the projection workers share.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_WORKERLOOP_H
#define EVLOG_WORKERLOOP_H

#include "nodes/pg_list.h"

extern bool evlog_worker_registry_stale;

extern void evlog_worker_watch_registry(void);
extern List *evlog_worker_read_registry(bool *installed);
extern void evlog_worker_reload_if_asked(void);
extern void evlog_worker_fold_settings(void);
extern bool evlog_worker_fold_one(const char *name, int64 *handed);

#endif							/* EVLOG_WORKERLOOP_H */

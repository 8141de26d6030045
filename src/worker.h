/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The launcher (one per cluster), the per-database workers, and the
 *	  projection workers they start, which fold async projections.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_WORKER_H
#define EVLOG_WORKER_H

#include "postgres.h"

#include "postmaster/bgworker.h"

extern void evlog_worker_init(void);
extern void evlog_launcher_register(void);
extern void evlog_launcher_init(void);
extern void evlog_dynamic_worker(BackgroundWorker *bgw, const char *function,
								 const char *type, Datum main_arg);

extern PGDLLEXPORT void evlog_launcher_main(Datum arg);
extern PGDLLEXPORT void evlog_worker_main(Datum arg);

#endif							/* EVLOG_WORKER_H */

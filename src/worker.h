/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The launcher (one per cluster) and the per-database workers that fold
 *	  async projections (SPEC.md P4).
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_WORKER_H
#define EVLOG_WORKER_H

#include "postgres.h"

extern void evlog_launcher_register(void);
extern bool evlog_start_worker(Oid dboid, void **handle);

extern PGDLLEXPORT void evlog_launcher_main(Datum arg);
extern PGDLLEXPORT void evlog_worker_main(Datum arg);

#endif							/* EVLOG_WORKER_H */

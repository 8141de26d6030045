/*-------------------------------------------------------------------------
 *
 * projworker.h
 *	  Projection workers, which the database's worker starts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_PROJWORKER_H
#define EVLOG_PROJWORKER_H

#include "postgres.h"

/* What a projection worker is started with, in bgw_extra */
typedef struct ProjectionWorkerArg
{
	Oid			dboid;
	uint32		generation;		/* of its slot, which bgw_main_arg numbers */
	char		name[64];
} ProjectionWorkerArg;

extern void evlog_projworker_init(void);

extern PGDLLEXPORT void evlog_projection_worker_main(Datum arg);

#endif							/* EVLOG_PROJWORKER_H */

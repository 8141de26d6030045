/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  evlog's shared memory: one slot per database worker and one per
 *	  projection worker (their latches, so an appending commit can wake
 *	  them) and the launcher's latch.  Present only
 *	  when the library is in shared_preload_libraries.
 *
 *-------------------------------------------------------------------------
 */
#ifndef EVLOG_SHMEM_H
#define EVLOG_SHMEM_H

#include "datatype/timestamp.h"
#include "storage/latch.h"
#include "storage/lwlock.h"

typedef struct EvlogWorkerSlot
{
	Oid			dboid;			/* InvalidOid: free */
	pid_t		pid;			/* 0 until the worker has started */
	Latch	   *latch;			/* the worker's MyLatch */
	bool		no_extension;	/* worker found no evlog here and left */
	TimestampTz evicted_until;	/* don't start before: DROP DATABASE etc. */
} EvlogWorkerSlot;

/*
 * One projection worker: a process that folds one async projection of one
 * database (worker.c).  The database's worker claims the slot before it
 * starts the process, which then fills in its pid and latch.
 */
typedef struct EvlogProjectionSlot
{
	Oid			dboid;			/* InvalidOid: free */
	uint32		generation;		/* bumped at every claim */
	pid_t		pid;			/* 0 while starting */
	Latch	   *latch;			/* the projection worker's MyLatch */
	char		name[64];		/* the projection (EVLOG_NAMEDATALEN) */
} EvlogProjectionSlot;

typedef struct EvlogShared
{
	LWLock	   *lock;			/* protects everything below */
	Latch	   *launcher_latch;
	bool		rescan;			/* launcher: look at every database again */
	int			nprojslots;		/* entries of projslots */
	EvlogProjectionSlot *projslots;
	int			nslots;
	EvlogWorkerSlot slots[FLEXIBLE_ARRAY_MEMBER];
} EvlogShared;

extern EvlogShared *evlog_shared;

extern void evlog_shmem_init(void);
extern void evlog_shmem_gucs(void);
extern int	evlog_max_projection_workers;
extern EvlogWorkerSlot *evlog_slot_for(Oid dboid, bool create);
extern void evlog_wake_worker(Oid dboid);
extern void evlog_wake_launcher(bool rescan);
extern pid_t evlog_evict_worker(Oid dboid, int seconds);
extern EvlogProjectionSlot *evlog_projection_slot(Oid dboid, const char *name);
extern EvlogProjectionSlot *evlog_claim_projection_slot(Oid dboid, const char *name);
extern int	evlog_projection_workers(Oid dboid);
extern void evlog_stop_projection_workers(Oid dboid);

#endif							/* EVLOG_SHMEM_H */
